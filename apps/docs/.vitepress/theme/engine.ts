/**
 * The page's one handle on the engine. `@cnn/tensor` is imported lazily (never during the
 * server-side render of the build) and the wasm backend is started once per page load: every
 * component and Run button awaits the same start, so two never initialise the backend at once.
 */
import type { BackendInfo } from '@cnn/tensor';

let starting: Promise<BackendInfo> | undefined;

/** Starts the wasm backend (once) and resolves to `backendInfo()`. */
export function startWasm(): Promise<BackendInfo> {
  starting ??= (async () => {
    const { setBackend, backendInfo } = await import('@cnn/tensor');
    await setBackend('wasm');
    return backendInfo();
  })().catch((err: unknown) => {
    starting = undefined; // let a later call try again
    throw err;
  });
  return starting;
}
