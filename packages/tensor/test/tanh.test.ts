// cnn's SIMD tanh on the wasm backend (the 'Tanh' kernel) and its one-pass gradient (CnnTanhGrad): values against
// Math.tanh over [-20, 20] and at the edges (±0, tiny, large, infinite, NaN), the gradient against dy * (1 - y²)
// computed here, and no tensor leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads, tf } from '../src/index';

afterAll(async () => {
  await setThreads('auto');
  await setBackend('wasm');
});

describe('tanh on wasm', () => {
  it('is within 3e-7 (relative) of Math.tanh over [-20, 20] in steps of 0.001', async () => {
    await setBackend('wasm');
    const xs = Float32Array.from({ length: 40001 }, (_, i) => (i - 20000) * 0.001);
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => tf.tanh(tf.tensor1d(xs)).dataSync().slice());
    expect(tf.memory().numTensors).toBe(before);
    let worst = 0;
    xs.forEach((v, i) => {
      const r = Math.tanh(v);
      if (r !== 0) worst = Math.max(worst, Math.abs(y[i] - r) / Math.abs(r));
    });
    expect(worst).toBeLessThan(3e-7);
  });

  it('keeps the edges: tanh(±0) = ±0, tiny values, ±1 for large and infinite, NaN for NaN', async () => {
    await setBackend('wasm');
    const xs = [0, -0, 1e-30, -1e-7, 9, 50, -50, Infinity, -Infinity, Number.NaN];
    const y = tf.tidy(() => Array.from(tf.tanh(tf.tensor1d(xs)).dataSync()));
    expect(Object.is(y[0], 0)).toBe(true);
    expect(Object.is(y[1], -0)).toBe(true);
    expect(y[2]).toBeCloseTo(1e-30, 36);
    expect(Math.abs(y[3] + 1e-7)).toBeLessThan(1e-13);
    expect(y[4]).toBeCloseTo(Math.tanh(9), 6);
    expect(y.slice(5, 9)).toEqual([1, -1, 1, -1]);
    expect(Number.isNaN(y[9])).toBe(true);
  });

  it("splits LeNet-5's first activation ([64, 28, 28, 6]) on 2 threads with 1 thread's bits", async () => {
    // 301 K values: below cnn's convolution threshold, but tanh decides its own split (16 K values per unit).
    const size = 64 * 28 * 28 * 6;
    const xs = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 4);
    const run = async (threads: number) => {
      await setThreads(threads);
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      const y = tf.tidy(() =>
        tf
          .tanh(tf.tensor4d(xs, [64, 28, 28, 6]))
          .dataSync()
          .slice(),
      );
      expect(tf.memory().numTensors).toBe(before);
      return y;
    };
    const one = await run(1);
    const two = await run(2);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    let worst = 0;
    for (let i = 0; i < size; i += 97) worst = Math.max(worst, Math.abs(two[i] - Math.tanh(xs[i])));
    expect(worst).toBeLessThan(3e-7);
  });

  it('has the gradient dy * (1 - y²) of its own output, in one pass, without leaks', async () => {
    await setBackend('wasm');
    const xs = Float32Array.from({ length: 1001 }, (_, i) => (i - 500) * 0.01);
    const dys = Float32Array.from({ length: 1001 }, (_, i) => ((i % 7) - 3) * 0.5);
    const before = tf.memory().numTensors;
    const [y, g] = tf.tidy(() => {
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(dys);
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(t), dy)))(x);
      return [tf.tanh(x).dataSync().slice(), grad.dataSync().slice()];
    });
    expect(tf.memory().numTensors).toBe(before);
    g.forEach((v, i) => {
      expect(Math.abs(v - dys[i] * (1 - y[i] * y[i]))).toBeLessThan(1e-6);
    });
  });
});
