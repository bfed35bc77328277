/**
 * @cnn/tensor: the engine every cnn package computes on.
 *
 * - `tf`: the tfjs-core namespace, with every gradient and chained op registered.
 * - `setBackend('wasm' | 'cuda' | 'cpu' | 'auto')`, `getBackend()`, `backendInfo()`.
 * - `conv2d` with groups, stride, dilation and padding of every kind, trainable on every backend;
 *   on wasm, cnn's SIMD kernels add the training kernels tfjs lacks.
 *
 * @packageDocumentation
 * @module @cnn/tensor
 */
import { tf } from './tf';
import { registerWasmKernels } from './wasm/register';
import { registerConvGradients } from './conv';

export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, DataType } from './tf';
export { setBackend, setThreads, getBackend, backendInfo, type BackendName, type BackendInfo } from './backend';
export { CudaBackendError, setCudaEnvironment, type CudaFailure, type CudaEnvironment } from './cuda';
export { conv2d, conv2dBackpropInput, conv2dBackpropFilter } from './conv';
export type { ConvOptions, Padding } from './conv-options';
export { fusedActivation, fusedAdd, channelShuffleConcat, type EltwiseActivation } from './fused-ops';
export { setWasmPaths } from './browser-wasm-paths';

registerWasmKernels();
registerConvGradients();

/** Resolves once the active backend is initialised (wasm's binary is compiled asynchronously). */
export function ready(): Promise<void> {
  return tf.ready();
}
