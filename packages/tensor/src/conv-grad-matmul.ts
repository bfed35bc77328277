// Two convolution gradients as one matrix product on 'wasm' (issue 15), where cnn's convolution-gradient kernels
// run far below their usual rate (measured at batch 64, one thread: LeNet-5's first filter gradient 12-15 ms
// against about 2 ms this way, its last input gradient 3.9 ms against 2.6):
// - the filter gradient of a layer with one input channel (the rgemm tiles are 4 input channels wide, so one channel
//   uses a quarter of them): patches^T (CnnPatchesT, [kh * kw, n * oh * ow]) times dy ([n * oh * ow, co]). With two
//   or three channels the kernel is faster than the patches (the product's operand is a new tensor every step, which
//   tfjs's matMul packs on every call): MobileNetV2's 96x96x3 stem at batch 32, 33 against 43-48 ms on one thread and
//   23-26 against 42-45 ms on two; ResNet-18 (CIFAR)'s 32x32x3 -> 64 at batch 64, 52-54 against 96-103 ms;
//   a 28x28x2 -> 8 layer, 6.5-6.7 against 7.1-8.3 ms;
// - the input gradient of a convolution whose kernel covers its whole unpadded input (a 1x1 output: a dense layer,
//   LeNet-5's third convolution): dy [n, co] times the filter [kh * kw * c, co] transposed.
// Each falls back (returns undefined) outside its case; the values agree with the kernels' to float32 rounding.
import {
  engine,
  getKernel,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { convInfo, type ConvAttrs } from './conv-options';
import { FILTER_GRAD_C1, PATCHES_T } from './kernel-names';

/** Input channels below which the filter gradient goes through patches: one channel (see above). */
export const PATCHES_MAX_CHANNELS = 2;
/** Largest patches matrix (floats) built for it: 16 M floats, 64 MB; larger layers keep the kernel. */
export const PATCHES_MAX_FLOATS = 1 << 24;

/**
 * The filter gradient through patches^T . dy, or undefined when the layer is not such a case. One input channel at
 * stride 1 without dilation (a grayscale first layer) takes {@link FILTER_GRAD_C1} instead, whose scratch (the input
 * zero-padded and dy by channel) is bounded by the same {@link PATCHES_MAX_FLOATS}.
 */
export function patchesFilterGrad(dy: Tensor, x: Tensor4D, filter: Tensor4D, a: ConvAttrs): Tensor | undefined {
  if (a.groups !== 1 || !getKernel(PATCHES_T, tf.getBackend())) return undefined;
  const [kh, kw, c, co] = filter.shape;
  if (c >= PATCHES_MAX_CHANNELS || x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const info = convInfo('conv2d gradient', x.shape, filter.shape, a);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  if (rows === 0 || co === 0 || kh * kw * c * rows > PATCHES_MAX_FLOATS) return undefined;
  const unit = (d: number) => d === 1;
  if (c === 1 && [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth].every(unit)) {
    const ow4 = Math.ceil(info.outWidth / 4) * 4;
    const padded = info.batchSize * (info.outHeight + kh - 1) * (Math.ceil((ow4 + kw - 1) / 4) * 4);
    if (
      getKernel(FILTER_GRAD_C1, tf.getBackend()) &&
      padded + co * rows * (ow4 / info.outWidth) <= PATCHES_MAX_FLOATS
    ) {
      const attrs = { ...a, filterShape: filter.shape } as unknown as NamedAttrMap;
      return engine().runKernel(FILTER_GRAD_C1, { x, dy } as NamedTensorMap, attrs) as Tensor;
    }
  }
  return tf.tidy(() => {
    const attrs = { ...a, filterShape: filter.shape } as unknown as NamedAttrMap;
    const patches = engine().runKernel(PATCHES_T, { x } as NamedTensorMap, attrs) as Tensor;
    return tf.matMul(patches as tf.Tensor2D, tf.reshape(dy, [rows, co]) as tf.Tensor2D).reshape(filter.shape);
  });
}

/** The input gradient of a whole-input (1x1 output, unpadded) convolution as dy . filter^T, or undefined. */
export function denseInputGrad(dy: Tensor, x: Tensor4D, filter: Tensor4D, a: ConvAttrs): Tensor | undefined {
  if (a.groups !== 1 || tf.getBackend() !== 'wasm') return undefined;
  const [n, h, w, c] = x.shape;
  const [kh, kw, fc, co] = filter.shape;
  const unpadded = a.pad === 'valid' || (Array.isArray(a.pad) && a.pad.flat().every((p) => p === 0));
  if (!unpadded || kh !== h || kw !== w || fc !== c || a.dilations[0] !== 1 || a.dilations[1] !== 1) return undefined;
  if (dy.shape[1] !== 1 || dy.shape[2] !== 1 || n === 0 || co === 0) return undefined;
  return tf.tidy(() =>
    tf
      .matMul(tf.reshape(dy, [n, co]) as tf.Tensor2D, tf.reshape(filter, [kh * kw * c, co]) as tf.Tensor2D, false, true)
      .reshape(x.shape),
  );
}
