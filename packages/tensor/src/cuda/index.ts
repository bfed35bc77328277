// The 'cuda' backend: loads the optional peer dependency @tensorflow/tfjs-node-gpu on request, checks that it can
// really run on an NVIDIA GPU, and turns every way that can fail into a CudaBackendError that says what to install.
//
//   constants.ts  the package, its version, its tfjs backend name and the CUDA libraries it needs
//   load.ts       loadCuda and its replaceable environment (importing the package, the checks after it)
//   errors.ts     CudaBackendError, and classifying every failure into one of its four cases
//   device.ts     device queries: visible NVIDIA GPUs, missing CUDA libraries
//   runtime.ts    reaching Node.js without pulling Node-only modules into a bundle
export { CUDA_PACKAGE, CUDA_PACKAGE_VERSION, CUDA_REQUIRED_LIBRARIES, CUDA_TFJS_BACKEND } from './constants';
export { CudaBackendError, type CudaFailure } from './errors';
export { findMissingCudaLibraries, listNvidiaGpus, type ListGpusOptions } from './device';
export { loadCuda, setCudaEnvironment, type CudaEnvironment } from './load';
