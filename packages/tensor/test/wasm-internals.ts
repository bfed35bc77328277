// The wasm backend's internals that the allocator tests look at: where a tensor's data lies, and the heap size.
import { tf } from '../src/index';
import { kernelRunCount } from '../src/wasm/module';

interface WasmInternals {
  dataIdMap: { get(id: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

const internals = () => tf.backend() as unknown as WasmInternals;

/** Address of a tensor's data in the active wasm backend's memory. */
export const memoryOffset = (t: tf.Tensor): number => internals().dataIdMap.get(t.dataId).memoryOffset;

/** Bytes of the active wasm backend's memory. */
export const heapBytes = (): number => internals().wasm.HEAPU8.length;

/** How many of cnn's wasm kernels run while `fn` runs: 0 when every call went to tfjs's kernels. */
export function cnnKernelRuns(fn: () => void): number {
  const before = kernelRunCount();
  fn();
  return kernelRunCount() - before;
}
