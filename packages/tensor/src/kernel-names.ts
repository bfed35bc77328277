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
  [GROUPED_CONV_BACKPROP_INPUT]: { inputs: GroupedConvBackpropInputInputs; attrs: GroupedConvBackpropInputAttrs };
  [GROUPED_CONV_BACKPROP_FILTER]: { inputs: GroupedConvBackpropFilterInputs; attrs: GroupedConvBackpropFilterAttrs };
  [FUSED_ELTWISE]: { inputs: FusedEltwiseInputs; attrs: FusedEltwiseAttrs };
  [SHUFFLE_CONCAT]: { inputs: ShuffleConcatInputs; attrs: ShuffleConcatAttrs };
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
