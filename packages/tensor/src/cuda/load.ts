// Loading the 'cuda' backend: importing @tensorflow/tfjs-node-gpu on request, through an environment that tests can
// replace, and checking that it really runs on an NVIDIA GPU before cnn uses it.
import { tf } from '../tf';
import { CUDA_TFJS_BACKEND } from './constants';
import { findMissingCudaLibraries, listNvidiaGpus } from './device';
import {
  classifyImportError,
  cudaLibraryError,
  noGpuError,
  notNodeError,
  notRegisteredError,
  type CudaBackendError,
  type CudaFailure,
} from './errors';
import { dynamicImport, isNode } from './runtime';

/**
 * What `loadCuda` needs from the outside world. Tests replace parts of it with {@link setCudaEnvironment}.
 */
export interface CudaEnvironment {
  /** Imports `@tensorflow/tfjs-node-gpu`, which registers the `'tensorflow'` backend as a side effect. */
  importModule(): Promise<unknown>;
  /** Names of the NVIDIA GPUs visible to this process; empty when there are none. Default: `listNvidiaGpus`. */
  listGpus(): Promise<string[]>;
  /**
   * Which of `CUDA_REQUIRED_LIBRARIES` cannot be found; asked only when TensorFlow loaded but found no GPU
   * although the driver lists one. Default: `findMissingCudaLibraries`.
   */
  missingCudaLibraries(): Promise<string[]>;
}

const defaultEnvironment: CudaEnvironment = {
  importModule: () => importCudaPackage(),
  listGpus: () => listNvidiaGpus(),
  missingCudaLibraries: () => findMissingCudaLibraries(),
};
let environment: CudaEnvironment = defaultEnvironment;

/**
 * Replaces parts of the {@link CudaEnvironment} (for tests, or to plug in another GPU probe). Members left out keep
 * their defaults; `null` restores all defaults.
 */
export function setCudaEnvironment(env: Partial<CudaEnvironment> | null): void {
  environment = env === null ? defaultEnvironment : { ...defaultEnvironment, ...env };
}

/**
 * Loads `@tensorflow/tfjs-node-gpu` and checks that it can compute on an NVIDIA GPU. Called by `setBackend('cuda')`,
 * which then activates the {@link CUDA_TFJS_BACKEND} backend.
 *
 * @returns a one-line description of the device, e.g. `'CUDA: NVIDIA H100 80GB HBM3'` (several GPUs joined with `', '`).
 * @throws {@link CudaBackendError} naming the {@link CudaFailure} and what to install or change. An error from the
 *   import that is none of the known cases is rethrown unchanged.
 */
export async function loadCuda(): Promise<string> {
  const env = environment;
  const before = tf.getBackend() as string | null | undefined;
  try {
    await env.importModule();
  } catch (err) {
    throw classifyImportError(err);
  }
  try {
    return await checkLoaded(env);
  } catch (err) {
    // Importing the package made 'tensorflow' the active backend; do not leave it active after a failure.
    if (before && tf.getBackend() !== before) {
      try {
        await tf.setBackend(before);
      } catch {
        // Keep the original error.
      }
    }
    throw err;
  }
}

async function checkLoaded(env: CudaEnvironment): Promise<string> {
  if (!hasBackendFactory(CUDA_TFJS_BACKEND)) throw notRegisteredError();
  const gpus = await env.listGpus();
  if (gpus.length === 0) throw noGpuError();
  // The package falls back to TensorFlow's CPU kernels, with only a warning on stderr, when TensorFlow cannot open
  // the CUDA libraries; its backend then reports isUsingGpuDevice === false. Catch that here instead of claiming a GPU.
  const instance = findBackendInstance(CUDA_TFJS_BACKEND);
  if (instance && instance.isUsingGpuDevice === false) {
    const missing = await env.missingCudaLibraries().catch(() => [] as string[]);
    throw cudaLibraryError(missing, undefined, gpus);
  }
  return `CUDA: ${gpus.join(', ')}`;
}

function hasBackendFactory(name: string): boolean {
  try {
    return tf.findBackendFactory(name) != null;
  } catch {
    return false;
  }
}

function findBackendInstance(name: string): { isUsingGpuDevice?: unknown } | null {
  try {
    return tf.findBackend(name) as unknown as { isUsingGpuDevice?: unknown } | null;
  } catch {
    return null;
  }
}

/** The default {@link CudaEnvironment.importModule}: imports the package, in Node.js only. */
async function importCudaPackage(): Promise<unknown> {
  if (!isNode()) throw notNodeError();
  // Built at run time so that no bundler sees a literal specifier.
  const specifier = ['@tensorflow', 'tfjs-node-gpu'].join('/');
  return dynamicImport(specifier);
}
