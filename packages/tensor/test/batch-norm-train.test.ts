// BatchNorm's training kernels on the wasm backend (batchNormTrainForward / Backward): their values against a
// float64 reference computed here from the formulas, on channel counts that are and are not multiples of the
// SIMD width, a count larger than the kernels' block of rows, an input whose mean is far from zero (where a
// naive sum of squares cancels), and no tensor leaks. The cpu backend runs the tfjs-op fallback on the same data.
import { afterAll, describe, expect, it } from 'vitest';
import { batchNormTrainBackward, batchNormTrainForward, setBackend, setThreads, tf } from '../src/index';

/** Deterministic values in [-1, 1) (a linear congruential generator), times `scale`, plus `offset`. */
function values(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 31 - 1) * scale + offset;
  }
  return v;
}

/** The forward and backward formulas in float64, channels last. */
function reference(x: Float32Array, dy: Float32Array, w: Float32Array, b: Float32Array, c: number, eps: number) {
  const n = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / n;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2 / n;
  const inv = Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  const y = new Float64Array(x.length);
  const db = new Float64Array(c);
  const dw = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    const j = i % c;
    const xh = (x[i] - mean[j]) * inv[j];
    y[i] = xh * w[j] + b[j];
    db[j] += dy[i];
    dw[j] += dy[i] * xh;
  }
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % c;
    const xh = (x[i] - mean[j]) * inv[j];
    dx[i] = w[j] * inv[j] * (dy[i] - db[j] / n - (xh * dw[j]) / n);
  }
  return { y, mean, variance, dx, dw, db };
}

/** max |a - ref| / max |ref|. */
function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

const CASES: Array<{ name: string; shape: number[]; offset: number }> = [
  { name: 'c=7 (not a multiple of 4), 2x5x6', shape: [2, 5, 6, 7], offset: 0 },
  { name: 'c=16, 4x9x9 (more rows than a block of 64)', shape: [4, 9, 9, 16], offset: 0.5 },
  { name: 'c=1, rank 2', shape: [300, 1], offset: 0 },
  { name: 'c=5, mean 1000 times the spread', shape: [8, 8, 8, 5], offset: 1000 },
];

afterAll(async () => {
  await setBackend('wasm');
});

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`batchNormTrainForward / Backward on ${backend}`, () => {
    for (const { name, shape, offset } of CASES) {
      it(`${name}: values within 1e-5 of float64, no leaks`, async () => {
        await setBackend(backend);
        const c = shape[shape.length - 1];
        const size = shape.reduce((a, b) => a * b, 1);
        const xv = values(size, 1, 1, offset);
        const dyv = values(size, 2);
        const wv = values(c, 3, 2);
        const bv = values(c, 4);
        const ref = reference(xv, dyv, wv, bv, c, 1e-5);
        const before = tf.memory().numTensors;
        const got = tf.tidy(() => {
          const x = tf.tensor(xv, shape);
          const w = tf.tensor1d(wv);
          const f = batchNormTrainForward(x, w, tf.tensor1d(bv), 1e-5);
          const g = batchNormTrainBackward(tf.tensor(dyv, shape), x, f.mean, f.invStd, w);
          return [f.y, f.mean, f.variance, g.dx, g.dweight, g.dbias, f.unbiased].map((t) => t.dataSync().slice());
        });
        expect(tf.memory().numTensors).toBe(before);
        const [y, mean, variance, dx, dw, db, unbiased] = got;
        // The mean far from zero makes the variance and the normalised values sensitive to float32 rounding
        // of x itself; the bound is relative to each output's largest value.
        expect(relErr(y, ref.y)).toBeLessThan(offset > 100 ? 1e-4 : 1e-5);
        // The mean against the input's scale (a mean near zero has no scale of its own).
        const xScale = xv.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const meanErr = Array.from(mean).reduce((m, v, j) => Math.max(m, Math.abs(v - ref.mean[j])), 0);
        expect(meanErr / xScale).toBeLessThan(1e-6);
        expect(relErr(variance, ref.variance)).toBeLessThan(offset > 100 ? 1e-3 : 1e-5);
        const count = size / c;
        const refUnbiased = Array.from(ref.variance, (v) => (v * count) / (count - 1));
        expect(relErr(unbiased, refUnbiased)).toBeLessThan(offset > 100 ? 1e-3 : 1e-5);
        expect(relErr(dx, ref.dx)).toBeLessThan(offset > 100 ? 1e-3 : 1e-5);
        expect(relErr(dw, ref.dw)).toBeLessThan(offset > 100 ? 1e-3 : 1e-5);
        expect(relErr(db, ref.db)).toBeLessThan(1e-5);
      });
    }
  });
}

describe('batchNormTrainForward on wasm', () => {
  it('gives the same values on every call (no state between calls)', async () => {
    await setBackend('wasm');
    const x = tf.tensor(values(4 * 6 * 6 * 12, 9, 3, 1), [4, 6, 6, 12]);
    const a = tf.tidy(() => batchNormTrainForward(x, undefined, undefined, 1e-5).y.dataSync().slice());
    const b = tf.tidy(() => batchNormTrainForward(x, undefined, undefined, 1e-5).y.dataSync().slice());
    x.dispose();
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

// The activation in the same pass (ConvNormAct's and ResNet's BatchNorm + ReLU while training): the values and the
// gradients of the unfused composition, BatchNorm then tf.relu / tf.relu6 and their tfjs gradient, bit for bit. The
// weights put a good share of the outputs below 0 and above 6, and channel 0 of every row with x = 0 sits exactly on
// the mean (symmetric values, zero bias), so the activation's input is exactly 0 there: the mask's edge.
for (const backend of ['wasm', 'cpu'] as const) {
  describe(`batchNormTrainForward / Backward with an activation on ${backend}`, () => {
    for (const activation of ['relu', 'relu6'] as const) {
      for (const shape of [
        [2, 5, 6, 7],
        [4, 9, 9, 16],
      ]) {
        it(`${activation}, [${shape}]: the composition's values and gradients exactly, no leaks`, async () => {
          await setBackend(backend);
          const c = shape[shape.length - 1];
          const size = shape.reduce((a, b) => a * b, 1);
          const xv = values(size, 5, 2);
          // Channel 0: the values -1, 0, 1 in turn (mean exactly 0 when the count is a multiple of 3).
          const rows = size / c;
          const whole = rows - (rows % 3);
          for (let r = 0; r < rows; r++) xv[r * c] = r < whole ? (r % 3) - 1 : 0;
          const dyv = values(size, 6);
          const wv = values(c, 7, 8);
          const bv = values(c, 8, 2);
          bv[0] = 0;
          const before = tf.memory().numTensors;
          const [fused, plain] = tf.tidy(() => {
            const x = tf.tensor(xv, shape);
            const dy = tf.tensor(dyv, shape);
            const w = tf.tensor1d(wv);
            const b = tf.tensor1d(bv);
            const f = batchNormTrainForward(x, w, b, 1e-5, activation);
            const g = batchNormTrainBackward(dy, x, f.mean, f.invStd, w, { activation, bias: b });
            const u = batchNormTrainForward(x, w, b, 1e-5);
            const act = (z: tf.Tensor) => (activation === 'relu' ? tf.relu(z) : tf.relu6(z));
            const dz = tf.grad(act)(u.y, dy);
            const h = batchNormTrainBackward(dz, x, u.mean, u.invStd, w);
            const read = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
            return [read([f.y, g.dx, g.dweight, g.dbias]), read([act(u.y), h.dx, h.dweight, h.dbias])];
          });
          expect(tf.memory().numTensors).toBe(before);
          expect(fused[0]).toEqual(plain[0]);
          expect(fused[1]).toEqual(plain[1]);
          expect(fused[2]).toEqual(plain[2]);
          expect(fused[3]).toEqual(plain[3]);
          // The data reach both sides of the clamp (and the mask's edge), so the test sees the activation at all.
          const y = fused[0];
          expect(y.filter((v) => v === 0).length).toBeGreaterThan(size / 10);
          if (activation === 'relu6') expect(y.filter((v) => v === 6).length).toBeGreaterThan(size / 50);
        });
      }
    }
  });
}

describe('batchNormTrainForward / Backward: a bad activation', () => {
  it('is a named error before any kernel runs', async () => {
    await setBackend('wasm');
    const x = tf.tensor(values(24, 1), [2, 3, 4]);
    const before = tf.memory().numTensors;
    const bad = 'gelu' as unknown as 'relu';
    expect(() => batchNormTrainForward(x, undefined, undefined, 1e-5, bad)).toThrow(
      /batchNormTrainForward: activation must be one of linear, relu, relu6, got "gelu"/,
    );
    const s = tf.tensor1d([0, 0, 0, 0]);
    expect(() => batchNormTrainBackward(x, x, s, s, undefined, { activation: bad })).toThrow(
      /batchNormTrainBackward: activation must be/,
    );
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, s]);
  });
});

describe('batchNormTrainForward / Backward on wasm: bad per-channel inputs', () => {
  it('are named errors from the kernel, before it allocates anything', async () => {
    await setBackend('wasm');
    const x = tf.tensor(values(2 * 3 * 4, 1), [2, 3, 4]);
    const four = tf.tensor1d([1, 2, 3, 4]);
    const three = tf.tensor1d([1, 2, 3]);
    const before = tf.memory();
    expect(() => batchNormTrainForward(x, three, undefined, 1e-5)).toThrow(
      /CnnBatchNormTrainForward: expected 4 float32 values per-channel, got \[3\] float32/,
    );
    expect(() => batchNormTrainForward(x, four, three, 1e-5)).toThrow(/CnnBatchNormTrainForward: expected 4/);
    expect(() => batchNormTrainForward(x, undefined, undefined, -1)).toThrow(
      /batchNormTrainForward: eps must be a number >= 0, got -1/,
    );
    expect(() => batchNormTrainBackward(x, x, four, three, undefined)).toThrow(
      /CnnBatchNormTrainBackward: expected 4 float32 values per-channel, got \[3\]/,
    );
    expect(() => batchNormTrainBackward(tf.zeros([2, 3, 3]), x, four, four, undefined)).toThrow(
      /CnnBatchNormTrainBackward: dy must be float32 of x's shape \[2,3,4\], got \[2,3,3\] float32/,
    );
    // Nothing allocated by the failed calls (the zeros tensor above is the one new tensor).
    expect(tf.memory().numTensors).toBe(before.numTensors + 1);
    expect(tf.memory().numBytes).toBe(before.numBytes + 18 * 4);
    tf.dispose([x, four, three]);
  });
});

// The reductions (statistics, the gradient's sums) split rows into ranges fixed by the sizes (kernels.c,
// bn_sums_prepare): 8192 rows of 16 channels are 8 ranges of 1024 rows, whose totals are added in range order, so
// one thread and two give the same bits, with and without an activation.
describe('BatchNorm training kernels on wasm, one thread against two', () => {
  afterAll(async () => {
    await setThreads(1);
  });
  it('[8, 32, 32, 16]: statistics, output and gradients bit for bit', async () => {
    await setBackend('wasm');
    const shape = [8, 32, 32, 16];
    const size = 8 * 32 * 32 * 16;
    const run = async (threads: number) => {
      await setThreads(threads);
      return tf.tidy(() => {
        const x = tf.tensor(values(size, 11, 2, 0.5), shape);
        const dy = tf.tensor(values(size, 12), shape);
        const w = tf.tensor1d(values(16, 13, 3));
        const b = tf.tensor1d(values(16, 14));
        const f = batchNormTrainForward(x, w, b, 1e-5, 'relu6');
        const g = batchNormTrainBackward(dy, x, f.mean, f.invStd, w, { activation: 'relu6', bias: b });
        return [f.mean, f.variance, f.y, g.dx, g.dweight, g.dbias].map((t) => Array.from(t.dataSync()));
      });
    };
    const one = await run(1);
    const two = await run(2);
    expect(two).toEqual(one);
  });

  it('[8, 32, 32, 16] (8 row ranges): values within 1e-5 of float64 on two threads', async () => {
    await setBackend('wasm');
    await setThreads(2);
    const shape = [8, 32, 32, 16];
    const size = 8 * 32 * 32 * 16;
    const xv = values(size, 21, 2, 0.5);
    const dyv = values(size, 22);
    const wv = values(16, 23, 3);
    const bv = values(16, 24);
    const ref = reference(xv, dyv, wv, bv, 16, 1e-5);
    const [y, mean, variance, dx, dw, db] = tf.tidy(() => {
      const x = tf.tensor(xv, shape);
      const w = tf.tensor1d(wv);
      const f = batchNormTrainForward(x, w, tf.tensor1d(bv), 1e-5);
      const g = batchNormTrainBackward(tf.tensor(dyv, shape), x, f.mean, f.invStd, w);
      return [f.y, f.mean, f.variance, g.dx, g.dweight, g.dbias].map((t) => t.dataSync().slice());
    });
    expect(relErr(y, ref.y)).toBeLessThan(1e-5);
    expect(relErr(mean, ref.mean)).toBeLessThan(1e-5);
    expect(relErr(variance, ref.variance)).toBeLessThan(1e-5);
    expect(relErr(dx, ref.dx)).toBeLessThan(1e-5);
    expect(relErr(dw, ref.dw)).toBeLessThan(1e-5);
    expect(relErr(db, ref.db)).toBeLessThan(1e-5);
  });
});
