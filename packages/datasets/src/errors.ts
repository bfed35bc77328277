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

/**
 * A call to this package with arguments it cannot accept: a transform's size out of range, a limit
 * option that is not a positive integer, a class name that leaves the dataset's folder. Thrown when
 * the call is made, before anything is read, allocated or changed. The message is
 * `"<op>: <reason>"`; `op` and `reason` hold the two parts.
 *
 * @example
 * try { new Resize(1e6); }
 * catch (e) { if (e instanceof DatasetUsageError) console.error(e.op, e.reason); } // 'Resize', 'size must be ...'
 */
export class DatasetUsageError extends Error {
  /** The class or function called, e.g. `'Resize'` or `'ImageFolder'`. */
  readonly op: string;
  /** What is wrong with the arguments. */
  readonly reason: string;

  /** Builds the error; the message is `"<op>: <reason>"`. */
  constructor(op: string, reason: string) {
    super(`${op}: ${reason}`);
    this.name = 'DatasetUsageError';
    this.op = op;
    this.reason = reason;
  }
}
