// cnn replaces tfjs's wasm MaxPoolGrad, which sends the gradient of a window whose maximum is negative to the wrong
// pixel: the gradient of max pooling on wasm must equal the cpu backend's, for every padding and stride.
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '../src/index';

function grad(
  x: number[],
  shape: [number, number, number, number],
  k: number,
  s: number,
  pad: 'valid' | 'same',
): number[] {
  return tf.tidy(() => {
    const t = tf.tensor4d(x, shape);
    const g = tf.grad((a: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.maxPool(a as tf.Tensor4D, k, s, pad),
          tf.range(1, 1 + tf.maxPool(t, k, s, pad).size).reshape(tf.maxPool(t, k, s, pad).shape),
        ),
      ),
    )(t);
    return Array.from(g.dataSync());
  });
}

describe('max pooling gradient on wasm', () => {
  it('a window with a negative maximum sends its gradient to that maximum', async () => {
    await setBackend('wasm');
    expect(grad([-0.9, -0.6, -0.7, -0.8], [1, 2, 2, 1], 2, 2, 'valid')).toEqual([0, 1, 0, 0]);
  });

  for (const [k, s, pad, shape] of [
    [2, 2, 'valid', [2, 6, 6, 5]],
    [3, 2, 'same', [1, 7, 9, 8]],
    [3, 1, 'same', [2, 5, 5, 3]],
    [3, 2, 'valid', [1, 9, 8, 12]],
  ] as const) {
    it(`matches the cpu backend: ${k}x${k} stride ${s} ${pad} on ${shape.join('x')}`, async () => {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      // Distinct values (no ties), half of them negative.
      const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) - 0.2);
      await setBackend('cpu');
      const want = grad(x, [...shape], k, s, pad);
      await setBackend('wasm');
      const got = grad(x, [...shape], k, s, pad);
      expect(got).toEqual(want);
    });
  }
});
