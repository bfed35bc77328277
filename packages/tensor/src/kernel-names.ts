// The kernels cnn adds to tfjs: their names, inputs and attributes, in the one module that both the ops which run
// them (conv.ts) and the backends which implement them (wasm/register.ts) import, as tfjs's own kernel_names.ts does
// for its kernels. The tfjs kernels that cnn replaces or gives gradients to keep tfjs's names and types
// (`Conv2DBackpropInput`, `MaxPoolGrad`, ... exported by @tensorflow/tfjs-core).
import type { NamedTensorInfoMap } from '@tensorflow/tfjs-core';
import type { ConvAttrs } from './conv-options';

/** NHWC input shape, or [kh, kw, cin / groups, cout] filter shape. */
export type Shape4 = [number, number, number, number];

/**
 * 2-D convolution with channel groups and with stride and dilation together (NHWC; filter
 * [kh, kw, cin / groups, cout]). Only the 'wasm' backend has it; elsewhere `conv2d` composes tfjs's ops.
 */
export const GROUPED_CONV = 'CnnConv2D';
export type GroupedConvInputs = Pick<NamedTensorInfoMap, 'x' | 'filter'>;
export type GroupedConvAttrs = ConvAttrs;

/**
 * {@link GROUPED_CONV} with a bias added and an activation applied to each output as it is written, in the same pass
 * (inference: `fusedConv2d` runs it only while no gradient is recorded, so it has no gradient of its own).
 */
export const FUSED_GROUPED_CONV = 'CnnFusedConv2D';
export type FusedGroupedConvInputs = Pick<NamedTensorInfoMap, 'x' | 'filter'> &
  Partial<Pick<NamedTensorInfoMap, 'bias'>>;
/** The activations cnn's convolution kernels apply as they write an output: the one-pass ops' but hard-swish. */
export type ConvActivation = Exclude<EltwiseActivation, 'hardswish'>;
export interface FusedGroupedConvAttrs extends ConvAttrs {
  activation: ConvActivation;
}

/** The input gradient of {@link GROUPED_CONV}: dx with `inputShape`, from dy and the filter. */
export const GROUPED_CONV_BACKPROP_INPUT = 'CnnConv2DBackpropInput';
export type GroupedConvBackpropInputInputs = Pick<NamedTensorInfoMap, 'dy' | 'filter'>;
export interface GroupedConvBackpropInputAttrs extends ConvAttrs {
  /** Shape of the convolution's input, and so of the gradient. */
  inputShape: Shape4;
}

/** The filter gradient of {@link GROUPED_CONV}: df with `filterShape`, from the input x and dy. */
export const GROUPED_CONV_BACKPROP_FILTER = 'CnnConv2DBackpropFilter';
export type GroupedConvBackpropFilterInputs = Pick<NamedTensorInfoMap, 'x' | 'dy'>;
export interface GroupedConvBackpropFilterAttrs extends ConvAttrs {
  /** Shape of the filter, and so of the gradient. */
  filterShape: Shape4;
}

/** Every kernel cnn adds, by name: the names of its inputs and its attributes. */
export interface CnnKernels {
  [GROUPED_CONV]: { inputs: GroupedConvInputs; attrs: GroupedConvAttrs };
  [FUSED_GROUPED_CONV]: { inputs: FusedGroupedConvInputs; attrs: FusedGroupedConvAttrs };
  [GROUPED_CONV_BACKPROP_INPUT]: { inputs: GroupedConvBackpropInputInputs; attrs: GroupedConvBackpropInputAttrs };
  [GROUPED_CONV_BACKPROP_FILTER]: { inputs: GroupedConvBackpropFilterInputs; attrs: GroupedConvBackpropFilterAttrs };
  [FUSED_ELTWISE]: { inputs: FusedEltwiseInputs; attrs: FusedEltwiseAttrs };
  [SHUFFLE_CONCAT]: { inputs: ShuffleConcatInputs; attrs: ShuffleConcatAttrs };
  [SQUEEZE_EXCITE]: { inputs: SqueezeExciteInputs; attrs: SqueezeExciteAttrs };
  [PADDED_MAX_POOL]: { inputs: PaddedMaxPoolInputs; attrs: PaddedMaxPoolAttrs };
}

/** The name of a kernel cnn adds. */
export type CnnKernelName = keyof CnnKernels;

/** Activations of the one-pass ops (`fusedActivation`, `fusedAdd`): ReLU, ReLU6 and PyTorch's hard-swish, x * relu6(x + 3) / 6. */
export type EltwiseActivation = 'linear' | 'relu' | 'relu6' | 'hardswish';

/**
 * `act(a + b)` (op 'add'; b the same shape as a, a vector along a's last axis, or a scalar) or `act(a)` (op 'none',
 * no b) in one pass, for inference: cnn's `fusedAdd` and `fusedActivation` run it where the backend has it (wasm)
 * and no gradient is being recorded; elsewhere they compose tfjs's ops.
 */
export const FUSED_ELTWISE = 'CnnFusedEltwise';
export type FusedEltwiseInputs = Pick<NamedTensorInfoMap, 'a' | 'b'>;
export interface FusedEltwiseAttrs {
  /** 'add': act(a + b); 'none': act(a). */
  op: 'add' | 'none';
  activation: EltwiseActivation;
}

/**
 * The two-group channel shuffle of a concatenation (ShuffleNet's units) in one pass: output channel 2j is channel j
 * of `a` (its first `b.shape[3]` channels: `a` may be wider), channel 2j + 1 is channel j of `b`. cnn's
 * `channelShuffleConcat` runs it where the backend has it (wasm) and no gradient is being recorded.
 */
export const SHUFFLE_CONCAT = 'CnnShuffleConcat';
export type ShuffleConcatInputs = Pick<NamedTensorInfoMap, 'a' | 'b'>;
export type ShuffleConcatAttrs = Record<string, never>;

/**
 * A squeeze-and-excitation block with a hard-sigmoid gate in one pass, for inference: `x * hardsigmoid(relu(mean(x)
 * conv w1 + b1) conv w2 + b2)` per image and channel (w1 [1, 1, c, s], w2 [1, 1, s, c]: the two 1x1 convolutions'
 * filters). cnn's `squeezeExcite` runs it where the backend has it (wasm) and no gradient is being recorded.
 */
export const SQUEEZE_EXCITE = 'CnnSqueezeExcite';
export type SqueezeExciteInputs = Pick<NamedTensorInfoMap, 'x' | 'w1' | 'b1' | 'w2' | 'b2'>;
export type SqueezeExciteAttrs = Record<string, never>;

/**
 * Max pooling of an NHWC tensor with explicit padding that counts as -infinity (PyTorch's `MaxPool2d` padding and
 * `ceil_mode` overhang), in one pass without a padded copy: cnn's `maxPoolPadded` runs it where the backend has it
 * (wasm) and no gradient is being recorded; elsewhere it composes `tf.pad` and `tf.maxPool`.
 */
export const PADDED_MAX_POOL = 'CnnPaddedMaxPool';
export type PaddedMaxPoolInputs = Pick<NamedTensorInfoMap, 'x'>;
export interface PaddedMaxPoolAttrs {
  /** Window height and width. */
  filterSize: [number, number];
  /** Strides along height and width. */
  strides: [number, number];
  /** Padding rows above and below, columns left and right. */
  pads: [number, number, number, number];
}

// Training kernels (issue 15): BatchNorm in training mode, forward and backward, each one call that runs two passes
// over the activations (kernels.c, "Training: BatchNorm") and computes the per-channel coefficients between them.
// Only the 'wasm' backend has them; elsewhere `batchNormTrainForward` / `Backward` compose tfjs's ops.

/**
 * BatchNorm's training forward over the last (channel) dimension: inputs `x` and optionally `weight` and `bias`
 * (shape [c]); attributes `eps` and `activation` ('linear', the default, 'relu' or 'relu6'). Outputs
 * `[y, mean, variance, invStd, unbiased]`: `y = act((x - mean) * invStd * weight + bias)`, the biased `variance`,
 * `invStd = 1 / sqrt(variance + eps)` and `unbiased = variance * count / (count - 1)`, each per-channel one in
 * float32 as tfjs's Add, Rsqrt and Multiply compute it.
 */
export const BN_TRAIN_FORWARD = 'CnnBatchNormTrainForward';
/**
 * BatchNorm's training gradient: inputs `dy`, `x`, the forward's `mean` and `invStd`, and optionally `weight` and
 * `bias`; attribute `activation` as the forward's (dy is then the gradient of the activated output, masked at the
 * activation's input recomputed from x). Outputs `[dx, dweight, dbias]`: `dbias = Σ dy`, `dweight = Σ dy · x̂` and
 * `dx = k1 (dy - m1 - (x - mean) k2)` with `k1 = invStd · weight`, `m1 = dbias / count`,
 * `k2 = invStd · (dweight / count)`.
 */
export const BN_TRAIN_BACKWARD = 'CnnBatchNormTrainBackward';

/** `dy * (1 - y * y)`, the gradient of tanh from its output y (the wasm backend's 'Tanh' is cnn's SIMD one too). */
export const TANH_GRAD = 'CnnTanhGrad';

/**
 * torch.optim.SGD's update of several parameters in one call: inputs `p0, g0[, b0], p1, ...` (parameter, gradient,
 * momentum buffer when it exists), outputs the new parameters and buffers; see `sgdStep`.
 */
export const SGD_STEP = 'CnnSgdStep';

/**
 * torch.optim.Adam / AdamW's update of several parameters in one call: inputs `p0, g0[, m0, v0[, vmax0]], p1, ...`,
 * outputs the new parameters and buffers; see `adamStep`.
 */
export const ADAM_STEP = 'CnnAdamStep';

/**
 * A convolution's input patches, transposed: `[kh * kw * c, n * oh * ow]` (zeros in the padding), for the filter
 * gradient of layers with few input channels as one matrix product. Attributes: the convolution's, plus
 * `filterShape` (groups must be 1).
 */
export const PATCHES_T = 'CnnPatchesT';

/**
 * The filter gradient of a convolution with one input channel, stride 1 and no dilation (groups 1), from the input
 * `x` and `dy`: `[kh, kw, 1, co]`. Attributes: the convolution's, plus `filterShape`.
 */
export const FILTER_GRAD_C1 = 'CnnConv2DBackpropFilterC1';

/**
 * The gradient of ReLU (`relu6: false`) or ReLU6 (`relu6: true`) from the forward input x in one pass: inputs `dy, x`,
 * output `dy * step(x)` (ReLU6: `dy * (x <= 6) * step(x)`), the values tfjs's own gradients compute with several ops.
 */
export const RELU_GRAD = 'CnnReluGrad';
