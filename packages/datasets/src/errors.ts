/**
 * A data file that cannot be read as what it claims to be: wrong magic number, truncated, counts
 * that disagree, an undecodable image, an unknown class folder. The message names the file and
 * what is wrong; `file` and `reason` hold the two parts.
 *
 * @example
 * try { await MNIST.load('data/mnist'); }
 * catch (e) { if (e instanceof DatasetError) console.error(e.file, e.reason); }
 */
export class DatasetError extends Error {
  /** The file (or folder) at fault. */
  readonly file: string;
  /** What is wrong with it. */
  readonly reason: string;

  /** Builds the error; the message is `"<file>: <reason>"`. */
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.reason = reason;
  }
}
