// Reading a checkpoint from a path: Node only, kept apart from the parsers so that they stay free of
// Node APIs (node:fs/promises is imported dynamically, and only when a path is given).
import { CheckpointError } from './errors';

/** Whether this runtime is Node (where paths can be read). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * The largest file {@link readFileBytes} reads: 2 GiB - 1 bytes (what Node's `fs.readFile` can return, and more
 * than a checkpoint this library's models can use). A larger file is refused before it is read.
 */
export const READ_FILE_MAX_BYTES = 2 ** 31 - 1;

/** What a `stat` result says the path is, in words, for a path that is not a regular file. */
function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of the file at `path` (Node only). Only regular files are read: a directory, a device (`/dev/zero`
 * would never end), a FIFO or a socket is refused before it is opened, and so is a file over
 * {@link READ_FILE_MAX_BYTES}. Any of these, a missing or an unreadable file throws a {@link CheckpointError}
 * with `file` set (and the system error as `cause` where there is one).
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  if (!isNode()) {
    throw new CheckpointError(
      `cannot read '${path}': reading a path needs Node; in a browser, fetch the file and pass its bytes`,
      { file: path },
    );
  }
  // A variable specifier keeps bundlers from trying to resolve (or polyfill) node:fs for browser builds; the
  // comments stop Vite's and webpack's warnings about a specifier they cannot see.
  const specifier = 'node:fs';
  const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof import('node:fs');
  const systemError = (cause: unknown): CheckpointError => {
    const code = (cause as { code?: string }).code;
    return new CheckpointError(`cannot read '${path}'${code ? ` (${code})` : ''}: ${(cause as Error).message}`, {
      file: path,
      cause,
    });
  };
  const check = (st: import('node:fs').Stats): void => {
    if (!st.isFile()) {
      throw new CheckpointError(
        `cannot read '${path}': it is ${kindOf(st)}, and only regular files are read as checkpoints`,
        { file: path },
      );
    }
    if (st.size > READ_FILE_MAX_BYTES) {
      throw new CheckpointError(
        `cannot read '${path}': it is ${st.size} bytes, over the ${READ_FILE_MAX_BYTES}-byte limit of a checkpoint file`,
        { file: path },
      );
    }
  };
  // stat first: opening a FIFO blocks until a writer comes, reading a device never ends.
  let handle: import('node:fs/promises').FileHandle;
  try {
    check(await fs.promises.stat(path));
    // O_NONBLOCK: should the path become a FIFO between stat and open, opening it does not wait for a writer.
    handle = await fs.promises.open(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw cause instanceof CheckpointError ? cause : systemError(cause);
  }
  try {
    const st = await handle.stat(); // the file actually opened
    check(st);
    const out = new Uint8Array(st.size);
    let filled = 0;
    while (filled < out.length) {
      const { bytesRead } = await handle.read(out, filled, out.length - filled, filled);
      if (bytesRead === 0) break; // the file shrank since stat: return what it holds
      filled += bytesRead;
    }
    return filled === out.length ? out : out.subarray(0, filled);
  } catch (cause) {
    throw cause instanceof CheckpointError ? cause : systemError(cause);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
