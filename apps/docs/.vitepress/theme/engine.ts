/**
 * The page's one handle on the engine. `@cnn/tensor` is imported lazily (never during the
 * server-side render of the build) and the wasm backend is started once per page load: every
 * component and Run button awaits the same start, so two never initialise the backend at once.
 * The training page may switch to WebGPU ({@link startWebGpu}); {@link startWasm} switches back.
 */
import type { BackendInfo } from '@cnn/tensor';

let starting: Promise<BackendInfo> | undefined;

/** Starts the wasm backend (once; again if another backend was chosen since) and resolves to `backendInfo()`. */
export function startWasm(): Promise<BackendInfo> {
  starting ??= (async () => {
    const { setBackend, backendInfo } = await import('@cnn/tensor');
    await setBackend('wasm');
    return backendInfo();
  })().catch((err: unknown) => {
    starting = undefined; // let a later call try again
    throw err;
  });
  return starting.then(async (info) => {
    const { getBackend, setBackend, backendInfo } = await import('@cnn/tensor');
    if (getBackend() === 'wasm') return info;
    await setBackend('wasm');
    return backendInfo();
  });
}

/**
 * Makes WebGPU the active backend (`setBackend('webgpu')`, after the shared wasm start) and resolves to
 * `backendInfo()`; rejects with the library's WebGpuBackendError when it cannot, leaving wasm active.
 */
export async function startWebGpu(): Promise<BackendInfo> {
  await startWasm();
  const { setBackend, backendInfo } = await import('@cnn/tensor');
  await setBackend('webgpu');
  return backendInfo();
}

/** Whether this browser offers WebGPU to the page, and if not, which of the two things is missing. */
export type WebGpuOffer = { ok: true } | { ok: false; why: 'no-webgpu' | 'no-adapter' };

/**
 * Asks the browser, without loading tfjs's WebGPU backend, whether `setBackend('webgpu')` has something to run on:
 * `navigator.gpu` (a browser with WebGPU, on a secure page) and an adapter from it. Whether that adapter is a GPU or
 * a software one (SwiftShader) shows once the backend runs, in `backendInfo().device`.
 */
export async function probeWebGpu(): Promise<WebGpuOffer> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(o?: object): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return { ok: false, why: 'no-webgpu' };
  try {
    return (await gpu.requestAdapter({ powerPreference: 'high-performance' }))
      ? { ok: true }
      : { ok: false, why: 'no-adapter' };
  } catch {
    return { ok: false, why: 'no-adapter' };
  }
}
