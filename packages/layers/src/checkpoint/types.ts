// Tensors as checkpoint files hold them: a dtype, a shape and the raw elements in row-major order,
// each dtype in the typed array that holds its values (or, for the 16-bit floats, its bits) exactly.
import { CheckpointError } from './errors';
import { clipText, jsonPreview, previewShape } from './preview';

/**
 * A tensor as read from (or written to) a checkpoint: row-major (C-contiguous) elements, little-endian
 * semantics, no layout conversion.
 *
 * `data` holds `product(shape)` elements in the typed array of the dtype:
 * float32 `Float32Array`, float64 `Float64Array`, float16 and bfloat16 `Uint16Array` (the raw bits),
 * int64 `BigInt64Array`, int32 `Int32Array`, int16 `Int16Array`, int8 `Int8Array`, uint8 and bool
 * `Uint8Array` (bool as 0/1). Use {@link toFloat32} to get float32 values of any dtype.
 */
export interface RawTensor {
  /** The element type, named as PyTorch names it (`torch.float32` is `'float32'`). */
  dtype: 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
  /** The sizes of the dimensions; `[]` for a scalar (one element). */
  shape: number[];
  /** The elements in row-major order (see the interface's description for the array type of each dtype). */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
}

/** The element type of a {@link RawTensor}. */
export type DType = RawTensor['dtype'];

/** The typed array of a {@link RawTensor}'s elements. */
export type TensorData = RawTensor['data'];

/** A state dict: tensor name to tensor. Iteration order is the order of the tensors in the file. */
export type StateDict = Map<string, RawTensor>;

interface DTypeInfo {
  itemsize: number;
  /** `Symbol.toStringTag` of the typed array that holds this dtype. */
  arrayTag: string;
  create(buffer: ArrayBuffer, length: number): TensorData;
}

const DTYPE_INFO: Record<DType, DTypeInfo> = {
  float32: { itemsize: 4, arrayTag: 'Float32Array', create: (b, n) => new Float32Array(b, 0, n) },
  float64: { itemsize: 8, arrayTag: 'Float64Array', create: (b, n) => new Float64Array(b, 0, n) },
  float16: { itemsize: 2, arrayTag: 'Uint16Array', create: (b, n) => new Uint16Array(b, 0, n) },
  bfloat16: { itemsize: 2, arrayTag: 'Uint16Array', create: (b, n) => new Uint16Array(b, 0, n) },
  int64: { itemsize: 8, arrayTag: 'BigInt64Array', create: (b, n) => new BigInt64Array(b, 0, n) },
  int32: { itemsize: 4, arrayTag: 'Int32Array', create: (b, n) => new Int32Array(b, 0, n) },
  int16: { itemsize: 2, arrayTag: 'Int16Array', create: (b, n) => new Int16Array(b, 0, n) },
  int8: { itemsize: 1, arrayTag: 'Int8Array', create: (b, n) => new Int8Array(b, 0, n) },
  uint8: { itemsize: 1, arrayTag: 'Uint8Array', create: (b, n) => new Uint8Array(b, 0, n) },
  bool: { itemsize: 1, arrayTag: 'Uint8Array', create: (b, n) => new Uint8Array(b, 0, n) },
};

/** Every dtype a {@link RawTensor} can have. */
export const DTYPES: readonly DType[] = Object.freeze(Object.keys(DTYPE_INFO) as DType[]);

/** Whether `value` names a supported dtype. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(DTYPE_INFO, value);
}

/** Bytes per element of a dtype (float16: 2, int64: 8, bool: 1, ...). */
export function dtypeItemSize(dtype: DType): number {
  return DTYPE_INFO[dtype].itemsize;
}

/** Whether this machine stores typed-array elements little-endian (every mainstream one does). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(bytes: Uint8Array, itemsize: number): void {
  if (itemsize === 1) return;
  for (let i = 0; i + itemsize <= bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Copies `count` little-endian elements of `dtype` starting at `bytes[byteOffset]` into a new, aligned
 * typed array (file offsets are generally not aligned, so a view would not do). The caller has checked
 * that the bytes exist.
 *
 * @internal
 */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array, byteOffset: number, count: number): TensorData {
  const info = DTYPE_INFO[dtype];
  const nbytes = count * info.itemsize;
  const buffer = new ArrayBuffer(nbytes);
  const target = new Uint8Array(buffer);
  target.set(bytes.subarray(byteOffset, byteOffset + nbytes));
  if (!LITTLE_ENDIAN_HOST) swapBytes(target, info.itemsize);
  return info.create(buffer, count);
}

/**
 * The little-endian bytes of a tensor's elements: a view of `data` on little-endian machines, a swapped copy
 * elsewhere.
 *
 * @internal
 */
export function littleEndianBytes(t: RawTensor): Uint8Array {
  const view = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (LITTLE_ENDIAN_HOST) return view;
  const copy = view.slice();
  swapBytes(copy, DTYPE_INFO[t.dtype].itemsize);
  return copy;
}

/** `[64, 3, 7, 7]`: a shape as error messages print it (the first 16 dimensions of a longer one). */
export function formatShape(shape: readonly number[]): string {
  return previewShape(shape);
}

/**
 * The number of elements of a shape, or `Infinity` when it is not a safe integer (so a size check
 * against a byte count fails instead of overflowing).
 *
 * @internal
 */
export function shapeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return Infinity;
  }
  return n;
}

/**
 * Checks that `t` is a well-formed {@link RawTensor}: a known dtype, a shape of non-negative integers, and
 * `data` of the dtype's array type holding exactly `product(shape)` elements. Throws a
 * {@link CheckpointError} that names `key` otherwise.
 */
export function validateRawTensor(t: unknown, key: string, where = 'checkpoint'): asserts t is RawTensor {
  const fail = (why: string): never => {
    throw new CheckpointError(`${where}: tensor '${clipText(key)}' ${why}`, { key });
  };
  if (t === null || typeof t !== 'object') fail('is not a tensor object');
  const { dtype, shape, data } = t as Partial<RawTensor>;
  if (!isDType(dtype)) fail(`has unsupported dtype ${jsonPreview(dtype)} (supported: ${DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`has an invalid shape ${jsonPreview(shape)} (want an array of non-negative integers)`);
  }
  const info = DTYPE_INFO[dtype as DType];
  const tag = ArrayBuffer.isView(data)
    ? String((data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag])
    : typeof data;
  if (tag !== info.arrayTag) fail(`of dtype ${dtype} must hold its data in a ${info.arrayTag}, not a ${tag}`);
  const numel = shapeNumel(shape as number[]);
  if ((data as TensorData).length !== numel) {
    fail(
      `has shape ${formatShape(shape as number[])} (${numel} elements) but its data holds ${(data as TensorData).length}`,
    );
  }
}

/** Whether `value` looks like a {@link RawTensor} (a known dtype, a shape array and a typed array). */
export function isRawTensor(value: unknown): value is RawTensor {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<RawTensor>;
  return isDType(v.dtype) && Array.isArray(v.shape) && ArrayBuffer.isView(v.data);
}

// float16 -> float32 bits: a normal half (exponent 1..30) maps exactly by re-biasing the exponent (15 -> 127)
// and widening the mantissa (10 -> 23 bits); infinities and NaNs keep their payload; subnormals
// (m * 2^-24) are computed arithmetically, which is exact in float32.
function halfToFloat32(src: Uint16Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) {
      out[i] = (sign ? -man : man) * 2 ** -24; // gives -0 for a negative zero
    } else if (exp === 0x1f) {
      bits[i] = (sign | 0x7f800000 | (man << 13)) >>> 0;
    } else {
      bits[i] = (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
    }
  }
}

/**
 * The tensor's values as float32, in a new array: float64 rounds to nearest, float16 and bfloat16 widen
 * exactly (subnormals, infinities and NaN included), integers and bools convert by value. int64 values must
 * lie within ±(2^53 - 1) (they go through `Number`), otherwise a {@link CheckpointError} is thrown.
 */
export function toFloat32(t: RawTensor): Float32Array {
  const n = t.data.length;
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(t.data as Float32Array);
    case 'float16': {
      const out = new Float32Array(n);
      halfToFloat32(t.data as Uint16Array, out);
      return out;
    }
    case 'bfloat16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      const src = t.data as Uint16Array;
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
    case 'int64': {
      const out = new Float32Array(n);
      const src = t.data as BigInt64Array;
      const max = BigInt(Number.MAX_SAFE_INTEGER);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v > max || v < -max) {
          throw new CheckpointError(
            `toFloat32: int64 value ${v} at index ${i} is outside ±(2^53 - 1) and cannot be converted exactly to a Number`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'float64':
    case 'int32':
    case 'int16':
    case 'int8':
    case 'uint8':
    case 'bool':
      return new Float32Array(t.data as Exclude<TensorData, BigInt64Array>);
    default:
      throw new CheckpointError(`toFloat32: unsupported dtype ${jsonPreview((t as { dtype: unknown }).dtype)}`);
  }
}

/**
 * Every tensor of a state dict as float32 `{ shape, data }` (see {@link toFloat32}), same keys, same order:
 * the form a model's `loadStateDict` takes.
 */
export function toFloat32StateDict(dict: StateDict): Map<
  string,
  {
    /** Dimensions, in PyTorch's layout. */
    shape: number[];
    /** The values as float32, row-major. */
    data: Float32Array;
  }
> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [key, t] of dict) {
    try {
      out.set(key, { shape: t.shape.slice(), data: toFloat32(t) });
    } catch (err) {
      if (err instanceof CheckpointError) {
        err.key = key;
        err.message = `${err.message} (tensor '${clipText(key)}')`;
      }
      throw err;
    }
  }
  return out;
}
