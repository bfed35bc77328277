// The 'cuda' backend: loads the optional peer dependency @tensorflow/tfjs-node-gpu on request, checks that it can
// really run on an NVIDIA GPU, and turns every way that can fail into a CudaBackendError that says what to install.
//
// Nothing here may pull Node-only modules into a bundle: the package and Node's own modules are loaded through
// `dynamicImport`, whose specifier is not a string literal, so tsup/esbuild, Vite and webpack leave it alone.
import { tf } from './tf';

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
  if (!hasBackendFactory(CUDA_TFJS_BACKEND)) {
    throw new CudaBackendError(
      'addon-missing',
      `CUDA backend (addon-missing): ${CUDA_PACKAGE} was imported but registered no tfjs backend named ` +
        `'${CUDA_TFJS_BACKEND}' with cnn's @tensorflow/tfjs-core; make every copy of @tensorflow/tfjs-core ` +
        `${CUDA_PACKAGE_VERSION} (check with \`npm ls @tensorflow/tfjs-core\`, then \`npm dedupe\`) and reinstall ` +
        `\`npm install ${CUDA_PACKAGE}@${CUDA_PACKAGE_VERSION}\`.\n` +
        `This usually means two incompatible copies of @tensorflow/tfjs-core are loaded (the package registered its ` +
        `backend with the other one), or a bundler replaced or tree-shook the package.`,
    );
  }
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

// ---------------------------------------------------------------------------------------------------------------------
// Classifying the error thrown by importing the package

const CUDA_LIBRARY_PATTERN = /lib(cudart|cudnn|cublas|cublasLt|cufft|curand|cusolver|cusparse|cuda)\.so[.\d]*/;
const NATIVE_LOAD_PATTERN =
  /dlopen|\.node\b(?!\.js)|cannot open shared object file|The specified module could not be found|undefined symbol|wrong ELF class|invalid ELF header|Module did not self-register|was compiled against a different Node\.js version|GLIBC_\d/i;

const UNRESOLVED_PACKAGE_PATTERN =
  /(?:Could not resolve|Failed to resolve(?: import| module specifier)?|Failed to load url) ["']?@tensorflow\/tfjs-node-gpu["' ]/;

function classifyImportError(err: unknown): unknown {
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

function cudaLibraryError(missing: readonly string[], err: unknown, gpus?: readonly string[]): CudaBackendError {
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
      `${gpus && gpus.length ? ` although the driver lists ${gpus.join(', ')}` : ''}, so a CUDA or cuDNN library ` +
      `is missing or of the wrong version (its stderr names it, e.g. "Could not load dynamic library ` +
      `'libcudart.so.11.0'"); install CUDA 11.2 and cuDNN 8.1 and put them on the library path (LD_LIBRARY_PATH).`;
  }
  const original = err === undefined ? '' : `\nOriginal error: ${firstLine(err instanceof Error ? err.message : String(err))}`;
  return new CudaBackendError('cuda-library', `${first}\n${detail}${original}`, err);
}

function noGpuError(): CudaBackendError {
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
// Defaults: importing the package, finding GPUs and CUDA libraries

/**
 * `import(specifier)` that bundlers leave alone: the specifier is a parameter, never a literal, and the comments keep
 * Vite and webpack quiet. esbuild keeps `import()` as is in both its ESM and CJS output, so the CJS build also loads
 * the package with Node's own loader, at run time.
 */
function dynamicImport<T = unknown>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

async function importCudaPackage(): Promise<unknown> {
  if (!isNode()) {
    throw new CudaBackendError(
      'not-installed',
      `CUDA backend (not-installed): ${CUDA_PACKAGE} runs only in Node.js (Linux x64 with an NVIDIA GPU), not here; ` +
        `use the 'wasm' backend in a browser.`,
    );
  }
  // Built at run time so that no bundler sees a literal specifier.
  const specifier = ['@tensorflow', 'tfjs-node-gpu'].join('/');
  return dynamicImport(specifier);
}

function cudaVisibleDevices(): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.CUDA_VISIBLE_DEVICES;
}

/** One GPU as the NVIDIA driver lists it. */
interface GpuRecord {
  name: string;
  uuid?: string;
}

/** Parses CUDA_VISIBLE_DEVICES as CUDA does: a comma-separated list, read up to the first invalid entry. */
function parseVisibleDevices(value: string): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (/^\d+$/.test(entry) || /^(GPU|MIG)-[0-9a-fA-F-]+/.test(entry)) out.push(entry);
    else break;
  }
  return out;
}

function selectVisible(gpus: GpuRecord[], value: string | undefined): GpuRecord[] {
  if (value === undefined) return gpus;
  const chosen: GpuRecord[] = [];
  for (const entry of parseVisibleDevices(value)) {
    if (entry.startsWith('MIG-')) {
      // A MIG instance of one of the GPUs; its parent cannot be told from the driver's list, so name them all.
      return gpus;
    }
    const gpu = /^\d+$/.test(entry)
      ? gpus[Number(entry)]
      : gpus.find((g) => g.uuid !== undefined && g.uuid.toLowerCase().startsWith(entry.toLowerCase()));
    if (!gpu) break; // CUDA stops at the first entry that names no device
    if (!chosen.includes(gpu)) chosen.push(gpu);
  }
  return chosen;
}

/** Where {@link listNvidiaGpus} looks; every member has a default. */
export interface ListGpusOptions {
  /** The driver's per-GPU folder. Default `/proc/driver/nvidia/gpus`. */
  procDir?: string;
  /** The `nvidia-smi` executable, asked when `procDir` lists no GPU. Default `nvidia-smi` (found on the PATH). */
  nvidiaSmi?: string;
  /** How long `nvidia-smi` may run, in ms. Default 5000. */
  timeoutMs?: number;
  /** The value of CUDA_VISIBLE_DEVICES to honour. Default: the process's environment (`undefined` = not set). */
  cudaVisibleDevices?: string | undefined;
}

/**
 * The default {@link CudaEnvironment.listGpus}: names of the NVIDIA GPUs this process may use. Reads the `Model:` line
 * of `/proc/driver/nvidia/gpus/<bus id>/information` where the driver provides it, else runs `nvidia-smi -L` (a missing
 * binary or a failing driver means no GPUs). Honours CUDA_VISIBLE_DEVICES: `''` or `'-1'` hide every GPU, indices and
 * `GPU-` UUIDs select GPUs (indices follow the driver's PCI order, which can differ from CUDA's on mixed machines).
 */
export async function listNvidiaGpus(options: ListGpusOptions = {}): Promise<string[]> {
  if (!isNode()) return [];
  const visible = 'cudaVisibleDevices' in options ? options.cudaVisibleDevices : cudaVisibleDevices();
  if (visible !== undefined && parseVisibleDevices(visible).length === 0) return [];
  let gpus = await readProcGpus(options.procDir ?? '/proc/driver/nvidia/gpus');
  if (gpus.length === 0) gpus = await runNvidiaSmi(options.nvidiaSmi ?? 'nvidia-smi', options.timeoutMs ?? 5000);
  return selectVisible(gpus, visible).map((g) => g.name);
}

async function readProcGpus(dir: string): Promise<GpuRecord[]> {
  try {
    const fs = await dynamicImport<typeof import('node:fs/promises')>('node:fs/promises');
    const entries = (await fs.readdir(dir)).sort();
    const gpus: GpuRecord[] = [];
    for (const entry of entries) {
      let text: string;
      try {
        text = await fs.readFile(`${dir}/${entry}/information`, 'utf8');
      } catch {
        continue;
      }
      const name = /^Model:\s*(.+?)\s*$/m.exec(text)?.[1];
      if (!name) continue;
      const uuid = /^GPU UUID:\s*(\S+)/m.exec(text)?.[1];
      gpus.push(uuid ? { name, uuid } : { name });
    }
    return gpus;
  } catch {
    return [];
  }
}

async function runNvidiaSmi(command: string, timeoutMs: number): Promise<GpuRecord[]> {
  const stdout = await run(command, ['-L'], timeoutMs);
  if (stdout === null) return [];
  const gpus: GpuRecord[] = [];
  for (const line of stdout.split('\n')) {
    // "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)"; MIG instances follow, indented, and are skipped.
    const m = /^GPU \d+: (.+?)(?: \(UUID: ([^)]+)\))?\s*$/.exec(line);
    if (m) gpus.push(m[2] ? { name: m[1], uuid: m[2] } : { name: m[1] });
  }
  return gpus;
}

/** Runs a program; resolves its stdout, or null when it is missing, fails or times out. */
async function run(command: string, args: string[], timeoutMs: number): Promise<string | null> {
  try {
    const cp = await dynamicImport<typeof import('node:child_process')>('node:child_process');
    return await new Promise<string | null>((resolve) => {
      cp.execFile(command, args, { timeout: timeoutMs, encoding: 'utf8', windowsHide: true }, (error, stdout) => {
        resolve(error ? null : stdout);
      });
    });
  } catch {
    return null;
  }
}

/**
 * The default {@link CudaEnvironment.missingCudaLibraries}: which of {@link CUDA_REQUIRED_LIBRARIES} are neither in
 * the dynamic linker's cache (`ldconfig -p`) nor in a folder of LD_LIBRARY_PATH. Linux only; elsewhere, or when the
 * cache cannot be read, it returns only what it could check.
 */
export async function findMissingCudaLibraries(): Promise<string[]> {
  if (!isNode()) return [];
  const proc = (globalThis as { process?: { platform?: string; env?: Record<string, string | undefined> } }).process;
  if (proc?.platform !== 'linux') return [];
  const found = new Set<string>();
  const cache = (await run('ldconfig', ['-p'], 5000)) ?? (await run('/sbin/ldconfig', ['-p'], 5000));
  if (cache === null) return [];
  for (const line of cache.split('\n')) {
    const m = /^\s*(\S+)\s+\(/.exec(line);
    if (m) found.add(m[1]);
  }
  const fs = await dynamicImport<typeof import('node:fs/promises')>('node:fs/promises');
  for (const dir of (proc.env?.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    try {
      for (const name of await fs.readdir(dir)) found.add(name);
    } catch {
      // not a readable folder
    }
  }
  return CUDA_REQUIRED_LIBRARIES.filter((lib) => !found.has(lib));
}
