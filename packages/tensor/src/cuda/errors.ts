// Every way the 'cuda' backend can fail, as a CudaBackendError whose first line names the case and the fix: the class,
// the classification of the error thrown by importing the package, and the messages of the checks after it.
import { CUDA_PACKAGE, CUDA_PACKAGE_VERSION, CUDA_REQUIRED_LIBRARIES, CUDA_TFJS_BACKEND } from './constants';
import { cudaVisibleDevices, parseVisibleDevices } from './device';

/**
 * Why the CUDA backend cannot be used:
 *
 * - `'not-installed'`: `@tensorflow/tfjs-node-gpu` is not installed (or not usable here, e.g. in a browser).
 * - `'addon-missing'`: the package is installed but its native addon (`tfjs_binding.node`) or libtensorflow did not load,
 *   or it did not register its `'tensorflow'` backend with cnn's tfjs-core.
 * - `'cuda-library'`: a CUDA or cuDNN library is missing or of the wrong version.
 * - `'no-gpu'`: no NVIDIA GPU is visible (driver not loaded, no GPU, or `CUDA_VISIBLE_DEVICES` hides them).
 */
export type CudaFailure = 'not-installed' | 'addon-missing' | 'cuda-library' | 'no-gpu';

/**
 * The error `loadCuda` (and so `setBackend('cuda')`) throws when the CUDA backend cannot be used. Its first line
 * names the {@link CudaFailure} and the fix; further lines give details and the original error.
 */
export class CudaBackendError extends Error {
  /** Which of the four known failures this is. */
  readonly reason: CudaFailure;
  /** The error that caused this one (the error thrown by importing the package), if there was one. */
  override readonly cause: unknown;

  /**
   * @param reason which failure this is.
   * @param message the full message: first line the case and the fix, then details.
   * @param cause the original error, if any.
   */
  constructor(reason: CudaFailure, message: string, cause?: unknown) {
    super(message);
    this.name = 'CudaBackendError';
    this.reason = reason;
    this.cause = cause;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Classifying the error thrown by importing the package

const CUDA_LIBRARY_PATTERN = /lib(cudart|cudnn|cublas|cublasLt|cufft|curand|cusolver|cusparse|cuda)\.so[.\d]*/;
const NATIVE_LOAD_PATTERN =
  /dlopen|\.node\b(?!\.js)|cannot open shared object file|The specified module could not be found|undefined symbol|wrong ELF class|invalid ELF header|Module did not self-register|was compiled against a different Node\.js version|GLIBC_\d/i;

const UNRESOLVED_PACKAGE_PATTERN =
  /(?:Could not resolve|Failed to resolve(?: import| module specifier)?|Failed to load url) ["']?@tensorflow\/tfjs-node-gpu["' ]/;

export function classifyImportError(err: unknown): unknown {
  if (err instanceof CudaBackendError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null | undefined)?.code;

  const library = CUDA_LIBRARY_PATTERN.exec(message);
  if (library) return cudaLibraryError([library[0].replace(/\.+$/, '')], err);

  if (message.includes('tfjs_binding.node')) return addonError(err, message);

  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(CUDA_PACKAGE)) {
    return notInstalledError(err, message);
  }
  // Bundler-made loaders (Vite's and so Vitest's module runner) fail without a code.
  if (UNRESOLVED_PACKAGE_PATTERN.test(message)) return notInstalledError(err, message);

  if (NATIVE_LOAD_PATTERN.test(message)) return addonError(err, message);
  return err;
}

function notInstalledError(err: unknown, message: string): CudaBackendError {
  const install = `npm install ${CUDA_PACKAGE}@${CUDA_PACKAGE_VERSION}`;
  // "Cannot find package 'X' imported from ..." (ESM) or "Cannot find module 'X'\nRequire stack: ..." (CJS)
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  const incomplete = missing !== undefined && missing !== CUDA_PACKAGE && !missing.startsWith(`${CUDA_PACKAGE}/`);
  const what = incomplete
    ? `${CUDA_PACKAGE} is installed incompletely (it cannot find '${missing}')`
    : `${CUDA_PACKAGE} is not installed`;
  return new CudaBackendError(
    'not-installed',
    `CUDA backend (not-installed): ${what}; install it with \`${install}\` (its install script downloads ` +
      `libtensorflow 2.9.1, so the machine needs network access while installing).\n` +
      `It is an optional peer dependency of @cnn/tensor, so npm does not install it for you. It runs on Linux x64 ` +
      `with an NVIDIA GPU, NVIDIA driver > 450, CUDA 11.2 and cuDNN 8.1.\n` +
      `Original error: ${firstLine(message)}`,
    err,
  );
}

function addonError(err: unknown, message: string): CudaBackendError {
  return new CudaBackendError(
    'addon-missing',
    `CUDA backend (addon-missing): ${CUDA_PACKAGE} is installed but its native addon (tfjs_binding.node, with ` +
      `libtensorflow 2.9.1) did not load; run \`npm rebuild ${CUDA_PACKAGE}\` with network access so its install ` +
      `script downloads them again.\n` +
      `This happens when it was installed with --ignore-scripts, when the download failed or was blocked, or when ` +
      `node_modules was copied from another platform or Node.js version. If rebuilding does not help, reinstall with ` +
      `\`npm install ${CUDA_PACKAGE}@${CUDA_PACKAGE_VERSION}\` and read its install output.\n` +
      `Original error: ${message.trim()}`,
    err,
  );
}

export function cudaLibraryError(missing: readonly string[], err: unknown, gpus?: readonly string[]): CudaBackendError {
  const needs = 'NVIDIA driver > 450, CUDA 11.2 and cuDNN 8.1';
  const detail =
    `${CUDA_PACKAGE} ${CUDA_PACKAGE_VERSION} runs TensorFlow 2.9.1, which needs ${needs}, and opens these ` +
    `libraries by exact name: ${CUDA_REQUIRED_LIBRARIES.join(', ')}. CUDA 12 and cuDNN 9 do not provide them; ` +
    `install the CUDA 11.2 runtime and cuDNN 8.1 for CUDA 11 next to any newer CUDA, and add their lib64 folders ` +
    `to LD_LIBRARY_PATH (for example LD_LIBRARY_PATH=/usr/local/cuda-11.2/lib64:$LD_LIBRARY_PATH).`;
  let first: string;
  if (missing.some((lib) => /^libcuda\.so/.test(lib))) {
    first =
      `CUDA backend (cuda-library): ${missing.join(', ')} could not be loaded; that is the NVIDIA driver's own ` +
      `library: install or load the NVIDIA driver (> 450), and also CUDA 11.2 and cuDNN 8.1 on the library path.`;
  } else if (missing.length > 0) {
    const cudnn = missing.some((lib) => lib.startsWith('libcudnn'));
    first =
      `CUDA backend (cuda-library): ${missing.join(', ')} could not be loaded; install ` +
      `${cudnn ? 'cuDNN 8.1 (for CUDA 11) and CUDA 11.2' : 'CUDA 11.2 and cuDNN 8.1'} and put them on the ` +
      `library path (LD_LIBRARY_PATH); TensorFlow 2.9.1 needs ${needs}.`;
  } else {
    first =
      `CUDA backend (cuda-library): TensorFlow loaded but found no usable GPU` +
      `${gpus?.length ? ` although the driver lists ${gpus.join(', ')}` : ''}, so a CUDA or cuDNN library ` +
      `is missing or of the wrong version (its stderr names it, e.g. "Could not load dynamic library ` +
      `'libcudart.so.11.0'"); install CUDA 11.2 and cuDNN 8.1 and put them on the library path (LD_LIBRARY_PATH).`;
  }
  const original =
    err === undefined ? '' : `\nOriginal error: ${firstLine(err instanceof Error ? err.message : String(err))}`;
  return new CudaBackendError('cuda-library', `${first}\n${detail}${original}`, err);
}

export function noGpuError(): CudaBackendError {
  const visible = cudaVisibleDevices();
  const hidden = visible !== undefined ? ` CUDA_VISIBLE_DEVICES is set to '${visible}'.` : '';
  const hidesAll = visible !== undefined && parseVisibleDevices(visible).length === 0;
  const fix = hidesAll
    ? `CUDA_VISIBLE_DEVICES='${visible}' hides every GPU: unset it or list a GPU (e.g. CUDA_VISIBLE_DEVICES=0)`
    : `install and load the NVIDIA driver (> 450; \`nvidia-smi -L\` must list a GPU), and make sure ` +
      `CUDA_VISIBLE_DEVICES does not hide every GPU`;
  return new CudaBackendError(
    'no-gpu',
    `CUDA backend (no-gpu): no NVIDIA GPU is visible to this process; ${fix}.\n` +
      `cnn looks for GPUs in /proc/driver/nvidia/gpus and with \`nvidia-smi -L\`; in a container the GPU must be ` +
      `passed in (e.g. \`docker run --gpus all\`).${hidden}`,
  );
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

// ---------------------------------------------------------------------------------------------------------------------
// Failures found after the import

/** The package was imported but registered no 'tensorflow' backend with cnn's tfjs-core. */
export function notRegisteredError(): CudaBackendError {
  return new CudaBackendError(
    'addon-missing',
    `CUDA backend (addon-missing): ${CUDA_PACKAGE} was imported but registered no tfjs backend named ` +
      `'${CUDA_TFJS_BACKEND}' with cnn's @tensorflow/tfjs-core; make every copy of @tensorflow/tfjs-core ` +
      `${CUDA_PACKAGE_VERSION} (check with \`npm ls @tensorflow/tfjs-core\`, then \`npm dedupe\`) and reinstall ` +
      `\`npm install ${CUDA_PACKAGE}@${CUDA_PACKAGE_VERSION}\`.\n` +
      `This usually means two incompatible copies of @tensorflow/tfjs-core are loaded (the package registered its ` +
      `backend with the other one), or a bundler replaced or tree-shook the package.`,
  );
}

/** Not in Node.js (a browser): the package cannot run here. */
export function notNodeError(): CudaBackendError {
  return new CudaBackendError(
    'not-installed',
    `CUDA backend (not-installed): ${CUDA_PACKAGE} runs only in Node.js (Linux x64 with an NVIDIA GPU), not here; ` +
      `use the 'wasm' backend in a browser.`,
  );
}
