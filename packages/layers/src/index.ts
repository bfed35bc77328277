/**
 * @cnn/layers: every layer of a CNN twice over, as the seed teaches them: a function in `F` (the math) and a
 * Module class (which owns its parameters), with PyTorch's semantics on NHWC tensors; the generic blocks that several
 * model families share (`ConvNormAct`, `SEModule`; a family's own blocks live in its model package); `summary`; and
 * checkpoints that load PyTorch's weights by name.
 *
 * @packageDocumentation
 * @module @cnn/layers
 */
export * as F from './functional';
export type {
  Size2,
  Padding2,
  Conv2dOptions as FConv2dOptions,
  Pool2dOptions,
  BatchNormParams,
  BatchNormTrainResult,
  LocalResponseNormOptions,
} from './functional';
export {
  Module,
  Sequential,
  ModuleList,
  setForwardHook,
  hasForwardHook,
  type HostTensor,
  type InferenceMode,
  type InferencePlan,
  type ForwardHook,
  type LoadOptions,
  type LoadResult,
} from './module';
export {
  Conv2d,
  Linear,
  BatchNorm2d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  LocalResponseNorm,
  Dropout,
  Flatten,
  Identity,
  ChannelShuffle,
  Softmax,
  LogSoftmax,
  ReLU,
  ReLU6,
  LeakyReLU,
  ELU,
  Sigmoid,
  Tanh,
  GELU,
  SiLU,
  Hardsigmoid,
  Hardswish,
  permute,
  type Conv2dOptions,
  type BatchNormOptions,
} from './layers';
export { FusedConv, FusedLinear, planSequential } from './fuse';
export { FusedInPlaceError } from './errors';
export { manualSeed, getRandomState, setRandomState } from './random';
export { summary, type Summary, type SummaryRow } from './summary';
export {
  ConvNormAct,
  SEModule,
  batchNorm,
  activation,
  type NormFactory,
  type ActFactory,
  type AttentionFactory,
  type ActName,
  type ConvNormActOptions,
  type SEOptions,
} from './blocks';
export { loadTorchState, fromTorchState, torchState, type KeyMap } from './torch-layout';
export * from './checkpoint';
export {
  loadWeights,
  checkWeights,
  saveWeights,
  mmpretrainKeys,
  type MmpretrainKeyOptions,
  type CheckedWeights,
  type LoadWeightsOptions,
  type SaveWeightsOptions,
} from './weights';
