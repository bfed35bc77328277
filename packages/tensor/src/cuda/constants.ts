// What the 'cuda' backend is made of: the package that provides it, the version cnn is built against, the tfjs backend
// it registers and the shared libraries it needs.

/** The tfjs backend name that `@tensorflow/tfjs-node-gpu` registers (cnn calls it `'cuda'`). */
export const CUDA_TFJS_BACKEND = 'tensorflow';

/** The npm package that provides the CUDA backend. */
export const CUDA_PACKAGE = '@tensorflow/tfjs-node-gpu';

/** The version of {@link CUDA_PACKAGE} that cnn is built and tested against (it matches `@tensorflow/tfjs-core`). */
export const CUDA_PACKAGE_VERSION = '4.22.0';

/**
 * The shared libraries TensorFlow 2.9.1 (inside `@tensorflow/tfjs-node-gpu` 4.22.0) opens to use a GPU: the CUDA 11.2
 * runtime and maths libraries and cuDNN 8. TensorFlow looks for exactly these file names; CUDA 12 and cuDNN 9 do not
 * provide them.
 */
export const CUDA_REQUIRED_LIBRARIES: readonly string[] = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];
