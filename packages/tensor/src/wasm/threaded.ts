/**
 * cnn's loader for the threaded-SIMD build of tfjs's wasm backend, in Node and in cross-origin-isolated
 * pages alike. It does what the package's internal `init` does (instantiate the Emscripten module,
 * wrap the C entry points under `module.tfjs`), with a glue transformed at build time
 * (scripts/build-threaded-glue.mjs) so that:
 *  - the thread pool holds `threads` threads, the real core count by default (tfjs halves it);
 *  - workers start from source strings (Node `eval` workers, browser blob: URLs): no files are written,
 *    located or raced for, and it works the same from ESM, CJS and a bundled app;
 *  - sleeping workers do not keep a Node process alive.
 */
import { TFJS_PTHREAD_WORKER, TFJS_THREADED_GLUE } from './tfjs-threaded-glue';
import { getPlatform, type WorkerLike } from './platform';

/** The Emscripten module as `BackendWasm` expects it (plus what cnn reads). */
export interface ThreadedModule {
  // biome-ignore-start lint/suspicious/noConfusingVoidType: Emscripten's exports return a number or nothing, as tfjs types them
  tfjs: Record<string, (...args: number[]) => number | void>;
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number | void;
  // biome-ignore-end lint/suspicious/noConfusingVoidType: -
  PThread: { terminateAllThreads(): void };
  wasmMemory: WebAssembly.Memory;
  _get_threads_count?: () => number;
}

type Factory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

const START_TIMEOUT_MS = 30_000;
let compiled: Promise<WebAssembly.Module> | undefined;
let factory: Factory | undefined;

function glueFactory(require: ((id: string) => unknown) | undefined): Factory {
  // The glue reads `require`, `__filename` and `__dirname` in Node; they are parameters here, not globals.
  factory ??= new Function(
    'require',
    '__filename',
    '__dirname',
    'module',
    'exports',
    `${TFJS_THREADED_GLUE}\nreturn WasmBackendModuleThreadedSimd;`,
  )(require, '', '.', undefined, undefined) as Factory;
  return factory;
}

/**
 * Instantiates tfjs's threaded-SIMD module with a pool of `threads` threads (the calling thread
 * and `threads - 1` workers). Rejects, with a reason fit for a one-line notice, when a worker
 * cannot start or the binary cannot be loaded.
 */
export async function loadThreadedWasm(threads: number): Promise<ThreadedModule> {
  const platform = await getPlatform();
  compiled ??= platform.compileBinary();
  let binary: WebAssembly.Module;
  try {
    binary = await compiled;
  } catch (err) {
    compiled = undefined;
    throw err;
  }
  const make = glueFactory(platform.require);
  const workers: WorkerLike[] = [];
  let failed: (err: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => {}); // a worker error after start-up is the glue's to report
  const timer = setTimeout(
    () => failed(new Error(`its workers did not start within ${START_TIMEOUT_MS / 1000} s`)),
    START_TIMEOUT_MS,
  );
  const config = {
    cnnPoolSize: Math.max(1, threads - 1),
    cnnLogicalCores: 2 * threads,
    cnnGlue: TFJS_THREADED_GLUE,
    cnnNewWorker: () => {
      const w = platform.startWorker(TFJS_PTHREAD_WORKER, (err) =>
        failed(err instanceof Error ? err : new Error(`a worker failed: ${String(err)}`)),
      );
      workers.push(w);
      return w;
    },
    instantiateWasm(
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) {
      WebAssembly.instantiate(binary, imports).then((instance) => receive(instance, binary), failed);
      return {};
    },
    locateFile: (path: string) => path,
    onAbort: (what: unknown) => failed(new Error(`the module aborted: ${String(what)}`)),
  };
  let module: ThreadedModule;
  try {
    module = await Promise.race([make(config), failure]);
  } catch (err) {
    for (const w of workers) w.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}
