/**
 * @cnn/tensor: the engine every cnn package computes on.
 *
 * - `tf`: the tfjs-core namespace, with every gradient and chained op registered.
 * - `setBackend('wasm' | 'cuda' | 'cpu' | 'webgpu' | 'auto')`, `getBackend()`, `backendInfo()`.
 * - `conv2d` with groups, stride, dilation and padding of every kind, trainable on every backend;
 *   on wasm, cnn's SIMD kernels add the training kernels tfjs lacks.
 *
 * @packageDocumentation
 * @module @cnn/tensor
 */
import { tf } from './tf';
import { registerWasmKernels } from './wasm/register';
import { registerConvGradients } from './conv';
import { registerTrainKernels } from './wasm/train-kernels';
import { registerTanhGradient } from './tanh-grad';
import { registerReluGradients } from './relu-grad';

export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, DataType } from './tf';
export {
  setBackend,
  setThreads,
  getBackend,
  backendInfo,
  THREADS_ENV,
  ThreadsEnvError,
  type BackendName,
  type BackendInfo,
} from './backend';
export { TensorArgumentError } from './errors';
export { CudaBackendError, setCudaEnvironment, type CudaFailure, type CudaEnvironment } from './cuda';
export { WebGpuBackendError, type WebGpuFailure, type WebGpuAdapterInfo } from './webgpu';
export { conv2d, fusedConv2d, conv2dBackpropInput, conv2dBackpropFilter, type FusedConvOptions } from './conv';
export type { ConvActivation } from './kernel-names';
export type { ConvOptions, Padding } from './conv-options';
export { setWasmPaths, WasmBinaryError } from './browser-wasm-paths';
export {
  batchNormTrainForward,
  batchNormTrainBackward,
  type BatchNormForward,
  type BatchNormBackward,
  type BatchNormActivation,
} from './batch-norm-train';
export {
  sgdStep,
  canSgdStep,
  adamStep,
  canAdamStep,
  type SgdStepEntry,
  type SgdStepOptions,
  type SgdStepResult,
  type AdamStepEntry,
  type AdamStepOptions,
  type AdamStepResult,
} from './optimizer-steps';
export {
  checkActivation,
  CONV_ACTIVATIONS,
  fusedActivation,
  fusedAdd,
  channelShuffleConcat,
  maxPoolPadded,
  squeezeExcite,
  type EltwiseActivation,
  type SqueezeExciteGate,
} from './fused-ops';

registerWasmKernels();
registerConvGradients();
registerTrainKernels();
registerTanhGradient();
registerReluGradients();

/** Resolves once the active backend is initialised (wasm's binary is compiled asynchronously). */
export function ready(): Promise<void> {
  return tf.ready();
}
