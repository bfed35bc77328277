// Every way the 'webgpu' backend can fail to start, as a WebGpuBackendError whose first line names the case and the
// fix, as CudaBackendError does for 'cuda'.
import { WEBGPU_NODE_PACKAGE, WEBGPU_NODE_PACKAGE_VERSION } from './constants';

/**
 * Why the WebGPU backend cannot be used:
 *
 * - `'not-installed'`: in Node.js, the optional peer dependency `webgpu` (Dawn) is not installed.
 * - `'addon-failed'`: in Node.js, `webgpu` is installed but its native `dawn.node` did not load (another platform, an
 *   old C library).
 * - `'no-webgpu'`: in a browser, `navigator.gpu` is missing (a browser without WebGPU, WebGPU switched off, or a page
 *   that is not a secure context: https:// or http://localhost).
 * - `'no-adapter'`: WebGPU is there but offers no adapter (Node.js: Dawn found no Vulkan, Metal or D3D12 device;
 *   a browser: no usable GPU, or the GPU is block-listed).
 * - `'device-failed'`: the adapter would not give a device, or tfjs's WebGPU backend did not start on it.
 * - `'sync-read'`: in Node.js, a synchronous read (`dataSync`, `arraySync`, `bufferSync`, or code that calls them,
 *   such as @cnn/train's Trainer) of a tensor held on the GPU: tfjs's WebGPU backend reads synchronously through
 *   `OffscreenCanvas`, which Node.js does not have. The asynchronous reads (`data`, `array`) work.
 */
export type WebGpuFailure =
  | 'not-installed'
  | 'addon-failed'
  | 'no-webgpu'
  | 'no-adapter'
  | 'device-failed'
  | 'sync-read';

/**
 * The error `setBackend('webgpu')` throws when the WebGPU backend cannot be used (the active backend is then left as
 * it was), and a synchronous read of a GPU tensor throws in Node.js (`'sync-read'`). Its first line names the
 * {@link WebGpuFailure} and the fix; further lines give details and the original error.
 */
export class WebGpuBackendError extends Error {
  /** Which of the known failures this is. */
  readonly reason: WebGpuFailure;
  /** The error that caused this one, if there was one. */
  override readonly cause: unknown;

  /**
   * @param reason which failure this is.
   * @param message the full message: first line the case and the fix, then details.
   * @param cause the original error, if any.
   */
  constructor(reason: WebGpuFailure, message: string, cause?: unknown) {
    super(message);
    this.name = 'WebGpuBackendError';
    this.reason = reason;
    this.cause = cause;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
}

/** Classifies the error thrown by importing the `webgpu` package in Node.js. */
export function nodeImportError(err: unknown): WebGpuBackendError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  const notFound =
    ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      (missing === WEBGPU_NODE_PACKAGE || message.includes(`'${WEBGPU_NODE_PACKAGE}'`))) ||
    /(?:Could not resolve|Failed to resolve(?: import)?|Failed to load url) ["']?webgpu["' ]/.test(message);
  if (notFound) {
    return new WebGpuBackendError(
      'not-installed',
      `WebGPU backend (not-installed): in Node.js it runs on Dawn, from the npm package '${WEBGPU_NODE_PACKAGE}', ` +
        `which is not installed; install it with \`npm install ${WEBGPU_NODE_PACKAGE}@${WEBGPU_NODE_PACKAGE_VERSION}\`.\n` +
        `It is an optional peer dependency of @cnn/tensor, so npm does not install it for you; it ships a prebuilt ` +
        `dawn.node for Linux, macOS and Windows (x64, arm64). Dawn then needs a GPU driver: Vulkan on Linux, Metal ` +
        `on macOS, D3D12 on Windows.\nOriginal error: ${firstLine(err)}`,
      err,
    );
  }
  return new WebGpuBackendError(
    'addon-failed',
    `WebGPU backend (addon-failed): the npm package '${WEBGPU_NODE_PACKAGE}' is installed but its native dawn.node ` +
      `did not load; reinstall it on this machine (\`npm install ${WEBGPU_NODE_PACKAGE}@${WEBGPU_NODE_PACKAGE_VERSION}\`), ` +
      `and check that this platform is one it ships a build for (Linux, macOS, Windows; x64 or arm64; glibc Linux).\n` +
      `Original error: ${message.trim()}`,
    err,
  );
}

/** In a browser without `navigator.gpu`. */
export function noWebGpuError(secure: boolean | undefined): WebGpuBackendError {
  const why =
    secure === false
      ? 'this page is not a secure context, and browsers give WebGPU only to secure contexts: serve it over https:// or from http://localhost'
      : 'this browser has no WebGPU (Chrome and Edge 113+, Safari 26+, Firefox 141+ on Windows), or it is switched off';
  return new WebGpuBackendError(
    'no-webgpu',
    `WebGPU backend (no-webgpu): navigator.gpu is missing; ${why}. Use the 'wasm' backend here, or 'auto', which ` +
      `falls back to it.`,
  );
}

/** `requestAdapter()` answered null. `vulkan` describes what was found of Vulkan (Linux), if anything was looked at. */
export function noAdapterError(node: boolean, vulkan?: string): WebGpuBackendError {
  if (!node) {
    return new WebGpuBackendError(
      'no-adapter',
      `WebGPU backend (no-adapter): navigator.gpu.requestAdapter() found no adapter: the browser sees no GPU it ` +
        `will use (no GPU, a GPU or driver on its block list, or hardware acceleration switched off). Use the ` +
        `'wasm' backend, or 'auto', which falls back to it.`,
    );
  }
  return new WebGpuBackendError(
    'no-adapter',
    `WebGPU backend (no-adapter): Dawn (the '${WEBGPU_NODE_PACKAGE}' package) found no GPU adapter; it needs a GPU ` +
      `and its driver's Vulkan (Linux), Metal (macOS) or D3D12 (Windows) support. On Linux install the Vulkan ` +
      `loader (Debian: libvulkan1) and the GPU's Vulkan driver (NVIDIA's driver, or Mesa's mesa-vulkan-drivers for ` +
      `AMD and Intel); Dawn refuses the software Vulkan of lavapipe, and Dawn's own lines on stderr say which ` +
      `adapter it rejected and why.` +
      (vulkan ? `\nFound here: ${vulkan}.` : ''),
  );
}

/** The adapter gave no device, or tfjs's backend failed on it. */
export function deviceError(adapter: string, err: unknown): WebGpuBackendError {
  return new WebGpuBackendError(
    'device-failed',
    `WebGPU backend (device-failed): the adapter ${adapter} did not start tfjs's WebGPU backend: ${firstLine(err)}.\n` +
      `The adapter may lack a limit or feature tfjs needs, or the GPU process was lost; use the 'wasm' backend.`,
    err,
  );
}

/** In Node.js, a synchronous read of a tensor that is on the GPU (tfjs would need `OffscreenCanvas`). */
export function syncReadError(adapter: string, shape: string): WebGpuBackendError {
  return new WebGpuBackendError(
    'sync-read',
    `WebGPU backend (sync-read): a synchronous read (dataSync, arraySync, bufferSync) of a ${shape} tensor on ` +
      `${adapter} in Node.js; tfjs's WebGPU backend reads synchronously only through OffscreenCanvas, which Node.js ` +
      `does not have. Read it asynchronously (\`await t.data()\`, \`await t.array()\`), or use the 'wasm' backend ` +
      `for code that reads synchronously (@cnn/train's Trainer does).\n` +
      `The tensor is unchanged, and the backend stays usable.`,
  );
}
