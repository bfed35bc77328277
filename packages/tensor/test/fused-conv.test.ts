// fusedConv2d (conv.ts): act(conv2d + bias) in one call of cnn's kernel on wasm for grouped, depthwise-as-grouped and
// strided-and-dilated convolutions outside gradient recording, tf.fused.conv2d for plain ones, composed tfjs ops
// elsewhere. Checked against a float64 direct loop (naive-conv.ts) on wasm (1 and 2 threads) and cpu; the kernel's
// filter kept packed across calls and repacked when the filter's values are new; gradients through the composed
// path; refusals before any work; no leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, fusedConv2d, setBackend, setThreads, tf, type ConvActivation } from '../src/index';
import { naiveConv, type NaiveOptions } from './naive-conv';
import { cnnKernelRuns } from './wasm-internals';

afterAll(async () => {
  await setThreads(1);
  await setBackend('wasm');
});

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.917 + seed * 1.3) * 0.999);

const act64 = (v: number, act: ConvActivation): number =>
  act === 'relu' ? Math.max(v, 0) : act === 'relu6' ? Math.min(Math.max(v, 0), 6) : v;

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  opts: NaiveOptions & { groups?: number };
  act: ConvActivation;
  bias: boolean;
  /** cnn kernel calls on wasm outside recording: 1 (its fused kernel) unless tfjs's fused conv2d takes it. */
  calls: number;
}

const CASES: Case[] = [
  // ShuffleNetV1's pointwise convolution with 3 groups, and a 3x3 one (ResNeXt's shape, fewer channels).
  { x: [2, 7, 6, 12], w: [1, 1, 4, 15], opts: { groups: 3 }, act: 'relu', bias: true, calls: 1 },
  { x: [1, 9, 9, 8], w: [3, 3, 2, 8], opts: { groups: 4, pad: 1, strides: 2 }, act: 'relu6', bias: true, calls: 1 },
  // One input channel per group (the depthwise kernel), with a channel multiplier of 2.
  { x: [1, 8, 7, 6], w: [3, 3, 1, 12], opts: { groups: 6, pad: 'same' }, act: 'linear', bias: true, calls: 1 },
  // Stride and dilation together: cnn's kernel even with one group; no bias.
  {
    x: [1, 11, 10, 3],
    w: [3, 3, 3, 5],
    opts: { strides: 2, dilations: 2, pad: 2 },
    act: 'relu',
    bias: false,
    calls: 1,
  },
];

function reference(c: Case, xv: Float32Array, wv: Float32Array, bv: Float32Array): Float64Array {
  const { y } = naiveConv(xv, c.x, wv, c.w, c.opts);
  const cout = c.w[3];
  return y.map((v, i) => act64(v + (c.bias ? bv[i % cout]! : 0), c.act));
}

describe('fusedConv2d', () => {
  for (const c of CASES) {
    const name = `${c.x}, filter ${c.w}, ${JSON.stringify(c.opts)}, ${c.act}${c.bias ? ' + bias' : ''}`;
    it(`equals the float64 convolution, bias and activation on wasm (1 and 2 threads) and cpu: ${name}`, async () => {
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const [xv, wv, bv] = [values(size(c.x), 1), values(size(c.w), 2), values(c.w[3], 3)];
      const want = reference(c, xv, wv, bv);
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      try {
        for (const [backend, threads] of [
          ['wasm', 1],
          ['wasm', 2],
          ['cpu', 1],
        ] as const) {
          await setThreads(threads);
          await setBackend(backend);
          const before = tf.memory().numTensors;
          const [x, w, b] = [tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.w), tf.tensor1d(bv)];
          let y: tf.Tensor | undefined;
          const run = () => {
            y = fusedConv2d(x, w, { ...c.opts, bias: c.bias ? b : undefined, activation: c.act });
          };
          const both = c.opts.strides !== undefined && c.opts.dilations !== undefined;
          if (backend === 'wasm') expect(cnnKernelRuns(run)).toBe(c.calls);
          else if (both) {
            // tfjs's own convolutions take stride or dilation, never both: refused by name, nothing left behind.
            expect(run).toThrow(/conv2d: stride 2x2 together with dilation 2x2 is supported only on the wasm backend/);
            tf.dispose([x, w, b]);
            expect(tf.memory().numTensors).toBe(before);
            continue;
          } else run();
          const got = (y as tf.Tensor).dataSync();
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          expect(worst / scale, `${backend} ${threads}T`).toBeLessThan(1e-5);
          tf.dispose([x, w, b, y as tf.Tensor]);
          expect(tf.memory().numTensors).toBe(before);
        }
      } finally {
        await setThreads(1);
      }
    });
  }

  it('a plain convolution is tf.fused.conv2d: the same values as conv2d + bias + relu6', async () => {
    await setBackend('wasm');
    const [x, w] = [tf.tensor4d(values(2 * 6 * 6 * 4, 4), [2, 6, 6, 4]), tf.tensor4d(values(36 * 5, 5), [3, 3, 4, 5])];
    const bias = tf.tensor1d(values(5, 6));
    const got = fusedConv2d(x, w, { pad: 1, bias, activation: 'relu6' });
    const want = tf.tidy(() => tf.relu6(tf.add(conv2d(x, w, { pad: 1 }), bias)));
    const [g, v] = [got.dataSync(), want.dataSync()];
    for (let i = 0; i < g.length; i++) expect(Math.abs(g[i]! - v[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, w, bias, got, want]);
  });

  it('keeps its packed filter while the filter is the same, and packs a new one for new values', async () => {
    await setBackend('wasm');
    const xv = values(5 * 5 * 6, 7);
    const x = tf.tensor4d(xv, [1, 5, 5, 6]);
    const check = (w: tf.Tensor4D) => {
      const y = fusedConv2d(x, w, { groups: 3 });
      const want = naiveConv(xv, [1, 5, 5, 6], w.dataSync(), [1, 1, 2, 9], { groups: 3 }).y;
      const got = y.dataSync();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5);
      y.dispose();
    };
    const w1 = tf.tensor4d(values(18, 8), [1, 1, 2, 9]);
    const w2 = tf.tensor4d(values(18, 9), [1, 1, 2, 9]);
    check(w1);
    check(w1);
    check(w2);
    check(w1);
    // A filter freed and another made (which may land at the same address) is packed afresh.
    w1.dispose();
    const w3 = tf.tensor4d(values(18, 10), [1, 1, 2, 9]);
    check(w3);
    tf.dispose([x, w2, w3]);
  });

  it('under tf.grad runs composed: the gradients of conv2d + bias + relu', async () => {
    await setBackend('wasm');
    const x = tf.tensor4d(values(2 * 5 * 5 * 6, 11), [2, 5, 5, 6]);
    const w = tf.tensor4d(values(9 * 2 * 6, 12), [3, 3, 2, 6]);
    const b = tf.tensor1d(values(6, 13));
    const opts = { groups: 3, pad: 1 } as const;
    const fused = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
      tf.sum(tf.square(fusedConv2d(xs, ws, { ...opts, bias: bs, activation: 'relu' }))),
    )([x, w, b]);
    const composed = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
      tf.sum(tf.square(tf.relu(tf.add(conv2d(xs, ws, opts), bs)))),
    )([x, w, b]);
    for (let i = 0; i < 3; i++) expect(Array.from(fused[i]!.dataSync())).toEqual(Array.from(composed[i]!.dataSync()));
    tf.dispose([x, w, b, ...fused, ...composed]);
  });

  it('an empty batch gives an empty result', async () => {
    await setBackend('wasm');
    const x = tf.zeros([0, 4, 4, 6]);
    const w = tf.ones([1, 1, 2, 6]);
    const y = fusedConv2d(x, w, { groups: 3, bias: tf.zeros([6]), activation: 'relu' });
    expect(y.shape).toEqual([0, 4, 4, 6]);
    tf.dispose([x, w, y]);
  });

  it('refuses a bad activation, a bias of the wrong shape or dtype and bad groups, naming the op', async () => {
    await setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 6]);
    const w = tf.zeros([1, 1, 2, 6]);
    const before = tf.memory().numTensors;
    const bad = (opts: Parameters<typeof fusedConv2d>[2], re: RegExp) =>
      expect(() => fusedConv2d(x, w, opts)).toThrow(re);
    bad({ groups: 3, activation: 'hardswish' as ConvActivation }, /fusedConv2d: activation must be one of/);
    const wrong = tf.zeros([3]);
    bad({ groups: 3, bias: wrong }, /fusedConv2d: bias must have shape \[6\].*got \[3\]/);
    const ints = tf.zeros([6], 'int32');
    bad({ groups: 3, bias: ints }, /fusedConv2d: bias must be float32/);
    bad({ groups: 4 }, /fusedConv2d/);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([x, w, wrong, ints]);
  });
});
