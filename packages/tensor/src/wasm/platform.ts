/**
 * What the threaded wasm backend needs from the platform it runs on: a way to start a worker from a
 * source string, the compiled threaded-SIMD binary of tfjs, the core count, and (Node) a `require`
 * for the builtins the Emscripten glue uses. Nothing here writes a file or touches a global.
 */
import { threadedBinaryUrl } from '../browser-wasm-paths';

declare const __CNN_BROWSER_BUILD__: boolean | undefined;

/** The part of a Node `Worker` or a Web `Worker` that the loader and the kernel pool use. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
  /** Node only: lets the process exit while the worker sleeps. */
  unref?(): void;
}

export interface Platform {
  /** `'node'` or `'browser'`. */
  kind: 'node' | 'browser';
  /** Logical cores: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser. */
  cores: number;
  /** Node's `require` (for the glue's builtins); undefined in a browser. */
  require: ((id: string) => unknown) | undefined;
  /** Starts a worker running `source` (Node: an `eval` worker; browser: a blob: URL of the source). */
  startWorker(source: string, onError: (err: unknown) => void): WorkerLike;
  /** Compiles tfjs's threaded-SIMD binary. */
  compileBinary(): Promise<WebAssembly.Module>;
}

/**
 * Why threads cannot run here, or undefined when they can. A browser page needs cross-origin
 * isolation for SharedArrayBuffer.
 */
export function threadsUnavailable(): string | undefined {
  const g = globalThis as {
    crossOriginIsolated?: boolean;
    Worker?: unknown;
    process?: { versions?: { node?: string } };
  };
  const node = typeof g.process?.versions?.node === 'string';
  if (typeof SharedArrayBuffer === 'undefined') {
    if (!node && g.crossOriginIsolated === false) {
      return 'the page is not cross-origin isolated; serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';
    }
    return 'SharedArrayBuffer is not available';
  }
  if (!node && typeof g.Worker !== 'function') return 'Web Workers are not available';
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    if (!(m.buffer instanceof SharedArrayBuffer)) return 'this WebAssembly engine has no shared memory';
  } catch {
    return 'this WebAssembly engine has no shared memory (WebAssembly threads)';
  }
  return undefined;
}

let platform: Promise<Platform> | undefined;

/** The platform this code runs on (Node unless this is the browser build). */
export function getPlatform(): Promise<Platform> {
  // Spelled out (not a variable) so that esbuild drops the Node code from the browser build and back.
  if (typeof __CNN_BROWSER_BUILD__ !== 'undefined' && __CNN_BROWSER_BUILD__)
    platform ??= Promise.resolve(browserPlatform());
  else platform ??= nodePlatform();
  return platform;
}

async function nodePlatform(): Promise<Platform> {
  const [{ createRequire }, { Worker }, os, { readFile }] = await Promise.all([
    import('node:module'),
    import('node:worker_threads'),
    import('node:os'),
    import('node:fs/promises'),
  ]);
  const require = createRequire(import.meta.url);
  return {
    kind: 'node',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    require,
    startWorker(source, onError) {
      // Worker sources are CommonJS scripts: a parent started with --input-type=module (an ESM
      // `node -e` program) would hand that option down and make them modules.
      const worker = new Worker(source, { eval: true, execArgv: workerExecArgv(process.execArgv) });
      worker.on('error', onError);
      return worker;
    },
    async compileBinary() {
      const path = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm');
      return WebAssembly.compile(await readFile(path));
    },
  };
}

/** The parent's Node options less `--input-type` (and the `-e` / `-p` program text, not an option for a worker). */
function workerExecArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input-type' || a === '-e' || a === '--eval' || a === '-p' || a === '--print') i++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

function browserPlatform(): Platform {
  const urls = new Map<string, string>();
  return {
    kind: 'browser',
    cores: Math.max(1, navigator.hardwareConcurrency || 1),
    require: undefined,
    startWorker(source, onError) {
      // One blob: URL per source, kept for the page's lifetime (revoking it could race the worker's fetch).
      let url = urls.get(source);
      if (!url) {
        url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
        urls.set(source, url);
      }
      const worker = new Worker(url);
      worker.addEventListener('error', (e) => onError(e.message || e));
      return worker;
    },
    async compileBinary() {
      const url = threadedBinaryUrl();
      const response = await fetch(url, { credentials: 'same-origin' });
      if (!response.ok) throw new Error(`cannot fetch ${url} (HTTP ${response.status})`);
      return WebAssembly.compile(await response.arrayBuffer());
    },
  };
}
