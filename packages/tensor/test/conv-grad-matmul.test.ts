// The convolution gradients that run as one matrix product on wasm (conv-grad-matmul.ts): the filter gradient of
// layers with one input channel (through CnnPatchesT, or CnnConv2DBackpropFilterC1 at stride 1 without dilation; two
// and three channels take the convolution-gradient kernel, checked here too) and the input gradient of a whole-input
// convolution, against the cpu backend's gradients of the same convolution (tfjs's own kernels), with the kernel
// names that ran, and no tensor leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, setBackend, tf, type ConvOptions } from '../src/index';

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

/** An NHWC input or HWIO filter shape. */
type Shape = [number, number, number, number];

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-30);
}

async function grads(backend: 'wasm' | 'cpu', xs: Shape, fs: Shape, o: ConvOptions) {
  await setBackend(backend);
  const before = tf.memory().numTensors;
  const kernels = new Set<string>();
  let out: Float32Array[] = [];
  const prof = await tf.profile(() => {
    out = tf.tidy(() => {
      const x = tf.tensor(
        values(
          xs.reduce((a, b) => a * b, 1),
          1,
        ),
        xs,
      ) as tf.Tensor4D;
      const f = tf.tensor(
        values(
          fs.reduce((a, b) => a * b, 1),
          2,
        ),
        fs,
      ) as tf.Tensor4D;
      const y = conv2d(x, f, o);
      const dy = tf.tensor(values(y.size, 3), y.shape);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, o), dy)),
      )([x, f]);
      return g.map((t) => t.dataSync().slice() as Float32Array);
    });
  });
  for (const k of prof.kernels) kernels.add(k.name);
  expect(tf.memory().numTensors).toBe(before);
  return { dx: out[0], df: out[1], kernels };
}

const CASES: Array<[string, Shape, Shape, ConvOptions, string]> = [
  [
    '1 input channel, 5x5, padding 2 (LeNet-5 first layer)',
    [4, 12, 12, 1],
    [5, 5, 1, 6],
    { pad: 2 },
    'CnnConv2DBackpropFilterC1',
  ],
  [
    '1 input channel, 3x3, 5 output channels, a 9-wide output (not a multiple of 4)',
    [2, 9, 11, 1],
    [3, 3, 1, 5],
    { pad: 'valid' },
    'CnnConv2DBackpropFilterC1',
  ],
  [
    '1 input channel, 7x7 (one tap at a time), padding [3, 1]',
    [3, 10, 8, 1],
    [7, 7, 1, 4],
    { pad: [3, 1] },
    'CnnConv2DBackpropFilterC1',
  ],
  ['1 input channel, 3x3, stride 2, same', [2, 9, 10, 1], [3, 3, 1, 6], { pad: 'same', strides: 2 }, 'CnnPatchesT'],
  [
    '3 input channels, 3x3, stride 2, dilation 1, same',
    [2, 11, 9, 3],
    [3, 3, 3, 8],
    { pad: 'same', strides: 2 },
    'CnnConv2DBackpropFilter',
  ],
  [
    '2 input channels, 3x3, dilation 2, padding [1, 2]',
    [2, 10, 10, 2],
    [3, 3, 2, 5],
    { pad: [1, 2], dilations: 2 },
    'CnnConv2DBackpropFilter',
  ],
  [
    '1 input channel, 3x3, dilation 2, padding [3, 1] (rows of the patches cut at both ends)',
    [2, 7, 9, 1],
    [3, 3, 1, 4],
    { pad: [3, 1], dilations: 2 },
    'CnnPatchesT',
  ],
  [
    '1 input channel, 4x4 wider than its 3-wide input, padding 2',
    [1, 6, 3, 1],
    [4, 4, 1, 3],
    { pad: 2 },
    'CnnConv2DBackpropFilterC1',
  ],
  [
    'a whole-input 5x5 kernel on a 5x5 input (a dense layer)',
    [6, 5, 5, 16],
    [5, 5, 16, 12],
    { pad: 'valid' },
    'BatchMatMul',
  ],
];

afterAll(async () => {
  await setBackend('wasm');
});

describe('convolution gradients as one matrix product on wasm', () => {
  for (const [name, xs, fs, o, kernel] of CASES) {
    it(`${name}: the cpu backend's gradients within 1e-5, through ${kernel}`, async () => {
      const wasm = await grads('wasm', xs, fs, o);
      const cpu = await grads('cpu', xs, fs, o);
      expect(wasm.kernels.has(kernel)).toBe(true);
      expect(relErr(wasm.df, cpu.df)).toBeLessThan(1e-5);
      expect(relErr(wasm.dx, cpu.dx)).toBeLessThan(1e-5);
    });
  }
});
