// safetensors: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (possibly padded with
// spaces), then the tensors' raw little-endian bytes. The JSON maps each tensor name to
// {dtype, shape, data_offsets: [begin, end]} (offsets relative to the byte after the header) and may hold
// "__metadata__": {string: string}.
//
// The reader checks the whole header before it allocates a single tensor: sizes, offsets, overlaps and holes.
import { CheckpointError } from './errors';
import { clipText, jsonPreview } from './preview';
import {
  type DType,
  type RawTensor,
  type StateDict,
  dtypeItemSize,
  formatShape,
  littleEndianBytes,
  shapeNumel,
  typedArrayFromBytes,
  validateRawTensor,
} from './types';

/** The largest header the reader accepts (the reference implementation's limit too): 100 MB. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/**
 * The deepest a header's JSON may nest (objects and arrays): 16. A valid header nests 3 deep (the header object,
 * a tensor's entry, its shape); the limit is checked by a linear scan of the text before it is parsed, so a
 * header like `[[[...` 200,000 deep is refused before anything recurses over it.
 */
export const SAFETENSORS_MAX_HEADER_DEPTH = 16;

/** Key of the optional string-to-string metadata in a safetensors header. */
const METADATA_KEY = '__metadata__';

const DTYPE_FROM_CODE: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const CODE_FROM_DTYPE: Record<DType, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
/** Dtypes the format defines that a {@link RawTensor} cannot hold. */
const UNSUPPORTED_CODES = new Set([
  'U16',
  'U32',
  'U64',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
]);

/** What {@link readSafetensors} returns. */
export interface SafetensorsFile {
  /** The tensors, in the order of their data in the file (the header's order for files this module writes). */
  tensors: StateDict;
  /** The header's `__metadata__` (empty when it has none). */
  metadata: Record<string, string>;
}

interface HeaderEntry {
  key: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function fail(message: string, details: { key?: string; offset?: number; cause?: unknown } = {}): never {
  throw new CheckpointError(`safetensors: ${message}`, details);
}

/** A value as JSON for messages, at most 80 characters (bounded work whatever the value). */
const describe = (v: unknown): string => jsonPreview(v);

/** A tensor name as messages quote it: its first 120 characters. */
const name = (key: string): string => clipText(key, 120);

/**
 * Where JSON text nests deeper than `maxDepth`: the index of the first `[` or `{` that opens level `maxDepth + 1`,
 * or -1 when it nests at most `maxDepth` deep. Run it on untrusted JSON before `JSON.parse`: a value like
 * `[[[...` 200,000 deep parses in Node, but anything that later walks it recursively (`JSON.stringify`, a
 * validator, a message) overflows the stack. One pass over the text, no recursion and no allocation, so its work
 * is linear in the text's length whatever the text. Brackets inside strings (escapes included) do not count; the
 * text need not be valid JSON (`JSON.parse` still judges that).
 *
 * @example
 * if (jsonTooDeepAt(text, 16) >= 0) throw new Error('nests deeper than 16 levels');
 * const value = JSON.parse(text);
 */
export function jsonTooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c)
          i++; // a backslash escapes the next character
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}

function parseEntry(key: string, value: unknown, bodyLength: number): HeaderEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`header entry '${name(key)}' is ${describe(value)}, not an object with dtype, shape and data_offsets`, {
      key,
    });
  }
  const { dtype: code, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof code !== 'string') fail(`tensor '${name(key)}' has no dtype string (dtype: ${describe(code)})`, { key });
  const dtype = Object.hasOwn(DTYPE_FROM_CODE, code) ? DTYPE_FROM_CODE[code] : undefined;
  if (dtype === undefined) {
    const known = Object.keys(DTYPE_FROM_CODE).join(', ');
    if (UNSUPPORTED_CODES.has(code))
      fail(`tensor '${name(key)}' has dtype '${clipText(code, 40)}', which is not supported (supported: ${known})`, {
        key,
      });
    fail(`tensor '${name(key)}' has unknown dtype '${clipText(code, 40)}' (supported: ${known})`, { key });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name(key)}' has an invalid shape ${describe(shape)} (want an array of non-negative integers)`, {
      key,
    });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(
      `tensor '${name(key)}' has invalid data_offsets ${describe(offsets)} (want [begin, end], non-negative integers)`,
      { key },
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`tensor '${name(key)}' has data_offsets [${begin}, ${end}] with begin after end`, { key });
  if (end > bodyLength) {
    fail(
      `tensor '${name(key)}' has data_offsets [${begin}, ${end}] but the data section holds only ${bodyLength} bytes (file truncated?)`,
      { key },
    );
  }
  const numel = shapeNumel(shape);
  const nbytes = numel * dtypeItemSize(dtype);
  if (nbytes !== end - begin) {
    const size = Number.isSafeInteger(nbytes) ? `${numel} ${dtype} = ${nbytes} bytes` : `over 2^53 bytes of ${dtype}`;
    fail(
      `tensor '${name(key)}' has shape ${formatShape(shape)} (${size}) but its data_offsets span ${end - begin} bytes`,
      { key },
    );
  }
  return { key, dtype, shape: shape.slice(), begin, end };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(`${METADATA_KEY} is ${describe(value)}, not an object of strings`);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`${METADATA_KEY} entry '${name(k)}' is ${describe(v)}, not a string`);
    metadata[k] = v;
  }
  return metadata;
}

/**
 * Reads a safetensors file. The header is validated in full before any tensor is allocated: the header
 * length fits the file and the 100 MB cap ({@link SAFETENSORS_MAX_HEADER_BYTES}), the header is UTF-8 JSON of an
 * object nesting at most {@link SAFETENSORS_MAX_HEADER_DEPTH} deep, every tensor has a
 * supported dtype, a shape of non-negative integers and `data_offsets` inside the data section whose span is
 * exactly `product(shape) * itemsize`, no two tensors overlap, every data byte belongs to a tensor, and
 * `__metadata__` maps strings to strings. Any violation throws a {@link CheckpointError} naming it.
 *
 * Tensor data is copied out into new, aligned typed arrays (nothing aliases `bytes`).
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsFile {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (buf.length < 8) fail(`file is ${buf.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES) {
    fail(
      `header length ${hi >= 2 ** 21 ? `${BigInt(hi) * 2n ** 32n + BigInt(lo)}` : headerLength} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
      { offset: 0 },
    );
  }
  if (8 + headerLength > buf.length) {
    fail(`header length ${headerLength} exceeds the ${buf.length - 8} bytes after the length field (file truncated?)`, {
      offset: 0,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + headerLength));
  } catch (cause) {
    fail('header is not valid UTF-8', { offset: 8, cause });
  }
  const deep = jsonTooDeepAt(text, SAFETENSORS_MAX_HEADER_DEPTH);
  if (deep >= 0) {
    fail(
      `header nests deeper than ${SAFETENSORS_MAX_HEADER_DEPTH} levels (at character ${deep} of the header), the SAFETENSORS_MAX_HEADER_DEPTH limit; a valid header nests 3 deep`,
      { offset: 8 },
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (cause) {
    fail(`header is not valid JSON (${clipText((cause as Error).message, 200)})`, { offset: 8, cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(`header is ${Array.isArray(header) ? 'a JSON array' : describe(header)}, not a JSON object`, { offset: 8 });
  }

  const bodyStart = 8 + headerLength;
  const bodyLength = buf.length - bodyStart;
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === METADATA_KEY) metadata = parseMetadata(value);
    else entries.push(parseEntry(key, value, bodyLength));
  }

  // Coverage: in the order of their data, each non-empty tensor must start where the previous one ended.
  const order = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: HeaderEntry | undefined;
  for (const e of order) {
    if (e.begin < cursor) {
      fail(
        `tensors '${name(previous!.key)}' (bytes ${previous!.begin}-${previous!.end}) and '${name(e.key)}' (bytes ${e.begin}-${e.end}) overlap`,
        { key: e.key },
      );
    }
    if (e.begin > cursor) {
      fail(
        `data bytes ${cursor}-${e.begin} (before tensor '${name(e.key)}') belong to no tensor; the format requires the data section to be fully covered`,
        { key: e.key },
      );
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== bodyLength) {
    fail(
      `the last ${bodyLength - cursor} bytes of the data section (bytes ${cursor}-${bodyLength}) belong to no tensor`,
    );
  }

  // Valid: now copy the data out, in file order (empty tensors keep their header position among equals).
  const fileOrder = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.begin - b.e.begin || a.e.end - b.e.end || a.i - b.i)
    .map(({ e }) => e);
  const tensors: StateDict = new Map();
  for (const e of fileOrder) {
    const numel = (e.end - e.begin) / dtypeItemSize(e.dtype);
    tensors.set(e.key, {
      dtype: e.dtype,
      shape: e.shape,
      data: typedArrayFromBytes(e.dtype, buf, bodyStart + e.begin, numel),
    });
  }
  return { tensors, metadata };
}

/**
 * Writes tensors (in insertion order, data packed back to back) and optional string metadata as a
 * safetensors file. The header is compact JSON with `__metadata__` first (omitted when empty), padded with
 * spaces so that the data starts at a multiple of 8 bytes. The output is deterministic: writing what
 * {@link readSafetensors} returned reproduces the file byte for byte when the original was written the
 * same way.
 *
 * Every tensor is checked first ({@link validateRawTensor}); a bad one throws a {@link CheckpointError}.
 */
export function writeSafetensors(
  dict: StateDict | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const items: [string, RawTensor][] = dict instanceof Map ? [...dict.entries()] : Object.entries(dict);
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      fail(`metadata must be an object of strings, not ${describe(metadata)}`);
    }
    const fields = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string') fail(`metadata entry '${name(k)}' is ${describe(v)}, not a string`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    if (fields.length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const [key, t] of items) {
    if (key === METADATA_KEY) fail(`'${METADATA_KEY}' is reserved for metadata and cannot name a tensor`, { key });
    validateRawTensor(t, key, 'safetensors');
    const begin = offset;
    offset += t.data.byteLength;
    parts.push(
      `${JSON.stringify(key)}:{"dtype":"${CODE_FROM_DTYPE[t.dtype]}","shape":[${t.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = json.length + ((8 - ((8 + json.length) % 8)) % 8);
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES)
    fail(`header would be ${headerLength} bytes, over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`);
  const out = new Uint8Array(8 + headerLength + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLength, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const [, t] of items) {
    out.set(littleEndianBytes(t), pos);
    pos += t.data.byteLength;
  }
  return out;
}
