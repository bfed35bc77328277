// The work a kernel call is counted as when runConvKernel decides whether to split it across cnn's thread pool
// (THREAD_MIN_WORK): multiply-adds, counted per output value from the kernel's own channel depth. Pure arithmetic on
// a geometry; the calls themselves give the same values split or not (threads.test).
import { describe, expect, it } from 'vitest';
import { plainGeometry, THREAD_MIN_WORK, workOf, type ConvGeometry } from '../src/wasm/module';

interface Sizes {
  n?: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  co: number;
  k: number;
  groups?: number;
}

/** A k x k convolution's geometry from its sizes (stride and padding do not count). */
function conv(s: Sizes): ConvGeometry {
  return plainGeometry({ ...s, n: s.n ?? 1, kh: s.k, kw: s.k });
}

describe('workOf: the multiply-adds the thread threshold counts', () => {
  it('a grouped 1x1 convolution counts each output value as c / groups multiply-adds, not c', () => {
    // ShuffleNetV1 (3 groups) at batch 1: 28x28x120 down to 30 channels, 40 input channels per group.
    const g = conv({ h: 28, w: 28, c: 120, oh: 28, ow: 28, co: 30, k: 1, groups: 3 });
    expect(workOf('conv_fwd', g)).toBe(28 * 28 * 30 * 40);
    expect(workOf('conv_fwd', g)).toBeLessThan(THREAD_MIN_WORK); // 0.94 M: runs on the calling thread
    // Its gradients: the input gradient sums co / groups = 10 channels for each of the 120 input channels.
    expect(workOf('conv_bwd_input', g)).toBe(Math.max(28 * 28 * 30 * 40, 28 * 28 * 120 * 10));
    expect(workOf('conv_bwd_filter', g)).toBe(28 * 28 * 30 * 40);
  });

  it('a strided forward kernel counts its output, a gradient the larger side', () => {
    // 3x3 stride-2 depthwise, 56x56x30 to 28x28x30: 9 multiply-adds per output value.
    const dw = conv({ h: 56, w: 56, c: 30, oh: 28, ow: 28, co: 30, k: 3, groups: 30 });
    expect(workOf('dw_fwd', dw)).toBe(28 * 28 * 30 * 9);
    expect(workOf('dw_bwd_input', dw)).toBe(56 * 56 * 30 * 9);
    // A 3x3 stride-2 max pool: 9 reads per output value forward.
    const pool = conv({ h: 112, w: 112, c: 12, oh: 56, ow: 56, co: 12, k: 3, groups: 12 });
    expect(workOf('maxpool_fwd', pool)).toBe(56 * 56 * 12 * 9);
    // One group, stride 2, 64 to 128 channels: the input gradient sums 128 channels per input value.
    const s2 = conv({ n: 2, h: 16, w: 16, c: 64, oh: 8, ow: 8, co: 128, k: 3 });
    expect(workOf('conv_fwd', s2)).toBe(2 * 8 * 8 * 128 * 9 * 64);
    expect(workOf('conv_bwd_input', s2)).toBe(2 * 16 * 16 * 64 * 9 * 128);
  });

  it('a global mean (one window over the whole image) counts each input value once', () => {
    const mean = plainGeometry({ n: 1, h: 7, w: 7, c: 1024, oh: 1, ow: 1, co: 1024, kh: 7, kw: 7, groups: 1024 });
    expect(workOf('dw_fwd', mean)).toBe(7 * 7 * 1024);
  });

  it('a matrix product as a 1x1 convolution counts m * k * n, whichever way round', () => {
    // conv_bwd_filter / conv_bwd_input carry the training matmuls (train-kernels.ts): w = m rows, c = k, co = n.
    const mm = plainGeometry({ n: 1, h: 1, w: 64, c: 300, oh: 1, ow: 64, co: 20, kh: 1, kw: 1 });
    expect(workOf('conv_fwd', mm)).toBe(64 * 300 * 20);
    expect(workOf('conv_bwd_filter', mm)).toBe(64 * 300 * 20);
    expect(workOf('conv_bwd_input', mm)).toBe(64 * 300 * 20);
  });
});
