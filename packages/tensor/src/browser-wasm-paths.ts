/**
 * Browser build only: lets tfjs's wasm backend find its `.wasm` binaries inside a bundled app
 * without anyone copying files by hand.
 *
 * Left alone, `@tensorflow/tfjs-backend-wasm` fetches `tfjs-backend-wasm[-simd|-threaded-simd].wasm`
 * relative to the page (or to the classic script that loaded it), which a bundled app does not
 * serve. `@cnn/tensor`'s browser build ships copies of the three binaries next to itself
 * (`dist/browser/`, copied there by tsup.config.ts) and names them with
 * `new URL('./….wasm', import.meta.url)`, which bundlers (Vite, webpack 5, Parcel) turn into emitted
 * assets with their final URLs. While `setBackend('wasm')` initialises the backend, a request for
 * that default location is answered from those copies instead.
 *
 * A location the user configured with `setWasmPaths` (re-exported from `@cnn/tensor`; a folder
 * prefix such as a CDN, or a map of the three file names) is requested as itself and passes through
 * untouched, so the user's choice always wins. tfjs keeps its configured paths private, so this
 * works at the one place that is observable, the request tfjs makes, instead of calling
 * `setWasmPaths` itself (a file map set here would beat a prefix the user sets later).
 *
 * In the Node builds `__CNN_BROWSER_BUILD__` is `false` (and undefined when vitest runs the
 * sources), so all of this is dead code there: Node reads the binaries from tfjs's own package.
 */

import { setWasmPaths as tfjsSetWasmPaths } from '@tensorflow/tfjs-backend-wasm';

declare const __CNN_BROWSER_BUILD__: boolean | undefined;

/** The classic script that evaluated this bundle (tfjs's glue resolves against it too); '' for module scripts. */
const loadingScript =
  typeof __CNN_BROWSER_BUILD__ !== 'undefined' &&
  __CNN_BROWSER_BUILD__ &&
  typeof document !== 'undefined' &&
  document.currentScript instanceof HTMLScriptElement
    ? document.currentScript.src
    : '';

/**
 * `new URL(name, base)` where `literal` (the same file written as `new URL('./….wasm', import.meta.url)`, the form
 * bundlers rewrite) cannot be evaluated: esbuild's and Rollup's classic-script (`iife`) output has an empty
 * `import.meta`, where the binaries are looked for beside the script that loaded the bundle, else beside the page.
 */
function beside(literal: () => URL, name: string): string {
  try {
    return literal().href;
  } catch {
    const base =
      loadingScript ||
      (typeof document !== 'undefined' ? document.baseURI : typeof location !== 'undefined' ? location.href : '');
    return new URL(name, base).href;
  }
}

/** Where the shipped copies live. The literal `new URL(…, import.meta.url)` form is what bundlers rewrite. */
function bundledBinaries(): Record<string, string> {
  return {
    'tfjs-backend-wasm.wasm': beside(
      () => new URL('./tfjs-backend-wasm.wasm', import.meta.url),
      'tfjs-backend-wasm.wasm',
    ),
    'tfjs-backend-wasm-simd.wasm': beside(
      () => new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url),
      'tfjs-backend-wasm-simd.wasm',
    ),
    'tfjs-backend-wasm-threaded-simd.wasm': beside(
      () => new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url),
      'tfjs-backend-wasm-threaded-simd.wasm',
    ),
  };
}

/** The URLs tfjs requests when no path was configured, each mapped to the shipped copy. */
function defaultLocations(): Map<string, string> {
  const bases: string[] = [];
  if (typeof document !== 'undefined' && document.baseURI) bases.push(document.baseURI);
  else if (typeof location !== 'undefined') bases.push(location.href); // a worker
  if (loadingScript) bases.push(loadingScript);
  const map = new Map<string, string>();
  for (const [name, url] of Object.entries(bundledBinaries())) {
    for (const base of bases) map.set(new URL(name, base).href, url);
  }
  return map;
}

function requestedUrl(input: RequestInfo | URL): string | undefined {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(raw, typeof document !== 'undefined' ? document.baseURI : location.href).href;
  } catch {
    return undefined;
  }
}

/**
 * Runs `activate` (which initialises a tfjs backend) so that, in the browser build, tfjs's request
 * for a wasm binary at its default, page-relative location gets the copy shipped with
 * `@cnn/tensor`. Any other request, including every location set with `setWasmPaths`, is left
 * alone. Outside the browser build it just calls `activate`.
 */
export function withBundledWasmBinaries<T>(activate: () => Promise<T>): Promise<T> {
  // Spelled out (not a variable) so that esbuild drops the browser-only code from the Node builds.
  if (typeof __CNN_BROWSER_BUILD__ !== 'undefined' && __CNN_BROWSER_BUILD__)
    return redirectingDefaultRequests(activate);
  return activate();
}

/**
 * The error `setBackend('wasm')` throws in a browser when a WebAssembly binary of the backend could not be fetched:
 * the URL it tried and why (an HTTP status, a network error, or an HTML page served in its place), and the fix.
 * Bundlers that emit `new URL('./….wasm', import.meta.url)` assets (Vite, webpack 5) put the binaries where they are
 * looked for; with the others (esbuild, Rollup without an asset plugin) copy the three `.wasm` files of
 * `@cnn/tensor/dist/browser/` next to the bundle, or call {@link setWasmPaths} with the folder that holds them.
 */
export class WasmBinaryError extends Error {
  /** The URL of the binary that could not be loaded. */
  readonly url: string;
  /** The original error (tfjs's initialisation failure). */
  override readonly cause: unknown;

  /**
   * @param url the binary's URL.
   * @param why what went wrong with it (`HTTP 404`, ...).
   * @param cause the original error.
   */
  constructor(url: string, why: string, cause?: unknown) {
    const configured = userPaths !== undefined;
    super(
      `setBackend('wasm'): cannot load the WebAssembly binary ${url} (${why}). ` +
        (configured
          ? 'The location given to setWasmPaths does not serve it: put the three .wasm files of @cnn/tensor/dist/browser/ there.'
          : "Your bundler did not emit @cnn/tensor's binaries next to the code: copy the three .wasm files of " +
            "node_modules/@cnn/tensor/dist/browser/ beside your bundle, or call setWasmPaths('https://your.site/folder/') " +
            "(the folder that serves them) before setBackend('wasm')."),
    );
    this.name = 'WasmBinaryError';
    this.url = url;
    this.cause = cause;
  }
}

/** Whether a URL names a `.wasm` file. */
const isWasm = (url: string): boolean => /\.wasm(?:[?#]|$)/.test(url);

async function redirectingDefaultRequests<T>(activate: () => Promise<T>): Promise<T> {
  if (typeof globalThis.fetch !== 'function') return activate();
  const original = globalThis.fetch;
  const redirects = defaultLocations();
  /** The binaries that could not be fetched while the backend started, in order. */
  const failed: Array<{ url: string; why: string }> = [];
  const patched: typeof fetch = (input, init) => {
    const url = requestedUrl(input);
    const target = url === undefined ? undefined : redirects.get(url);
    const response = original.call(globalThis, target ?? input, init);
    const tried = target ?? url;
    if (tried === undefined || !isWasm(tried)) return response;
    return response.then(
      (res) => {
        const type = res.headers.get('content-type') ?? '';
        if (!res.ok) failed.push({ url: tried, why: `HTTP ${res.status}` });
        else if (/text\/html/i.test(type))
          failed.push({ url: tried, why: `the server answered with ${type}, not the binary` });
        return res;
      },
      (err: unknown) => {
        failed.push({ url: tried, why: `not fetched: ${err instanceof Error ? err.message : String(err)}` });
        throw err;
      },
    );
  };
  globalThis.fetch = patched;
  try {
    return await activate();
  } catch (err) {
    if (failed.length > 0) throw new WasmBinaryError(failed[0].url, failed[0].why, err);
    throw err;
  } finally {
    // Put fetch back unless someone replaced it meanwhile (then ours stays a pass-through in their chain).
    if (globalThis.fetch === patched) globalThis.fetch = original;
  }
}

/** What the user passed to {@link setWasmPaths}, if anything. */
let userPaths: string | Record<string, string> | undefined;

/**
 * tfjs's `setWasmPaths`, recorded on the way through: cnn's threaded loader fetches the threaded-SIMD
 * binary itself, from the location given here when there is one.
 *
 * @param prefixOrFileMap a folder URL (ending in `/`) holding the three `.wasm` files, or a map from
 *   each file name (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`,
 *   `tfjs-backend-wasm-threaded-simd.wasm`) to its URL.
 * @param usePlatformFetch passed to tfjs (use `env().platform.fetch` instead of the global fetch).
 */
export function setWasmPaths(prefixOrFileMap: string | Record<string, string>, usePlatformFetch = false): void {
  tfjsSetWasmPaths(prefixOrFileMap as Parameters<typeof tfjsSetWasmPaths>[0], usePlatformFetch);
  userPaths = typeof prefixOrFileMap === 'string' ? prefixOrFileMap : { ...prefixOrFileMap };
}

/** Browser build: the URL of tfjs's threaded-SIMD binary (the user's location, else the shipped copy). */
export function threadedBinaryUrl(): string {
  const name = 'tfjs-backend-wasm-threaded-simd.wasm';
  if (typeof userPaths === 'string') return userPaths + name;
  if (userPaths?.[name]) return userPaths[name];
  return bundledBinaries()[name];
}
