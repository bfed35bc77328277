// maxPoolPadded: max pooling whose padding counts as -infinity, in one pass of cnn's kernel on wasm (outside gradient
// recording) and as tf.pad + tf.maxPool elsewhere. Against a float64 reference, on 1 and 2 threads and on cpu; the
// same bits as tfjs's pad + maxPool on wasm; NaN as PyTorch treats it (propagated); its gradient; refusals; empty
// batches; no leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { maxPoolPadded, setBackend, setThreads, tf } from '../src/index';
import { cnnKernelRuns } from './wasm-internals';

/** Deterministic values in [-1, 1) (a linear congruential generator). */
function values(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 31 - 1;
  }
  return v;
}

type Case = [
  shape: [number, number, number, number],
  k: [number, number],
  s: [number, number],
  pads: [number, number, number, number],
];

/** Max pooling in plain JavaScript over the taps inside the input (Math.max: a NaN in the window gives NaN). */
function reference(x: Float32Array, [n, h, w, c]: number[], [kh, kw]: number[], [sh, sw]: number[], pads: number[]) {
  const [top, bottom, left, right] = pads as [number, number, number, number];
  const oh = Math.floor((h + top + bottom - kh) / sh) + 1;
  const ow = Math.floor((w + left + right - kw) / sw) + 1;
  const y = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++) {
              const iy = i * sh - top + u;
              const ix = j * sw - left + v;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) m = Math.max(m, x[((b * h + iy) * w + ix) * c + ch]!);
            }
          y[((b * oh + i) * ow + j) * c + ch] = m;
        }
  return { y, shape: [n, oh, ow, c] };
}

const CASES: Case[] = [
  [
    [1, 15, 15, 24],
    [3, 3],
    [2, 2],
    [1, 1, 1, 1],
  ], // a stem's 3x3 stride-2 pool (odd size)
  [
    [2, 13, 11, 5],
    [3, 2],
    [1, 2],
    [1, 2, 0, 1],
  ], // ceil-mode overhang at the bottom and right, 5 channels (tail)
  [
    [1, 9, 9, 37],
    [3, 3],
    [1, 1],
    [1, 1, 1, 1],
  ], // an inception branch's stride-1 pool, 16 + 16 + 4 + 1 channels
  [
    [1, 12, 12, 3],
    [9, 9],
    [1, 1],
    [4, 4, 4, 4],
  ], // 81 taps: more than one list of 64
];

afterAll(async () => {
  await setThreads(1);
  await setBackend('wasm');
});

for (const [backend, threads] of [
  ['wasm', 1],
  ['wasm', 2],
  ['cpu', 1],
] as const) {
  describe(`maxPoolPadded on ${backend}, ${threads} thread(s)`, () => {
    it('gives the max over the taps inside the input, the same bits as tf.pad + tf.maxPool', async () => {
      await setThreads(threads);
      await setBackend(backend);
      const before = tf.memory().numTensors;
      for (const [shape, k, s, pads] of CASES) {
        const xv = values(
          shape.reduce((a, b) => a * b),
          shape[3] + k[0],
        );
        const x = tf.tensor4d(xv, shape);
        let y: tf.Tensor | undefined;
        const runs = cnnKernelRuns(() => void (y = maxPoolPadded(x, k, s, pads)));
        expect(runs, 'cnn kernel calls').toBe(backend === 'wasm' ? 1 : 0);
        const want = reference(xv, shape, k, s, pads);
        expect(y!.shape).toEqual(want.shape);
        const got = y!.dataSync() as Float32Array;
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.y.buffer)), `case ${JSON.stringify(shape)}`).toBe(true);
        const composed = tf.tidy(() =>
          tf
            .maxPool(
              tf.pad(
                x,
                [
                  [0, 0],
                  [pads[0], pads[1]],
                  [pads[2], pads[3]],
                  [0, 0],
                ],
                -Infinity,
              ) as tf.Tensor4D,
              k,
              s,
              'valid',
            )
            .dataSync(),
        ) as Float32Array;
        expect(Buffer.from(composed.buffer).equals(Buffer.from(got.buffer))).toBe(true);
        tf.dispose([x, y!]);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}

describe('maxPoolPadded: NaN, gradients, empty batches and refusals (wasm)', () => {
  it('propagates a NaN to every window that holds it, as PyTorch does, in every lane and tap (and tf.maxPool too)', async () => {
    for (const threads of [1, 2]) {
      await setThreads(threads);
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      // 21 channels: a block of 16, one of 4 and a single lane. The 9x9 windows (81 taps inside the input for the
      // middle outputs) are combined from two lists of taps, the second one starting at tap 64.
      for (const [shape, k, s, pads] of [
        [
          [1, 7, 7, 21],
          [3, 3],
          [2, 2],
          [1, 1, 1, 1],
        ],
        [
          [1, 12, 12, 21],
          [9, 9],
          [1, 1],
          [4, 4, 4, 4],
        ],
      ] as Case[]) {
        const [, h, w, c] = shape;
        const xv = values(h * w * c, 7);
        const at = (y: number, x: number, ch: number) => (y * w + x) * c + ch;
        // NaN in the block of 16 (channel 2, the first pixel: a window's first tap), in the block of 4 (channel 17,
        // a middle pixel), in the single lane (channel 20, the last pixel), and in channel 9 at the bottom row: in
        // the 9x9 case tap 75 of 81 (past the first list) of the output at (7, 6), whose other taps are all numbers.
        for (const [y, x, ch] of [
          [0, 0, 2],
          [3, 3, 17],
          [h - 1, w - 1, 20],
          [h - 1, 5, 9],
        ])
          xv[at(y!, x!, ch!)] = Number.NaN;
        const x = tf.tensor4d(xv, shape);
        const want = reference(xv, shape, k, s, pads);
        for (const ch of [2, 9, 17, 20])
          expect(
            want.y.some((v, i) => i % c === ch && Number.isNaN(v)),
            `channel ${ch}`,
          ).toBe(true);
        expect(want.y.some((v) => !Number.isNaN(v))).toBe(true);
        let y: tf.Tensor | undefined;
        expect(cnnKernelRuns(() => void (y = maxPoolPadded(x, k, s, pads)))).toBe(1);
        expect(Array.from(y!.dataSync())).toEqual(Array.from(want.y));
        // tfjs's MaxPool with valid padding is cnn's kernel too.
        const valid = reference(xv, shape, k, s, [0, 0, 0, 0]);
        let z: tf.Tensor | undefined;
        expect(cnnKernelRuns(() => void (z = tf.maxPool(x, k, s, 'valid')))).toBe(1);
        expect(Array.from(z!.dataSync())).toEqual(Array.from(valid.y));
        tf.dispose([x, y!, z!]);
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it("tf.maxPool on wasm gives PyTorch's NaN where tfjs's own kernel gave -infinity", async () => {
    await setThreads(1);
    await setBackend('wasm');
    // One window [NaN, 2, 3, 4] per channel: XNNPACK's pool gave -infinity, PyTorch gives NaN.
    const x = tf.tensor4d([Number.NaN, Number.NaN, 2, 2, 3, 3, 4, 4], [1, 2, 2, 2]);
    const y = tf.maxPool(x, 2, 2, 'valid');
    expect(Array.from(y.dataSync())).toEqual([Number.NaN, Number.NaN]);
    // +infinity and -infinity in one window (their sum is NaN, the kernel's first hint of a NaN): +infinity wins.
    const inf = tf.tensor4d([Infinity, -Infinity, -Infinity, Infinity, 1, 2, 3, 4], [1, 2, 2, 2]);
    const infMax = tf.maxPool(inf, 2, 2, 'valid');
    expect(Array.from(infMax.dataSync())).toEqual([Infinity, Infinity]);
    const wide = tf.tensor4d(
      Array.from({ length: 4 * 21 }, (_, i) => (i % 21 === 20 ? Number.NaN : i % 2 ? Infinity : -Infinity)),
      [1, 2, 2, 21],
    );
    const wideMax = Array.from(tf.maxPool(wide, 2, 2, 'valid').dataSync());
    expect(wideMax).toEqual(Array.from({ length: 21 }, (_, i) => (i === 20 ? Number.NaN : Infinity)));
    tf.dispose([inf, infMax, wide]);
    // 'same' padding counts as -infinity: a window over the edge takes the largest value inside.
    const same = tf.maxPool(tf.tensor4d([-5, -7, -6, -8], [1, 2, 2, 1]), 3, 1, 'same');
    expect(Array.from(same.dataSync())).toEqual([-5, -5, -5, -5]);
    tf.dispose([x, y, same]);
  });

  it('is differentiable (the composed path runs while the tape records) and answers empty batches', async () => {
    await setThreads(2);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    const xv = values(1 * 5 * 5 * 2, 3);
    const x = tf.tensor4d(xv, [1, 5, 5, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(maxPoolPadded(t, [3, 3], [2, 2], [1, 1, 1, 1])))(x);
    const want = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.maxPool(
          tf.pad(
            t,
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            -Infinity,
          ) as tf.Tensor4D,
          3,
          2,
          'valid',
        ),
      ),
    )(x);
    expect(Array.from(g.dataSync())).toEqual(Array.from(want.dataSync()));
    expect(tf.tidy(() => g.sum().dataSync()[0])).toBe(18); // 3x3 outputs of 2 channels, one gradient each
    const none = tf.zeros([0, 5, 5, 2]);
    const empty = maxPoolPadded(none, [3, 3], [2, 2], [1, 1, 1, 1]);
    expect(empty.shape).toEqual([0, 3, 3, 2]);
    tf.dispose([x, g, want, none, empty]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad arguments before running, with what was wrong', async () => {
    await setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 1]);
    const t0 = performance.now();
    expect(() => maxPoolPadded(tf.zeros([4, 4, 1]), [2, 2], [1, 1], [0, 0, 0, 0])).toThrow(
      /maxPoolPadded: x must be rank 4/,
    );
    expect(() => maxPoolPadded(x, [0, 2], [1, 1], [0, 0, 0, 0])).toThrow(
      /filterSize and strides must be two whole numbers/,
    );
    expect(() => maxPoolPadded(x, [2, 2], [1, 1.5], [0, 0, 0, 0])).toThrow(/filterSize and strides/);
    expect(() => maxPoolPadded(x, [2, 2], [1, 1], [0, 0, -1, 0])).toThrow(/pads four whole numbers >= 0/);
    expect(() => maxPoolPadded(x, [3, 3], [1, 1], [3, 0, 0, 0])).toThrow(
      /each padding must be smaller than the 3x3 window/,
    );
    expect(() => maxPoolPadded(x, [9, 2], [1, 1], [2, 2, 0, 0])).toThrow(/must fit the padded 4x4 input/);
    const disposed = tf.zeros([1, 2, 2, 1]);
    disposed.dispose();
    expect(() => maxPoolPadded(disposed, [2, 2], [1, 1], [0, 0, 0, 0])).toThrow(/maxPoolPadded: x is disposed/);
    console.log(`refusals: ${(performance.now() - t0).toFixed(1)} ms`);
    x.dispose();
  });
});
