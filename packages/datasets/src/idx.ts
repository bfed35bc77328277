// The IDX format of MNIST and its relatives: a 4-byte magic number (two zero bytes, a type code,
// the number of dimensions), one big-endian uint32 per dimension, then the values, row-major.
import { DatasetError } from './errors';
import { platform } from './io/platform';

/** A parsed IDX file of unsigned bytes: its dimensions and its values (a view into the file's bytes). */
export interface IdxArray {
  /** The dimensions from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** `dims` multiplied out, row-major. */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Parses the bytes of an (already gunzipped) IDX file of unsigned bytes.
 *
 * @param file - the file name, for error messages.
 * @param rank - the number of dimensions the caller expects: 3 for images, 1 for labels.
 * @throws DatasetError naming `file` for a wrong magic number, a header or data shorter than it
 *   promises, or bytes beyond its end.
 * @example
 * const { dims, data } = parseIdx(bytes, 'train-labels-idx1-ubyte', 1); // dims [60000]
 */
export function parseIdx(bytes: Uint8Array, file: string, rank: number): IdxArray {
  const expected = 0x0800 + rank;
  const what = rank === 1 ? 'a label file' : rank === 3 ? 'an image file' : `a ${rank}-dimensional file`;
  if (bytes.length < 4) throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expected) {
    const type = TYPE_NAMES[bytes[2]];
    const looks =
      bytes[0] === 0 && bytes[1] === 0 && type
        ? ` (an IDX file of ${type} values with ${bytes[3]} dimension${bytes[3] === 1 ? '' : 's'})`
        : bytes[0] === 0x1f && bytes[1] === 0x8b
          ? ' (gzip data inside gzip data?)'
          : ' (not an IDX file)';
    throw new DatasetError(file, `wrong magic number ${hex(magic)}${looks}: expected ${hex(expected)} for ${what} of unsigned bytes`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than its ${headerBytes}-byte header`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have < size) {
    throw new DatasetError(file, `truncated: its header promises ${dims.join('x')} = ${size} values but only ${have} follow`);
  }
  if (have > size) {
    throw new DatasetError(file, `${have - size} bytes beyond the ${dims.join('x')} = ${size} values its header declares`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Whether bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads an IDX file, plain or gzipped (recognised by its content, not its name).
 *
 * @param path - a path in Node, a URL in a browser.
 * @param rank - the number of dimensions expected: 3 for images, 1 for labels.
 */
export async function readIdx(path: string, rank: number): Promise<IdxArray> {
  let bytes = await platform.readFile(path);
  if (isGzip(bytes)) bytes = await platform.gunzip(bytes, path);
  return parseIdx(bytes, path, rank);
}
