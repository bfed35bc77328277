// The one error type of checkpoint I/O. Every problem found in a file (truncation, a lie in a header,
// a forbidden pickle global, a dtype we cannot hold) is reported as a CheckpointError, never as a
// RangeError or TypeError from deep inside the parser.

/** Where a {@link CheckpointError} happened; every field is optional. */
export interface CheckpointErrorDetails {
  /** The path of the checkpoint on disk, when it was read from one. */
  file?: string;
  /** The member of a torch zip archive (for example `archive/data/3`). */
  entry?: string;
  /** The tensor's name (state-dict key). */
  key?: string;
  /** Byte offset of the problem, inside the file or inside the named entry. */
  offset?: number;
  /** The underlying error, when one was caught (for example a JSON syntax error). */
  cause?: unknown;
}

/**
 * A checkpoint could not be read or written. The message says what is wrong in words
 * (`safetensors: tensor 'fc.weight' has shape [10, 512] ... but its data_offsets span ...`);
 * `file`, `entry`, `key` and `offset` locate it where that is known.
 */
export class CheckpointError extends Error {
  /** The path of the checkpoint on disk, when it was read from one. */
  file?: string;
  /** The member of a torch zip archive. */
  entry?: string;
  /** The tensor's name (state-dict key). */
  key?: string;
  /** Byte offset of the problem, inside the file or inside the named entry. */
  offset?: number;

  /** Creates the error; `details` locates it. */
  constructor(message: string, details: CheckpointErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CheckpointError';
    if (details.file !== undefined) this.file = details.file;
    if (details.entry !== undefined) this.entry = details.entry;
    if (details.key !== undefined) this.key = details.key;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

/** Adds the file path to an error about that file (once), so a caller reading many files sees which one. */
export function attachFile(err: unknown, file: string): unknown {
  if (err instanceof CheckpointError && err.file === undefined) {
    err.file = file;
    err.message = `${file}: ${err.message}`;
  }
  return err;
}
