// The wasm backend's internals that the allocator tests look at: where a tensor's data lies, and the heap size.
import { tf } from '../src/index';

interface WasmInternals {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

const internals = () => tf.backend() as unknown as WasmInternals;

/** Address of a tensor's data in the active wasm backend's memory. */
export const memoryOffset = (t: tf.Tensor): number => internals().dataIdMap.get(t.dataId).memoryOffset;

/** Bytes of the active wasm backend's memory. */
export const heapBytes = (): number => internals().wasm.HEAPU8.length;

/**
 * How many blocks the active wasm backend allocates while `fn` runs (its `wasm._malloc` wrapped, then restored): tfjs's
 * own kernels allocate their output, cnn's kernels also their parameter block and scratch, so the count tells which
 * kernel ran a call.
 */
export function mallocCalls(fn: () => void): number {
  const wasm = (tf.backend() as unknown as { wasm: { _malloc(bytes: number): number } }).wasm;
  const malloc = wasm._malloc;
  let calls = 0;
  wasm._malloc = (bytes: number) => {
    calls++;
    return malloc(bytes);
  };
  try {
    fn();
  } finally {
    wasm._malloc = malloc;
  }
  return calls;
}
