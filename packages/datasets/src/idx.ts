// The IDX format of MNIST and its relatives: a 4-byte magic number (two zero bytes, a type code,
// the number of dimensions), one big-endian uint32 per dimension, then the values, row-major.
import { DatasetError } from './errors';
import { platform } from './io/platform';
import { checkLimit, count, DEFAULT_MAX_IDX_BYTES, DEFLATE_MAX_RATIO } from './limits';

/** A parsed IDX file of unsigned bytes: its dimensions and its values (a view into the file's bytes). */
export interface IdxArray {
  /** The dimensions from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** `dims` multiplied out, row-major. */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'ubyte',
  0x09: 'byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** An IDX header, checked: its dimensions, its length in bytes, and the number of values it declares. */
interface IdxHeader {
  dims: number[];
  headerBytes: number;
  size: number;
}

/** Parses and checks the header at the start of `bytes` (magic number, then one uint32 per dimension). */
function parseHeader(bytes: Uint8Array, file: string, rank: number): IdxHeader {
  const expected = 0x0800 + rank;
  const what = rank === 1 ? 'a label file' : rank === 3 ? 'an image file' : `a ${rank}-dimensional file`;
  if (bytes.length < 4)
    throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`);
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
    throw new DatasetError(
      file,
      `wrong magic number ${hex(magic)}${looks}: expected ${hex(expected)} for ${what} of unsigned bytes`,
    );
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw new DatasetError(file, `truncated: ${bytes.length} bytes, shorter than its ${headerBytes}-byte header`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  return { dims, headerBytes, size: dims.reduce((a, b) => a * b, 1) };
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
  const { dims, headerBytes, size } = parseHeader(bytes, file, rank);
  const have = bytes.length - headerBytes;
  if (have < size) {
    throw new DatasetError(
      file,
      `truncated: its header promises ${dims.join('x')} = ${size} values but only ${have} follow`,
    );
  }
  if (have > size) {
    throw new DatasetError(
      file,
      `${have - size} bytes beyond the ${dims.join('x')} = ${size} values its header declares`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Whether bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Options of {@link readIdx}. */
export interface IdxReadOptions {
  /**
   * The most bytes of values an IDX file may declare (the product of its header's dimensions).
   * A header that declares more is refused as soon as it is read (a gzipped file stops inflating
   * there), and so is a file larger than such an IDX file could be. Default
   * {@link DEFAULT_MAX_IDX_BYTES}, 2^28 = 268,435,456 (256 MiB; MNIST's largest file holds 47,040,000).
   */
  maxBytes?: number;
}

/** The limit hint of the messages, and its option. */
function limitHint(maxBytes: number): string {
  return ` (an IDX file may declare at most ${count(maxBytes)} bytes of values; raise the maxBytes option to accept more)`;
}

/** Refuses a header that declares more than the limit, or (gzipped) more than its compressed bytes can hold. */
function checkDeclared(h: IdxHeader, file: string, maxBytes: number, compressed: number | null): void {
  const shape = `${h.dims.join('x')} = ${count(h.size)} values`;
  if (h.size > maxBytes)
    throw new DatasetError(file, `its header declares ${shape}, over the limit${limitHint(maxBytes)}`);
  if (compressed !== null && h.headerBytes + h.size > DEFLATE_MAX_RATIO * compressed) {
    throw new DatasetError(
      file,
      `truncated: its header declares ${shape}, but ${count(compressed)} bytes of gzip data inflate to at most ` +
        `${count(DEFLATE_MAX_RATIO * compressed)} (deflate expands at most ${DEFLATE_MAX_RATIO}-fold)`,
    );
  }
}

/**
 * Inflates a gzipped IDX file into one buffer of exactly the size its header declares, checking the
 * header as soon as it has inflated and stopping the moment the data runs past the declared size:
 * memory and work stay bounded by the header (itself bounded by `maxBytes`), whatever the stream holds.
 */
async function inflateIdx(bytes: Uint8Array, file: string, rank: number, maxBytes: number): Promise<IdxArray> {
  const headerBytes = 4 + 4 * rank;
  const head = new Uint8Array(headerBytes);
  let headFill = 0;
  let header: IdxHeader | null = null;
  let out: Uint8Array | null = null;
  let at = 0;
  for await (let chunk of platform.gunzipChunks(bytes, file)) {
    if (!out) {
      const take = Math.min(headerBytes - headFill, chunk.length);
      head.set(chunk.subarray(0, take), headFill);
      headFill += take;
      chunk = chunk.subarray(take);
      if (headFill < headerBytes) continue;
      header = parseHeader(head, file, rank);
      checkDeclared(header, file, maxBytes, bytes.length);
      out = new Uint8Array(headerBytes + header.size);
      out.set(head);
      at = headerBytes;
    }
    if (at + chunk.length > out.length) {
      const { dims, size } = header!;
      throw new DatasetError(
        file,
        `inflates past the ${dims.join('x')} = ${count(size)} values its header declares (stopped at ${count(at + chunk.length - headerBytes)} bytes of values)`,
      );
    }
    out.set(chunk, at);
    at += chunk.length;
  }
  if (!out) return parseIdx(head.subarray(0, headFill), file, rank); // throws: too short for its header
  if (at < out.length) {
    const { dims, size } = header!;
    throw new DatasetError(
      file,
      `truncated: its header promises ${dims.join('x')} = ${size} values but only ${at - headerBytes} follow`,
    );
  }
  return { dims: header!.dims, data: out.subarray(headerBytes) };
}

/**
 * Reads an IDX file, plain or gzipped (recognised by its content, not its name). Only a regular file
 * is read (Node), and its declared size is limited by `options.maxBytes`: a gzipped file is inflated
 * as a stream and stopped as soon as its header or its data goes past what is allowed or declared.
 *
 * @param path - a path in Node, a URL in a browser.
 * @param rank - the number of dimensions expected: 3 for images, 1 for labels.
 * @throws DatasetError naming the file for anything malformed, truncated, over the limit or not a regular file.
 * @throws DatasetUsageError for a `maxBytes` that is not a positive integer.
 */
export async function readIdx(path: string, rank: number, options: IdxReadOptions = {}): Promise<IdxArray> {
  const maxBytes = checkLimit(options.maxBytes ?? DEFAULT_MAX_IDX_BYTES, 'readIdx', 'maxBytes');
  const headerBytes = 4 + 4 * rank;
  // No IDX file within the limit is bigger than this, gzipped or not (gzip adds under 0.1% to incompressible data).
  const fileLimit = headerBytes + maxBytes + Math.ceil(maxBytes / 1024) + 1024;
  const bytes = await platform.readFile(path, { maxBytes: fileLimit, hint: limitHint(maxBytes) });
  if (isGzip(bytes)) return inflateIdx(bytes, path, rank, maxBytes);
  const h = parseHeader(bytes, path, rank);
  checkDeclared(h, path, maxBytes, null);
  return parseIdx(bytes, path, rank);
}
