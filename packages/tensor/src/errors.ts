/**
 * A call of one of @cnn/tensor's ops or set-up functions with arguments it cannot take: a wrong type, dtype, shape,
 * option or name (`conv2d`'s padding, `fusedAdd`'s broadcast, `setBackend`'s name, ...). It is thrown before any work
 * is done, and its message starts with the function's name and says which argument was wrong and what it got.
 * Failures of the environment have their own classes (`CudaBackendError`, `WebGpuBackendError`, `WasmBinaryError`,
 * `ThreadsEnvError`).
 *
 * @example
 * try {
 *   conv2d(x, w, { groups: 3 });
 * } catch (e) {
 *   if (e instanceof TensorArgumentError) console.error(e.message); // "conv2d: input has 4 channels, which groups=3 does not divide"
 * }
 */
export class TensorArgumentError extends Error {
  /** @param message - the function's name, a colon, then what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = 'TensorArgumentError';
  }
}
