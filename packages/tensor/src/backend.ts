import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from './tf';
import { loadCuda, CUDA_TFJS_BACKEND } from './cuda';
import { prepareWasmKernels } from './wasm/module';
import { withBundledWasmBinaries } from './browser-wasm-paths';

/** Names accepted by {@link setBackend}. */
export type BackendName = 'wasm' | 'cuda' | 'cpu' | 'auto';

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
}

const KNOWN: readonly BackendName[] = ['wasm', 'cuda', 'cpu', 'auto'];
let cudaDevice = '';

/**
 * Chooses the backend every cnn package computes on.
 *
 * - `'wasm'` (the default): WebAssembly SIMD, with cnn's training and grouped-convolution kernels.
 * - `'cuda'`: `@tensorflow/tfjs-node-gpu` (an optional peer dependency; loaded only here). Throws a
 *   {@link CudaBackendError} that says what is missing when it cannot be used.
 * - `'cpu'`: tfjs's pure-JavaScript backend, slow but a simple reference.
 * - `'auto'`: CUDA where it works, else wasm, with a one-line notice on stderr saying why.
 *
 * @returns the backend now active (`'wasm'`, `'cuda'` or `'cpu'`).
 * @example
 * await setBackend('wasm');
 * backendInfo(); // { backend: 'wasm', simd: true, threads: 1, ... }
 */
export async function setBackend(name: BackendName = 'wasm'): Promise<Exclude<BackendName, 'auto'>> {
  if (!KNOWN.includes(name)) {
    throw new Error(`setBackend: unknown backend '${String(name)}'; expected one of ${KNOWN.map((k) => `'${k}'`).join(', ')}`);
  }
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
  await withBundledWasmBinaries(() => activate(name));
  if (name === 'wasm') await prepareWasmKernels(tf.backend());
  return name;
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
    const simd = Boolean(tf.env().features['WASM_HAS_SIMD_SUPPORT']);
    const wasm = (tf.backend() as unknown as { wasm: { _get_threads_count?: () => number } }).wasm;
    const threads = typeof wasm._get_threads_count === 'function' ? wasm._get_threads_count() : 1;
    return { backend, tfjsBackend, simd, threads, device: `WebAssembly${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}` };
  }
  if (backend === 'cuda') return { backend, tfjsBackend, simd: false, threads: 1, device: cudaDevice || 'CUDA' };
  return { backend, tfjsBackend, simd: false, threads: 1, device: 'JavaScript (main thread)' };
}
