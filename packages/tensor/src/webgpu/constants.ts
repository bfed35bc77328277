// What the 'webgpu' backend is made of: tfjs's WebGPU backend (a dependency, loaded only by setBackend('webgpu')) and,
// in Node.js, Dawn from the npm package `webgpu` (an optional peer dependency).

/** The tfjs backend name of WebGPU (cnn's name is the same). */
export const WEBGPU_TFJS_BACKEND = 'webgpu';

/** The npm package that provides WebGPU in Node.js: Dawn, Chromium's WebGPU, as a prebuilt `dawn.node`. */
export const WEBGPU_NODE_PACKAGE = 'webgpu';

/** The version of {@link WEBGPU_NODE_PACKAGE} cnn is tested against. */
export const WEBGPU_NODE_PACKAGE_VERSION = '0.6.2';
