// The tfjs kernels that cnn replaces on wasm for a training step's speed (issue 15; wasm/train-kernels.ts): average
// pooling's gradient, a sum over every axis but the last (a bias's gradient), matrix products with a transposed
// operand (every matMul gradient) and Identity (tf.clone, which tfjs's tape runs on every tensor it saves). Each
// must give the cpu backend's values, hand the cases it does not take to tfjs's kernel, and leak nothing, neither
// tensors nor the backend's own buffers.
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads, tf } from '../src/index';
import { cnnKernelRuns } from './wasm-internals';

afterAll(async () => {
  await setBackend('wasm');
});

/** Buffers the active backend holds (tensors and kernels' temporaries alike). */
const dataIds = (): number => tf.engine().backend.numDataIds();

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * 0.999);

async function onBoth<T>(f: () => T): Promise<{ cpu: T; wasm: T }> {
  await setBackend('cpu');
  const cpu = f();
  await setBackend('wasm');
  const before = { tensors: tf.memory().numTensors, ids: dataIds() };
  const wasm = f();
  expect(tf.memory().numTensors).toBe(before.tensors);
  expect(dataIds()).toBe(before.ids);
  return { cpu, wasm };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('average pooling gradient on wasm', () => {
  for (const [k, s, pad, shape] of [
    [2, 2, 'valid', [3, 28, 28, 6]],
    [2, 2, 'valid', [2, 11, 9, 16]],
    [3, 2, 'same', [1, 7, 9, 5]],
    [3, 1, 'valid', [2, 6, 5, 3]],
    [2, 1, 'same', [1, 5, 6, 9]],
  ] as const) {
    it(`equals the cpu backend's: ${k}x${k} stride ${s} ${pad} on ${shape.join('x')}`, async () => {
      const size = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const x = values(size, 1);
      const grad = () =>
        tf.tidy(() => {
          const t = tf.tensor4d(x, [...shape]);
          const y = tf.avgPool(t, k, s, pad);
          const w = tf.tensor(values(y.size, 2), y.shape);
          return tf
            .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, k, s, pad), w)))(t)
            .dataSync();
        });
      const { cpu, wasm } = await onBoth(grad);
      expect(maxDiff(wasm, cpu)).toBeLessThan(1e-6);
    });
  }
});

describe('sum over every axis but the last on wasm', () => {
  it('equals the float64 sums of the columns, for a bias gradient of 50k rows', async () => {
    const [n, c] = [50_176, 6];
    const x = values(n * c, 3);
    const want = new Float64Array(c);
    let absSum = 0;
    x.forEach((v, i) => {
      want[i % c] += v;
      absSum += Math.abs(v) / c;
    });
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => tf.sum(tf.tensor4d(x, [64, 28, 28, c]), [0, 1, 2]).dataSync()),
    );
    // Float32 blocks of 64 rows into double totals: the error stays at float32 rounding of the sum of |x|, where a
    // running float32 sum over 50k rows would drift by far more.
    expect(maxDiff(wasm, want)).toBeLessThan(1e-6 * absSum);
    expect(maxDiff(cpu, want)).toBeLessThan(1e-6 * absSum);
  });

  it('keeps keepDims, negative and unordered axes, and hands other reductions to tfjs', async () => {
    const x = values(2 * 3 * 4 * 5, 4);
    const run = () =>
      tf.tidy(() => {
        const t = tf.tensor4d(x, [2, 3, 4, 5]);
        const kept = tf.sum(t, [2, -4, 1], true);
        const inner = tf.sum(t, [1, 2]);
        const ints = tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0);
        return [kept.shape, kept.dataSync(), inner.shape, inner.dataSync(), ints.dtype, ints.dataSync()] as const;
      });
    const { cpu, wasm } = await onBoth(run);
    expect(wasm[0]).toEqual([1, 1, 1, 5]);
    expect(maxDiff(wasm[1], cpu[1])).toBeLessThan(1e-5);
    expect(wasm[2]).toEqual([2, 5]);
    expect(maxDiff(wasm[3], cpu[3])).toBeLessThan(1e-5);
    expect(wasm[4]).toBe('int32');
    expect(Array.from(wasm[5])).toEqual([9, 12]);
  });
});

describe('matrix products with a transposed operand on wasm', () => {
  for (const [sa, sb, ta, tb] of [
    [[64, 120], [400, 120], false, true],
    [[120, 64], [120, 84], true, false],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [1, 3, 7], true, true],
    [[1, 5, 7], [4, 3, 7], false, true],
    [[3, 70, 50], [3, 33, 70], true, true],
  ] as const) {
    it(`equal the cpu backend's: [${sa}]${ta ? '^T' : ''} x [${sb}]${tb ? '^T' : ''}`, async () => {
      const a = values(
        sa.reduce((p: number, d: number) => p * d, 1),
        5,
      );
      const b = values(
        sb.reduce((p: number, d: number) => p * d, 1),
        6,
      );
      const run = () =>
        tf.tidy(() => {
          const y = tf.matMul(tf.tensor(a, [...sa]), tf.tensor(b, [...sb]), ta, tb);
          return [y.shape, y.dataSync()] as const;
        });
      const { cpu, wasm } = await onBoth(run);
      expect(wasm[0]).toEqual(cpu[0]);
      expect(maxDiff(wasm[1], cpu[1])).toBeLessThan(1e-4);
    });
  }

  // One pair with one operand transposed runs on cnn's 1x1 convolution-gradient kernels in place (one kernel call,
  // no transpose first); a batch of pairs transposes the operand first (one call) and hands the plain product to
  // tfjs's kernel.
  for (const [sa, sb, ta, tb, calls] of [
    [[1, 120, 64], [1, 120, 84], true, false, 1],
    [[1, 64, 120], [1, 400, 120], false, true, 1],
    [[2, 7, 5], [2, 7, 3], true, false, 1],
    [[2, 5, 7], [2, 3, 7], false, true, 1],
  ] as const) {
    it(`[${sa}]${ta ? '^T' : ''} x [${sb}]${tb ? '^T' : ''} takes ${calls} cnn kernel call(s), on 1 and 2 threads alike`, async () => {
      const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
      const [av, bv] = [values(size(sa), 9), values(size(sb), 10)];
      const bits: Float32Array[] = [];
      try {
        for (const threads of [1, 2]) {
          await setThreads(threads);
          await setBackend('wasm');
          tf.tidy(() => {
            const [x, y] = [tf.tensor(av, [...sa]), tf.tensor(bv, [...sb])];
            let out: tf.Tensor | undefined;
            expect(cnnKernelRuns(() => (out = tf.matMul(x, y, ta, tb)))).toBe(calls);
            bits.push(out?.dataSync() as Float32Array);
          });
        }
      } finally {
        await setThreads(1);
      }
      expect(Array.from(bits[1])).toEqual(Array.from(bits[0]));
    });
  }

  it("are the gradients of a dense layer's weights and input", async () => {
    const x = values(16 * 12, 7);
    const w = values(12 * 9, 8);
    const run = () =>
      tf.tidy(() => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))),
        )([tf.tensor2d(x, [16, 12]), tf.tensor2d(w, [12, 9])]);
        return [gx.dataSync(), gw.dataSync()] as const;
      });
    const { cpu, wasm } = await onBoth(run);
    expect(maxDiff(wasm[0], cpu[0])).toBeLessThan(1e-4);
    expect(maxDiff(wasm[1], cpu[1])).toBeLessThan(1e-4);
  });
});

describe('Identity on wasm', () => {
  it('shares the data of its input, which outlives either tensor', async () => {
    await setBackend('wasm');
    const ids = dataIds();
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId);
    expect(dataIds()).toBe(ids + 1);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const c = tf.clone(b);
    b.dispose();
    expect(Array.from(tf.tidy(() => tf.add(c, 1).dataSync()))).toEqual([2, 3, 4]);
    c.dispose();
    expect(dataIds()).toBe(ids);
  });

  it('still copies strings through tfjs', async () => {
    await setBackend('wasm');
    const s = tf.tensor1d(['a', 'bc']);
    const t = tf.clone(s);
    s.dispose();
    expect(t.dataSync()).toEqual(['a', 'bc']);
    t.dispose();
  });
});

describe("a bias added along the last axis on wasm (cnn's kernel at 1 thread, tfjs's route at 2)", () => {
  afterAll(async () => {
    await setThreads('auto');
  });
  const bits = (a: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  for (const [big, small, swap] of [
    [[64, 28, 28, 6], [6], false],
    [[3, 5, 7, 16], [16], true],
    [[64, 10], [10], false],
    [[2, 3], [3], true],
  ] as const) {
    for (const threads of [1, 2]) {
      it(`[${big}] + [${small}]${swap ? ' (vector first)' : ''}, ${threads} thread(s): the cpu backend's sums bit for bit, its gradient too`, async () => {
        await setThreads(threads);
        const x = values(
          big.reduce((a, b) => a * b, 1),
          4,
        );
        const v = values(small[0], 5);
        const run = () =>
          tf.tidy(() => {
            const a = tf.tensor(x, [...big]);
            const b = tf.tensor1d(v);
            const y = swap ? tf.add(b, a) : tf.add(a, b);
            const w = tf.tensor(values(y.size, 6), y.shape);
            const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.add(p, q), w)))([a, b]);
            return [y.dataSync(), ...g.map((t) => t.dataSync())];
          });
        const { cpu, wasm } = await onBoth(run);
        // On one thread cnn's element-wise kernel takes the add (tryEltwise); on two, its 'CNN_IGEMM' rule decides.
        if (threads === 1) {
          const [a, b] = [tf.tensor(x, [...big]), tf.tensor1d(v)];
          expect(cnnKernelRuns(() => tf.dispose(swap ? tf.add(b, a) : tf.add(a, b)))).toBe(1);
          tf.dispose([a, b]);
        }
        expect(bits(wasm[0])).toEqual(bits(cpu[0]));
        expect(maxDiff(wasm[1], cpu[1])).toBe(0);
        expect(maxDiff(wasm[2], cpu[2])).toBeLessThan(1e-4);
      });
    }
  }

  it('hands other adds (same shapes, a scalar, int32, an empty tensor) to tfjs, with its values', async () => {
    await setThreads(1);
    const cases = () =>
      tf.tidy(() => [
        tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync(),
        tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.scalar(0.5)).dataSync(),
        tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([1, 2], 'int32')).dataSync(),
        tf.add(tf.zeros([0, 3]), tf.tensor1d([1, 2, 3])).dataSync(),
      ]);
    const { cpu, wasm } = await onBoth(cases);
    wasm.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(cpu[i])));
  });
});
