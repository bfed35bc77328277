// The 'webgpu' backend: tfjs's WebGPU backend over navigator.gpu (browsers) or Dawn (Node.js, the optional peer
// dependency `webgpu`), loaded only by setBackend('webgpu'); every failure a WebGpuBackendError that says why.
//
//   constants.ts  the packages and the tfjs backend name
//   errors.ts     WebGpuBackendError and its messages
//   load.ts       finding WebGPU, the adapter and the device; registering tfjs's backend over them
export { WEBGPU_NODE_PACKAGE, WEBGPU_NODE_PACKAGE_VERSION, WEBGPU_TFJS_BACKEND } from './constants';
export { WebGpuBackendError, type WebGpuFailure } from './errors';
export {
  describeAdapter,
  loadWebGpu,
  probeHardwareAdapter,
  webGpuAdapter,
  type WebGpuAdapterInfo,
} from './load';
