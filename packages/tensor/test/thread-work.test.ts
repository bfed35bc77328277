// The work a kernel call is counted as when runConvKernel decides whether to split it across cnn's thread pool
// (THREAD_MIN_WORK): a convolution's or a pool's multiply-adds, per output value from the kernel's own channel depth,
// the same for its forward and its gradients. Pure arithmetic on a geometry; the calls themselves give the same
// values split or not (threads.test).
import { describe, expect, it } from 'vitest';
import { KERNEL_OPS, type KernelOp } from '../src/wasm/kernel-abi';
import { CONV_OPS, plainGeometry, THREAD_MIN_WORK, workOf, type ConvGeometry } from '../src/wasm/module';

type Sizes = Pick<ConvGeometry, 'h' | 'w' | 'c' | 'oh' | 'ow' | 'co'> & { n?: number; k: number; groups?: number };

/** A k x k convolution's geometry from its sizes (stride and padding do not count). */
function conv(s: Sizes): ConvGeometry {
  return plainGeometry({ ...s, n: s.n ?? 1, kh: s.k, kw: s.k });
}

describe('workOf: the multiply-adds the thread threshold counts', () => {
  it('a grouped 1x1 convolution counts each output value as c / groups multiply-adds, not c', () => {
    // ShuffleNetV1 (3 groups) at batch 1: 28x28x120 down to 30 channels, 40 input channels per group.
    const g = conv({ h: 28, w: 28, c: 120, oh: 28, ow: 28, co: 30, k: 1, groups: 3 });
    for (const op of ['conv_fwd', 'conv_fwd_packed', 'conv_bwd_input', 'conv_bwd_filter'] as const)
      expect(workOf(op, g), op).toBe(28 * 28 * 30 * 40);
    expect(workOf('conv_fwd', g)).toBeLessThan(THREAD_MIN_WORK); // 0.94 M: runs on the calling thread
  });

  it('a strided kernel counts its outputs, forward and backward alike', () => {
    // One group, stride 2, 64 to 128 channels, 3x3, batch 2: each output value sums 9 taps of 64 channels.
    const s2 = conv({ n: 2, h: 16, w: 16, c: 64, oh: 8, ow: 8, co: 128, k: 3 });
    // The kernels that run forward convolutions and the input gradients are among them (the list is module.ts's).
    for (const op of [
      'conv_fwd_packed',
      'conv_bwd_input',
      'dw_bwd_input',
      'wino_fwd',
      'wino4_fwd',
      'patches_t',
    ] as const)
      expect(CONV_OPS.has(op), op).toBe(true);
    for (const op of CONV_OPS) expect(workOf(op, s2), op).toBe(2 * 8 * 8 * 128 * 9 * 64);
    // 3x3 stride-2 depthwise, 56x56x30 to 28x28x30, and a max pool of the same window: 9 per output value.
    const dw = conv({ h: 56, w: 56, c: 30, oh: 28, ow: 28, co: 30, k: 3, groups: 30 });
    for (const op of ['dw_fwd', 'dw_bwd_input', 'dw_bwd_filter', 'maxpool_fwd', 'maxpool_bwd'] as const)
      expect(workOf(op, dw), op).toBe(28 * 28 * 30 * 9);
  });

  it('a global mean (one window over the whole image) counts each input value once', () => {
    const mean = plainGeometry({ n: 1, h: 7, w: 7, c: 1024, oh: 1, ow: 1, co: 1024, kh: 7, kw: 7, groups: 1024 });
    expect(workOf('dw_fwd', mean)).toBe(7 * 7 * 1024);
  });

  it('a matrix product as a 1x1 convolution counts m * k * n, whichever way round', () => {
    // conv_bwd_filter / conv_bwd_input carry the training matmuls (train-kernels.ts): w = m rows, c = k, co = n.
    const mm = plainGeometry({ n: 1, h: 1, w: 64, c: 300, oh: 1, ow: 64, co: 20, kh: 1, kw: 1 });
    for (const op of ['conv_fwd', 'conv_bwd_filter', 'conv_bwd_input'] as const)
      expect(workOf(op, mm)).toBe(64 * 300 * 20);
  });

  it('a kernel of rows (a transpose, BatchNorm, a filter transform) keeps the larger side of its geometry', () => {
    const others = (Object.keys(KERNEL_OPS) as KernelOp[]).filter((op) => !CONV_OPS.has(op));
    expect(others).toContain('transpose');
    // transpose: n matrices of h x w (co = 1): n * h * w values.
    const t = plainGeometry({ n: 5, h: 30, w: 7, c: 1, oh: 1, ow: 1, co: 1, kh: 1, kw: 1 });
    for (const op of others) expect(workOf(op, t), op).toBe(5 * 30 * 7);
  });
});
