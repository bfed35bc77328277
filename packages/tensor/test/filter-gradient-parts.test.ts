// The convolution filter gradient on wasm cuts a large dy into parts of output pixels (kernels.c, filter_parts: 1, 2
// or 4 parts, set by the shape alone), sums each part into its own copy of the gradient and adds the copies in
// order after the units. These shapes take 2 and 4 parts through every tile path (8x4 pairs of strips for 4 output
// channels a group, 4x8 tiles, the 4xn tail) with groups, strides and parts that start in the middle of an image;
// their gradients must match a float64 reference and be the same bits on one thread and on two.
import { afterAll, describe, expect, it } from 'vitest';
import { conv2dBackpropFilter, setBackend, setThreads, tf, type Tensor4D } from '../src/index';
import { relErr } from '../../../test-support/fixtures';
import { naiveConv, type Shape4 } from './naive-conv';
import { cnnKernelRuns } from './wasm-internals';

interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  strides?: number;
  pad: 'same' | 'valid' | number;
  groups?: number;
}

// dy floats (n * oh * ow * co) against the filter's (kh * kw * c / groups * co): at least 64 times more gives 4
// parts, 16 times 2, where dy is at least 1 MiB.
const CASES: Case[] = [
  { name: '1x1, 16 -> 32 (4 parts, 4x8 tiles)', x: [4, 48, 48, 16], w: [1, 1, 16, 32], pad: 'valid' },
  { name: '3x3, 16 -> 64 (2 parts)', x: [4, 32, 32, 16], w: [3, 3, 16, 64], pad: 1 },
  { name: '3x3 stride 2, 8 -> 24 (4 parts, mid-image)', x: [5, 93, 95, 8], w: [3, 3, 8, 24], strides: 2, pad: 'same' },
  { name: '1x1 groups 2 (4 parts)', x: [4, 48, 48, 32], w: [1, 1, 16, 32], pad: 'valid', groups: 2 },
  {
    name: '1x1 groups 8, 4 outputs a group (8x4 pairs)',
    x: [4, 48, 48, 32],
    w: [1, 1, 4, 32],
    pad: 'valid',
    groups: 8,
  },
  { name: '1x1, 16 -> 30 (4xn tail)', x: [4, 48, 48, 16], w: [1, 1, 16, 30], pad: 'valid' },
];

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * 0.5 + Math.cos(i * 0.017) * 0.25);
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

afterAll(async () => {
  await setThreads('auto');
});

describe('the filter gradient in parts of pixels on wasm', () => {
  for (const c of CASES) {
    it(`${c.name}: within 1e-5 of float64, the same bits on 1 and 2 threads, no leaks`, async () => {
      const opts = { strides: c.strides ?? 1, pad: c.pad, groups: c.groups ?? 1 };
      const x = values(size(c.x), 1);
      const probe = naiveConv(x, c.x, new Float32Array(size(c.w)), c.w, opts);
      const dy = values(size(probe.yShape), 2);
      const want = naiveConv(x, c.x, new Float32Array(size(c.w)), c.w, opts, dy).dw!;
      const got: Float32Array[] = [];
      for (const threads of [1, 2]) {
        await setThreads(threads);
        await setBackend('wasm');
        const before = tf.memory().numTensors;
        let out: Float32Array | undefined;
        const runs = cnnKernelRuns(() => {
          out = tf.tidy(() => {
            const xt = tf.tensor4d(x, c.x);
            const dyt = tf.tensor4d(dy, probe.yShape);
            return conv2dBackpropFilter(xt as Tensor4D, dyt as Tensor4D, c.w, opts).dataSync() as Float32Array;
          });
        });
        expect(runs, 'ran on cnn kernels').toBeGreaterThan(0);
        expect(tf.memory().numTensors).toBe(before);
        got.push(out!);
      }
      expect(relErr(got[0]!, want).rel).toBeLessThanOrEqual(1e-5);
      expect(Buffer.from(got[1]!.buffer).equals(Buffer.from(got[0]!.buffer)), '1 and 2 threads').toBe(true);
    });
  }
});
