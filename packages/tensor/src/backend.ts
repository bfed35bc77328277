import '@tensorflow/tfjs-backend-cpu';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from './tf';
import { loadCuda, CUDA_TFJS_BACKEND } from './cuda';
import { alignAllocations, disposeWasmKernels, prepareWasmKernels } from './wasm/module';
import { withBundledWasmBinaries } from './browser-wasm-paths';
import { loadThreadedWasm, type ThreadedModule } from './wasm/threaded';
import { getPlatform, threadsUnavailable } from './wasm/platform';
import { describeAdapter, loadWebGpu, probeHardwareAdapter, webGpuAdapter, type WebGpuAdapterInfo } from './webgpu';
import { isNode } from './cuda/runtime';
import { TensorArgumentError } from './errors';

/** Names accepted by {@link setBackend}. */
export type BackendName = 'wasm' | 'cuda' | 'cpu' | 'webgpu' | 'auto';

/** What {@link backendInfo} reports about the active backend. */
export interface BackendInfo {
  /** Our name for the backend: `'wasm'`, `'cuda'` or `'cpu'` (or tfjs's own name for any other). */
  backend: string;
  /** tfjs's internal backend name (`'tensorflow'` for CUDA). */
  tfjsBackend: string;
  /** Whether WebAssembly SIMD is in use (wasm only). */
  simd: boolean;
  /** Threads the backend computes with. */
  threads: number;
  /** A human-readable description of where the math runs. */
  device: string;
  /** The WebGPU adapter (vendor, architecture, ...), on the 'webgpu' backend only. */
  adapter?: WebGpuAdapterInfo;
}

const KNOWN: readonly BackendName[] = ['wasm', 'cuda', 'cpu', 'webgpu', 'auto'];
let cudaDevice = '';

/**
 * Chooses the backend every cnn package computes on.
 *
 * - `'wasm'` (the default): WebAssembly SIMD, with cnn's training and grouped-convolution kernels.
 * - `'cuda'`: `@tensorflow/tfjs-node-gpu` (an optional peer dependency; loaded only here). Throws a
 *   {@link CudaBackendError} that says what is missing when it cannot be used.
 * - `'cpu'`: tfjs's pure-JavaScript backend, slow but a simple reference.
 * - `'webgpu'`: tfjs's WebGPU backend (loaded only here), on `navigator.gpu` in a browser and on Dawn (the optional
 *   peer dependency `webgpu`) in Node.js. Throws a {@link WebGpuBackendError} that says what is missing when there is
 *   no WebGPU or no adapter. Runs on any adapter, software ones (SwiftShader) included.
 * - `'auto'`: in Node.js CUDA where it works, else wasm; in a browser WebGPU on a hardware adapter (never a fallback or
 *   software one), else wasm; with a one-line notice saying why.
 *
 * @returns the backend now active (`'wasm'`, `'cuda'`, `'cpu'` or `'webgpu'`).
 * @example
 * await setBackend('wasm');
 * backendInfo(); // { backend: 'wasm', simd: true, threads: 1, ... }
 */
export async function setBackend(name: BackendName = 'wasm'): Promise<Exclude<BackendName, 'auto'>> {
  if (!KNOWN.includes(name)) {
    throw new TensorArgumentError(
      `setBackend: unknown backend '${String(name)}'; expected one of ${KNOWN.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  if (name === 'auto' && !isNode()) return autoInBrowser();
  if (name === 'webgpu') return activateWebGpu();
  if (name === 'auto') {
    try {
      return await setBackend('cuda');
    } catch (err) {
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      console.warn(`cnn: CUDA backend unavailable (${why}); using wasm`);
      return setBackend('wasm');
    }
  }
  if (name === 'cuda') {
    cudaDevice = await loadCuda();
    await activate(CUDA_TFJS_BACKEND);
    return 'cuda';
  }
  if (name === 'cpu') {
    await activate('cpu');
    return 'cpu';
  }
  await withBundledWasmBinaries(activateWasm);
  alignAllocations(tf.backend());
  await prepareWasmKernels(tf.backend());
  return name;
}

/** Threads asked for with {@link setThreads}; undefined: every core (or CNN_THREADS, unless setThreads was called). */
let requestedThreads: number | undefined;
/** Whether {@link setThreads} was called: its choice, `'auto'` included, wins over {@link THREADS_ENV}. */
let threadsChosen = false;
/** CNN_THREADS as read at the first wasm set-up: a count, 'auto', or null before it is read. */
let envThreads: number | 'auto' | null = null;

/**
 * The environment variable that chooses the wasm backend's threads for any program, as {@link setThreads} does: a
 * whole number from 1 to 1024, or `auto` (every core). Read once, when the wasm backend is first set up (Node only);
 * a call of `setThreads` wins over it. A bad value makes `setBackend('wasm')` throw a {@link ThreadsEnvError}.
 */
export const THREADS_ENV = 'CNN_THREADS';

/** A {@link THREADS_ENV} value that is not a whole number from 1 to 1024 or `auto`: names the variable and the value. */
export class ThreadsEnvError extends Error {
  /** The value as set. */
  readonly value: string;
  /** @param value - the variable's value. */
  constructor(value: string) {
    super(
      `${THREADS_ENV} must be a whole number of threads from 1 to 1024, or 'auto'; got ${JSON.stringify(value.slice(0, 40))}`,
    );
    this.name = 'ThreadsEnvError';
    this.value = value;
  }
}

/** {@link THREADS_ENV}'s thread count (undefined: unset or 'auto'), read the first time it is asked for. */
function threadsFromEnv(): number | undefined {
  if (envThreads === null) {
    const raw = typeof process !== 'undefined' ? process.env?.[THREADS_ENV] : undefined;
    if (raw === undefined || raw.trim() === '' || raw.trim() === 'auto') envThreads = 'auto';
    else {
      const n = Number(raw.trim());
      if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 1024) throw new ThreadsEnvError(raw);
      envThreads = n;
    }
  }
  return envThreads === 'auto' ? undefined : envThreads;
}

/** The pool size the wasm backend is set up with: setThreads's choice, else CNN_THREADS, else every core. */
async function wantedThreads(): Promise<number> {
  const env = threadsChosen ? undefined : threadsFromEnv();
  return requestedThreads ?? env ?? (await getPlatform()).cores;
}
/** Pool size of cnn's threaded backend while it is the one registered as 'wasm' (0: tfjs's own). */
let registeredThreads = 0;
/** Why threads cannot run here, once known. */
let threadsOff: string | undefined;
/** Whether the one-line notice about threadsOff has been printed. */
let noticed = false;

/** tfjs's wasm backend over cnn's threaded module; stops cnn's kernel workers with the module's. */
class ThreadedBackendWasm extends BackendWasm {
  override dispose(): void {
    disposeWasmKernels(this);
    super.dispose();
  }
}

/**
 * Makes 'wasm' the active backend, on the threaded build with the requested pool size when this
 * platform can run it, else on tfjs's single-threaded build with a one-line notice saying why.
 */
async function activateWasm(): Promise<void> {
  const want = await wantedThreads();
  if (registeredThreads !== want && !(threadsOff && registeredThreads === 0)) {
    let module: ThreadedModule | undefined;
    let why = threadsUnavailable();
    if (!why) {
      try {
        module = await loadThreadedWasm(want);
      } catch (err) {
        why = `the threaded module did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
    }
    if (module) {
      if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
      let preloaded: ThreadedModule | undefined = module;
      tf.registerBackend(
        'wasm',
        async () => {
          const m = preloaded ?? (await loadThreadedWasm(want));
          preloaded = undefined;
          return new ThreadedBackendWasm(m as unknown as ConstructorParameters<typeof BackendWasm>[0]);
        },
        2,
      );
      registeredThreads = want;
    } else if (registeredThreads) {
      throw new Error(`setBackend: cannot start the wasm backend with ${want} threads (${why})`);
    } else {
      threadsOff = why;
    }
  }
  if (threadsOff && registeredThreads === 0 && want > 1 && !noticed) {
    noticed = true;
    console.warn(`cnn: wasm threads unavailable (${threadsOff}); using one thread`);
  }
  await activate('wasm');
}

/**
 * Chooses how many threads the wasm backend computes with: tfjs's kernels (XNNPACK's thread pool) and
 * cnn's own kernels alike; a call wins over the {@link THREADS_ENV} environment variable. The default, `'auto'`
 * (or CNN_THREADS unset), is every core the platform reports
 * (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser). Threads need
 * shared memory: Node always has it, a browser page only when cross-origin isolated; elsewhere the
 * backend runs on one thread and `setBackend('wasm')` says why in a one-line notice.
 *
 * Takes effect at the next `setBackend('wasm')`, or at once when wasm is the active backend: the
 * backend is then re-created with the new pool, which releases the tensors that lived on it, so
 * choose the count before creating tensors.
 *
 * @param threads a whole number from 1 to 1024, or `'auto'`.
 * @returns the threads the wasm backend will use (or uses, when active).
 * @example
 * await setThreads(1);     // reproducible single-thread timing
 * await setBackend('wasm');
 * backendInfo().threads;   // 1
 */
export async function setThreads(threads: number | 'auto'): Promise<number> {
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= 1024)) {
    throw new TensorArgumentError(
      `setThreads: expected a whole number of threads from 1 to 1024, or 'auto'; got ${typeof threads === 'number' ? threads : JSON.stringify(threads)}`,
    );
  }
  requestedThreads = threads === 'auto' ? undefined : threads;
  threadsChosen = true;
  if (tf.getBackend() === 'wasm') {
    await setBackend('wasm');
    return backendInfo().threads;
  }
  return threadsOff ? 1 : (requestedThreads ?? (await getPlatform()).cores);
}

async function activate(tfjsName: string): Promise<void> {
  const ok = await tf.setBackend(tfjsName);
  if (!ok) throw new Error(`setBackend: the '${tfjsName}' backend failed to initialise`);
  await tf.ready();
}

/** The active backend, in cnn's names (`'wasm'`, `'cuda'`, `'cpu'`), or tfjs's name for any other. */
export function getBackend(): string {
  const name = tf.getBackend();
  return name === CUDA_TFJS_BACKEND ? 'cuda' : name;
}

/** Describes the active backend: its name, SIMD, thread count and device. */
export function backendInfo(): BackendInfo {
  const tfjsBackend = tf.getBackend();
  const backend = getBackend();
  if (tfjsBackend === 'wasm') {
    // cnn's threaded backend always runs tfjs's threaded-SIMD build.
    const simd = tf.backend() instanceof ThreadedBackendWasm || Boolean(tf.env().features.WASM_HAS_SIMD_SUPPORT);
    const wasm = (tf.backend() as unknown as { wasm: { _get_threads_count?: () => number } }).wasm;
    const threads = typeof wasm._get_threads_count === 'function' ? wasm._get_threads_count() : 1;
    return {
      backend,
      tfjsBackend,
      simd,
      threads,
      device: `WebAssembly${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`,
    };
  }
  if (backend === 'cuda') return { backend, tfjsBackend, simd: false, threads: 1, device: cudaDevice || 'CUDA' };
  if (backend === 'webgpu') return webGpuInfo();
  return { backend, tfjsBackend, simd: false, threads: 1, device: 'JavaScript (main thread)' };
}

/** `setBackend('webgpu')`: registers tfjs's WebGPU backend over a device (once) and activates it. */
async function activateWebGpu(): Promise<'webgpu'> {
  await loadWebGpu();
  await activate('webgpu');
  return 'webgpu';
}

/** `setBackend('auto')` in a browser: WebGPU on a hardware adapter, else wasm, with a notice saying why. */
async function autoInBrowser(): Promise<'webgpu' | 'wasm'> {
  const probe = await probeHardwareAdapter();
  if (probe.info) {
    try {
      return await activateWebGpu();
    } catch (err) {
      probe.why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
  }
  console.warn(`cnn: WebGPU not used (${probe.why}); using wasm`);
  return (await setBackend('wasm')) as 'wasm';
}

function webGpuInfo(): BackendInfo {
  const adapter = webGpuAdapter();
  return {
    backend: 'webgpu',
    tfjsBackend: 'webgpu',
    simd: false,
    threads: 1,
    device: adapter ? describeAdapter(adapter) : 'WebGPU',
    ...(adapter ? { adapter: { ...adapter } } : {}),
  };
}
