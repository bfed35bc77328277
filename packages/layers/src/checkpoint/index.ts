/**
 * Checkpoint I/O without dependencies (Node and browsers): safetensors read and write, PyTorch `torch.save`
 * checkpoints read through a restricted pickle VM that only admits state-dict data, and `readCheckpoint`
 * which tells the two apart by their content.
 *
 * @example
 * const { tensors } = await readCheckpoint('resnet18.pth');
 * const conv1 = toFloat32(tensors.get('conv1.weight')!); // OIHW float32
 *
 * @packageDocumentation
 */
import { CheckpointError, attachFile } from './errors';
import { readFileBytes } from './read-file';
import { SAFETENSORS_MAX_HEADER_BYTES, readSafetensors } from './safetensors';
import { readTorch, type TorchReadOptions } from './torch';
import type { StateDict } from './types';

export { CheckpointError, type CheckpointErrorDetails } from './errors';
export {
  type RawTensor,
  type StateDict,
  type DType,
  type TensorData,
  DTYPES,
  isDType,
  isRawTensor,
  dtypeItemSize,
  toFloat32,
  toFloat32StateDict,
  validateRawTensor,
} from './types';
export {
  readSafetensors,
  writeSafetensors,
  SAFETENSORS_MAX_HEADER_BYTES,
  SAFETENSORS_MAX_HEADER_DEPTH,
  jsonTooDeepAt,
  type SafetensorsFile,
} from './safetensors';
export { PICKLE_LIMITS, type PickleLimits } from './pickle';
export {
  readTorch,
  readTorchObject,
  TENSOR_BYTES_ALLOWANCE,
  CODE_MODULES,
  isOpaque,
  type OpaqueObject,
  type TorchReadOptions,
  type TorchValue,
  type PickleGlobal,
  type TorchStorage,
} from './torch';
export { readFileBytes, READ_FILE_MAX_BYTES } from './read-file';
export { clipText, jsonPreview, PREVIEW_CHARS } from './preview';

/** The checkpoint formats this module reads. */
export type CheckpointFormat = 'safetensors' | 'torch';

/**
 * Tells a checkpoint's format from its first bytes: a ZIP signature is a torch checkpoint, a plausible
 * 8-byte header length (at most 100 MB) followed by `{` is safetensors. Anything else (including PyTorch's
 * pre-1.6 format and empty files) throws a {@link CheckpointError} that says what the bytes look like.
 */
export function detectFormat(bytes: Uint8Array | ArrayBuffer): CheckpointFormat {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6)))
    return 'torch';
  if (b.length >= 9) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
    // A header that runs past the end still says safetensors: readSafetensors then reports the truncation.
    if (n <= SAFETENSORS_MAX_HEADER_BYTES && b[8] === 0x7b) return 'safetensors';
  }
  if (b.length >= 2 && b[0] === 0x80 && b[1] <= 5) {
    throw new CheckpointError(
      'checkpoint: this is a bare pickle, such as the legacy torch.save format (PyTorch < 1.6), which is not supported; re-save it with a newer PyTorch',
    );
  }
  if (b.length === 0) throw new CheckpointError('checkpoint: the file is empty');
  throw new CheckpointError('checkpoint: unknown format (neither a torch.save zip archive nor safetensors)');
}

/** What {@link readCheckpoint} returns. */
export interface Checkpoint {
  /** The format the content was read as. */
  format: CheckpointFormat;
  /** The tensors, in file order. */
  tensors: StateDict;
  /** safetensors `__metadata__` (empty for torch checkpoints). */
  metadata: Record<string, string>;
}

/**
 * Reads a checkpoint of either format, chosen by content (see {@link detectFormat}). `input` is the file's
 * bytes, or (in Node only) its path. For torch checkpoints this is {@link readTorch} (the state dict, or the
 * `'state_dict'` / `'model'` entry of a training checkpoint). Errors are {@link CheckpointError}s; when a
 * path was given, their `file` is set and their message starts with it.
 */
export async function readCheckpoint(
  input: Uint8Array | ArrayBuffer | string,
  options: TorchReadOptions = {},
): Promise<Checkpoint> {
  const file = typeof input === 'string' ? input : undefined;
  try {
    const bytes =
      file !== undefined
        ? await readFileBytes(file)
        : input instanceof Uint8Array
          ? input
          : new Uint8Array(input as ArrayBuffer);
    const format = detectFormat(bytes);
    if (format === 'safetensors') return { format, ...readSafetensors(bytes) };
    return { format, tensors: readTorch(bytes, options), metadata: {} };
  } catch (err) {
    throw file !== undefined ? attachFile(err, file) : err;
  }
}
