// The one-pass inference ops (fused-ops.ts): fusedActivation, fusedAdd, channelShuffleConcat and squeezeExcite give
// what tfjs's
// ops composed give (on wasm through cnn's kernels, on cpu composed), on 1 and 2 threads; their gradients (the
// composed path, taken while the tape records); their refusals; no tensor leaks.
import { afterAll, describe, expect, it } from 'vitest';
import {
  channelShuffleConcat,
  fusedActivation,
  fusedAdd,
  setBackend,
  setThreads,
  squeezeExcite,
  tf,
} from '../src/index';

/** Deterministic values in [-scale, scale) (a linear congruential generator). */
function values(n: number, seed: number, scale = 1): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 31 - 1) * scale;
  }
  return v;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** PyTorch's hard-swish in float64. */
const hardSwish64 = (x: number): number => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;

/** Squeeze-and-excitation in float64: x [n, h, w, c], w1 [c][s], b1 [s], w2 [s][c], b2 [c]. */
function squeezeExcite64(
  x: Float32Array,
  [n, h, w, c]: number[],
  s: number,
  [w1, b1, w2, b2]: Float32Array[],
  gate: 'hardsigmoid' | 'sigmoid',
): Float64Array {
  const y = new Float64Array(x.length);
  const px = h! * w!;
  for (let i = 0; i < n!; i++) {
    const m = new Float64Array(c!);
    for (let q = 0; q < px; q++) for (let j = 0; j < c!; j++) m[j]! += x[(i * px + q) * c! + j]! / px;
    const hid = Float64Array.from(b1!, (b, k) => {
      let v = b;
      for (let j = 0; j < c!; j++) v += m[j]! * w1![j * s + k]!;
      return Math.max(v, 0);
    });
    const g = Float64Array.from(b2!, (b, j) => {
      let z = b;
      for (let k = 0; k < s; k++) z += hid[k]! * w2![k * c! + j]!;
      return gate === 'hardsigmoid' ? Math.min(Math.max(z + 3, 0), 6) / 6 : 1 / (1 + Math.exp(-z));
    });
    for (let q = 0; q < px; q++)
      for (let j = 0; j < c!; j++) y[(i * px + q) * c! + j] = x[(i * px + q) * c! + j]! * g[j]!;
  }
  return y;
}

afterAll(async () => {
  await setThreads('auto');
  await setBackend('wasm');
});

// 2 x 40 x 40 x 48 = 153,600 floats: more than one unit of work, so the 2-thread runs split it.
const SHAPE: [number, number, number, number] = [2, 40, 40, 48];
const SIZE = SHAPE.reduce((a, b) => a * b, 1);

for (const [backend, threads] of [
  ['wasm', 1],
  ['wasm', 2],
  ['cpu', 1],
] as const) {
  describe(`one-pass inference ops on ${backend}, ${threads} thread(s)`, () => {
    it('fusedActivation: hard-swish within 1e-6 of float64, relu and relu6 equal to tfjs', async () => {
      await setThreads(threads);
      await setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const xs = values(SIZE, 7, 5);
        const x = tf.tensor4d(xs, SHAPE);
        const hs = fusedActivation(x, 'hardswish').dataSync();
        const want = Float64Array.from(xs, hardSwish64);
        expect(maxAbsDiff(hs, want)).toBeLessThanOrEqual(1e-6);
        for (const act of ['relu', 'relu6'] as const) {
          const ref = act === 'relu' ? tf.relu(x) : tf.relu6(x);
          expect(maxAbsDiff(fusedActivation(x, act).dataSync(), ref.dataSync())).toBe(0);
        }
        const lin = fusedActivation(x, 'linear');
        expect(lin).not.toBe(x);
        expect(maxAbsDiff(lin.dataSync(), xs)).toBe(0);
      });
      expect(tf.memory().numTensors).toBe(before);
      // On wasm each op is one kernel call of cnn's, whichever of the ops: no composition.
      const x = tf.tensor4d(values(SIZE, 8), SHAPE);
      // tf.profile lists each kernel name once.
      const run = async (f: () => tf.Tensor) => {
        const p = await tf.profile(() => f());
        tf.dispose(p.result);
        return p.kernelNames;
      };
      const one = backend === 'wasm';
      expect(await run(() => fusedActivation(x, 'hardswish'))).toEqual(
        one ? ['CnnFusedEltwise'] : ['Add', 'Relu6', 'Multiply'],
      );
      expect(await run(() => fusedAdd(x, x, 'relu'))).toEqual(one ? ['CnnFusedEltwise'] : ['Add', 'Relu']);
      expect(await run(() => channelShuffleConcat(x, x))).toEqual(
        one ? ['CnnShuffleConcat'] : ['Concat', 'Reshape', 'Transpose'],
      );
      tf.dispose(x);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('fusedAdd: same shape, per channel, scalar and swapped operands equal tfjs add + activation', async () => {
      await setThreads(threads);
      await setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const a = tf.tensor4d(values(SIZE, 1, 4), SHAPE);
        const cases: Array<[string, tf.Tensor]> = [
          ['same shape', tf.tensor4d(values(SIZE, 2, 4), SHAPE)],
          ['per channel', tf.tensor1d(values(SHAPE[3], 3, 4))],
          ['per channel [1, 1, 1, c]', tf.tensor4d(values(SHAPE[3], 4, 4), [1, 1, 1, SHAPE[3]])],
          ['scalar', tf.scalar(0.5)],
        ];
        for (const [, b] of cases) {
          for (const act of ['linear', 'relu', 'relu6', 'hardswish'] as const) {
            const sum = tf.add(a, b);
            const ref =
              act === 'linear'
                ? sum
                : act === 'relu'
                  ? tf.relu(sum)
                  : act === 'relu6'
                    ? tf.relu6(sum)
                    : tf.mul(sum, tf.mul(tf.relu6(tf.add(sum, 3)), 1 / 6));
            const got = fusedAdd(a, b, act);
            expect(got.shape).toEqual(SHAPE);
            expect(maxAbsDiff(got.dataSync(), ref.dataSync())).toBeLessThanOrEqual(act === 'hardswish' ? 1e-6 : 0);
            expect(maxAbsDiff(fusedAdd(b, a, act).dataSync(), got.dataSync())).toBe(0);
          }
        }
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('channelShuffleConcat equals concat + two-group channel shuffle, with a wider first input', async () => {
      await setThreads(threads);
      await setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const [n, h, w] = [2, 30, 30];
        for (const [ca, cb] of [
          [58, 58],
          [116, 58],
          [6, 3],
          // 540 K output floats: two units (SHUFFLE_UNIT_FLOATS each at least) on two threads.
          [160, 150],
        ]) {
          const a = tf.tensor4d(values(n * h * w * ca, ca, 2), [n, h, w, ca]);
          const b = tf.tensor4d(values(n * h * w * cb, cb + 1, 2), [n, h, w, cb]);
          const cat = tf.concat([tf.slice(a, [0, 0, 0, 0], [n, h, w, cb]), b], 3);
          const ref = tf.reshape(tf.transpose(tf.reshape(cat, [n, h, w, 2, cb]), [0, 1, 2, 4, 3]), [n, h, w, 2 * cb]);
          const got = channelShuffleConcat(a, b);
          expect(got.shape).toEqual([n, h, w, 2 * cb]);
          expect(maxAbsDiff(got.dataSync(), ref.dataSync())).toBe(0);
        }
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('squeezeExcite: within 1e-5 of float64 for both gates, at widths that are and are not multiples of 4', async () => {
      await setThreads(threads);
      await setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        // The first case has 64K values per thread and more: the 2-thread run splits it by image.
        for (const [shape, sq] of [
          [SHAPE, 12],
          [[1, 7, 7, 13], 5],
          [[3, 5, 3, 6], 1],
        ] as Array<[number[], number]>) {
          const c = shape[3]!;
          const xs = values(
            shape.reduce((a, b) => a * b, 1),
            c,
            3,
          );
          const ws = [values(c * sq, 1, 0.5), values(sq, 2, 0.5), values(sq * c, 3, 0.5), values(c, 4, 2)];
          const x = tf.tensor4d(xs, shape as [number, number, number, number]);
          const [w1, b1, w2, b2] = [
            tf.tensor4d(ws[0]!, [1, 1, c, sq]),
            tf.tensor1d(ws[1]!),
            tf.tensor4d(ws[2]!, [1, 1, sq, c]),
            tf.tensor1d(ws[3]!),
          ];
          for (const gate of ['hardsigmoid', 'sigmoid'] as const) {
            const got = squeezeExcite(x, w1, b1, w2, b2, gate);
            expect(got.shape).toEqual(shape);
            const want = squeezeExcite64(xs, shape, sq, ws, gate);
            expect(maxAbsDiff(got.dataSync(), want), `${gate} ${shape}`).toBeLessThanOrEqual(1e-5);
          }
        }
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('one-pass inference ops: gradients, empty tensors and refusals (wasm)', () => {
  it('under tf.grad they run composed, and their gradients are tfjs add + relu and concat + shuffle', async () => {
    await setThreads(1);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const a = tf.tensor1d([1, -3, 2, -0.5]);
      const b = tf.tensor1d([1, 1, -4, 0]);
      const ga = tf.grad((t: tf.Tensor) => tf.sum(fusedAdd(t, b, 'relu')))(a);
      expect(Array.from(ga.dataSync())).toEqual([1, 0, 0, 0]);
      const x = tf.tensor4d(values(2 * 3 * 3 * 4, 9), [2, 3, 3, 4]);
      const y = tf.tensor4d(values(2 * 3 * 3 * 2, 10), [2, 3, 3, 2]);
      const weights = tf.tensor4d(values(2 * 3 * 3 * 4, 11), [2, 3, 3, 4]);
      const [gx, gy] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(channelShuffleConcat(p, q), weights)))([
        x,
        y,
      ]);
      // Output channel 2j comes from x's channel j (j < 2), 2j + 1 from y's: the gradient is the weight there.
      const w = weights.arraySync() as number[][][][];
      const gxa = gx!.arraySync() as number[][][][];
      const gya = gy!.arraySync() as number[][][][];
      expect(gxa[1]![2]![0]).toEqual([w[1]![2]![0]![0], w[1]![2]![0]![2], 0, 0]);
      expect(gya[1]![2]![0]).toEqual([w[1]![2]![0]![1], w[1]![2]![0]![3]]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('empty tensors give empty results', async () => {
    await setBackend('wasm');
    tf.tidy(() => {
      expect(fusedActivation(tf.zeros([0, 4]), 'hardswish').shape).toEqual([0, 4]);
      expect(fusedAdd(tf.zeros([0, 2, 2, 4]), tf.zeros([4]), 'relu').shape).toEqual([0, 2, 2, 4]);
      expect(channelShuffleConcat(tf.zeros([0, 2, 2, 4]), tf.zeros([0, 2, 2, 2])).shape).toEqual([0, 2, 2, 4]);
      const w = [tf.zeros([1, 1, 4, 2]), tf.zeros([2]), tf.zeros([1, 1, 2, 4]), tf.zeros([4])] as const;
      expect(squeezeExcite(tf.zeros([0, 2, 2, 4]), ...w).shape).toEqual([0, 2, 2, 4]);
      expect(squeezeExcite(tf.zeros([1, 0, 2, 4]), ...w).shape).toEqual([1, 0, 2, 4]);
    });
  });

  it('squeezeExcite under tf.grad runs composed: its gradient equals that of the tfjs ops', async () => {
    await setThreads(1);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 3 * 3 * 8, 21, 2), [2, 3, 3, 8]);
      const w1 = tf.tensor4d(values(8 * 2, 22), [1, 1, 8, 2]);
      const b1 = tf.tensor1d(values(2, 23));
      const w2 = tf.tensor4d(values(2 * 8, 24), [1, 1, 2, 8]);
      const b2 = tf.tensor1d(values(8, 25));
      const composed = (t: tf.Tensor) => {
        const m = tf.mean(t, [1, 2], true) as tf.Tensor4D;
        const h = tf.relu(tf.add(tf.conv2d(m, w1, 1, 'valid'), b1)) as tf.Tensor4D;
        return tf.mul(t, tf.div(tf.relu6(tf.add(tf.add(tf.conv2d(h, w2, 1, 'valid'), b2), 3)), 6));
      };
      const got = tf.grad((t: tf.Tensor) => tf.sum(squeezeExcite(t, w1, b1, w2, b2)))(x);
      const want = tf.grad((t: tf.Tensor) => tf.sum(composed(t)))(x);
      expect(maxAbsDiff(got.dataSync(), want.dataSync())).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(want.dataSync(), new Float32Array(want.size))).toBeGreaterThan(0.1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a bad activation, a broadcast it cannot take and mismatched shapes, naming the op', async () => {
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.zeros([1, 2, 2, 4]);
    const bad = 'gelu' as unknown as 'relu';
    expect(() => fusedActivation(x, bad)).toThrow(
      /fusedActivation: activation must be one of linear, relu, relu6, hardswish, got "gelu"/,
    );
    expect(() => fusedAdd(x, x, bad)).toThrow(/fusedAdd: activation must be one of/);
    const rows = tf.zeros([1, 2, 1, 1]);
    expect(() => fusedAdd(x, rows)).toThrow(
      /fusedAdd: b must have a's shape, be a vector along its last axis or a scalar: got \[1, 2, 2, 4\] and \[1, 2, 1, 1\]/,
    );
    const wide = tf.zeros([1, 2, 2, 8]);
    expect(() => channelShuffleConcat(x, wide)).toThrow(
      /channelShuffleConcat: b \[1, 2, 2, 8\] must have a's batch, height and width, and at most a's 4 channels/,
    );
    const flat = tf.zeros([4, 4]);
    expect(() => channelShuffleConcat(flat, flat)).toThrow(/channelShuffleConcat: a and b must be rank 4 \(NHWC\)/);
    expect(() => fusedActivation(null as unknown as tf.Tensor, 'relu')).toThrow(
      /fusedActivation: x must be a tf.Tensor, got object/,
    );
    const [w1, b1, w2, b2] = [tf.zeros([1, 1, 4, 2]), tf.zeros([2]), tf.zeros([1, 1, 2, 4]), tf.zeros([4])];
    expect(() => squeezeExcite(x, w1, b1, w2, b2, 'relu' as unknown as 'sigmoid')).toThrow(
      /squeezeExcite: gate must be 'hardsigmoid' or 'sigmoid', got "relu"/,
    );
    expect(() => squeezeExcite(flat, w1, b1, w2, b2)).toThrow(
      /squeezeExcite: x must be rank 4 \(NHWC\), got shape \[4, 4\]/,
    );
    expect(() => squeezeExcite(x, w2, b1, w2, b2)).toThrow(
      /squeezeExcite: for x with 4 channels, w1 must be \[1, 1, 4, s\] with s > 0, b1 \[s\], w2 \[1, 1, s, 4\] and b2 \[4\]; got w1 \[1, 1, 2, 4\]/,
    );
    expect(() => squeezeExcite(x, w1, b2, w2, b2)).toThrow(
      /squeezeExcite: for x with 4 channels.*got w1 \[1, 1, 4, 2\], b1 \[4\]/,
    );
    const ints = tf.zeros([1, 2, 2, 4], 'int32');
    expect(() => squeezeExcite(ints, w1, b1, w2, b2)).toThrow(/squeezeExcite: x must be float32, got int32/);
    expect(() => squeezeExcite(x, w1, b1, undefined as unknown as tf.Tensor, b2)).toThrow(
      /squeezeExcite: w2 must be a tf.Tensor, got undefined/,
    );
    tf.dispose([x, rows, wide, flat, w1, b1, w2, b2, ints]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
