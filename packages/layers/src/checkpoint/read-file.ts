// Reading a checkpoint from a path: Node only, kept apart from the parsers so that they stay free of
// Node APIs (node:fs/promises is imported dynamically, and only when a path is given).
import { CheckpointError } from './errors';

/** Whether this runtime is Node (where paths can be read). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * The bytes of the file at `path` (Node only). A missing or unreadable file throws a
 * {@link CheckpointError} with `file` set and the system error as `cause`.
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  if (!isNode()) {
    throw new CheckpointError(`cannot read '${path}': reading a path needs Node; in a browser, fetch the file and pass its bytes`, { file: path });
  }
  // A variable specifier keeps bundlers from trying to resolve (or polyfill) node:fs for browser builds.
  const specifier = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ specifier)) as typeof import('node:fs/promises');
  try {
    const data = await fs.readFile(path);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new CheckpointError(`cannot read '${path}'${code ? ` (${code})` : ''}: ${(cause as Error).message}`, { file: path, cause });
  }
}
