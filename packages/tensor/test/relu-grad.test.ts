// ReLU's and ReLU6's gradients on wasm (relu-grad.ts, CnnReluGrad): the cpu backend's values (tfjs's Step, LessEqual,
// Cast and Multiply) bit for bit, edges included (0, -0, 6, above 6, infinities, NaN in x; negative and infinite dy),
// as a training step uses them, without leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, tf } from '../src/index';

afterAll(async () => {
  await setBackend('wasm');
});

const EDGES = [0, -0, 1e-30, -1e-30, 0.5, 6, 6.000001, 5.999999, 7, -3, Infinity, -Infinity, Number.NaN];
const DYS = [1, -1, 2.5, -0.75, Infinity, 0, -2];

/** x: every edge, then a ramp over [-8, 8); dy cycling through DYS; n values in all (odd: a partial last vector). */
function inputs(n: number): { x: Float32Array; dy: Float32Array } {
  const x = Float32Array.from({ length: n }, (_, i) => (i < EDGES.length ? EDGES[i] : ((i * 0.37) % 16) - 8));
  const dy = Float32Array.from({ length: n }, (_, i) => DYS[i % DYS.length] * (1 + (i % 5) * 0.125));
  return { x, dy };
}

function gradOf(act: 'relu' | 'relu6', x: Float32Array, dy: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const t = tf.tensor(x, shape);
    const w = tf.tensor(dy, shape);
    const f = (a: tf.Tensor) => tf.sum(tf.mul(act === 'relu' ? tf.relu(a) : tf.relu6(a), w));
    return tf.grad(f)(t).dataSync() as Float32Array;
  });
}

/** Bit patterns, so that -0 differs from 0 and NaN equals NaN. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('ReLU and ReLU6 gradients on wasm', () => {
  for (const act of ['relu', 'relu6'] as const) {
    for (const shape of [[EDGES.length + 6], [2, 9, 7, 13], [4, 64, 64, 9]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      it(`${act} on [${shape}]: the cpu backend's values bit for bit, no leaked tensors`, async () => {
        const { x, dy } = inputs(n);
        await setBackend('cpu');
        const want = gradOf(act, x, dy, shape);
        await setBackend('wasm');
        const before = tf.memory().numTensors;
        const got = gradOf(act, x, dy, shape);
        expect(tf.memory().numTensors).toBe(before);
        expect(bits(got)).toEqual(bits(want));
        // The edges themselves: 0 where the mask is 0 (-0 for a negative dy), dy where it is 1, NaN for a NaN x.
        const upper = act === 'relu' ? Infinity : 6;
        for (let i = 0; i < Math.min(n, EDGES.length); i++) {
          const v = x[i];
          const expected = Number.isNaN(v) ? Number.NaN : v > 0 && v <= upper ? dy[i] : dy[i] * 0;
          expect(Object.is(got[i], expected), `x=${v} dy=${dy[i]}: ${got[i]}`).toBe(true);
        }
      });
    }
  }

  it('runs as one kernel per gradient in a training step (no Step, LessEqual or Cast)', async () => {
    await setBackend('wasm');
    const x = tf.tensor4d(inputs(2 * 8 * 8 * 4).x, [2, 8, 8, 4]);
    const prof = await tf.profile(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.relu6(tf.relu(a))))(x)));
    const names = prof.kernels.map((k) => k.name);
    expect(names.filter((k) => k === 'CnnReluGrad')).toHaveLength(2);
    expect(names.filter((k) => k === 'Step' || k === 'LessEqual' || k === 'Cast')).toEqual([]);
    tf.dispose([x, prof.result as tf.Tensor]);
  });
});
