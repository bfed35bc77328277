// Checking what a state dict to be loaded holds, before anything is assigned: shared by Module.loadStateDict and
// loadTorchState (which converts layouts first, and must not convert a tensor whose data does not fit its shape).
import { tf } from '@cnn/tensor';
import { clipText, jsonPreview, previewShape } from './checkpoint/preview';
import { shapeNumel } from './checkpoint/types';

/** The dtypes of a tf.Tensor that a parameter or buffer can be loaded from (cast to the variable's dtype). */
const LOADABLE_DTYPES = new Set(['float32', 'int32', 'bool']);

/**
 * Why `t` cannot be loaded (`has shape [2, 3] (6 values) but its data holds 5`), or null when it can: a live
 * tf.Tensor of a real dtype, or `{ shape, data }` with a shape of non-negative integers and numeric data
 * (a typed array other than a BigInt one, or an array of numbers) of exactly `product(shape)` values.
 */
export function hostTensorProblem(t: unknown): string | null {
  if (t instanceof tf.Tensor) {
    if (t.isDisposed) return 'is a disposed tensor';
    if (!LOADABLE_DTYPES.has(t.dtype)) return `is a ${t.dtype} tensor (float32, int32 and bool load)`;
    return null;
  }
  if (t === null || typeof t !== 'object') return `is ${jsonPreview(t)}, not a tensor or { shape, data }`;
  const { shape, data } = t as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return `has an invalid shape ${jsonPreview(shape)} (want an array of non-negative integers)`;
  }
  const numeric =
    (ArrayBuffer.isView(data) &&
      !(data instanceof DataView) &&
      !(data instanceof BigInt64Array) &&
      !(data instanceof BigUint64Array)) ||
    (Array.isArray(data) && data.every((x) => typeof x === 'number'));
  if (!numeric) return `has data ${jsonPreview(data)}, not a Float32Array (or other numeric array)`;
  const numel = shapeNumel(shape as number[]);
  const length = (data as ArrayLike<number>).length;
  if (length !== numel) return `has shape ${previewShape(shape)} (${numel} values) but its data holds ${length}`;
  return null;
}

/** A key as messages quote it: its first 120 characters. */
export const quoteKey = (key: string): string => `'${clipText(key, 120)}'`;

/** At most `max` items of a list for a message, then how many more there are. */
export function listForMessage(items: readonly string[], sep = ', ', max = 50): string {
  const shown = items.slice(0, max).join(sep);
  return items.length > max ? `${shown}${sep}... (${items.length - max} more)` : shown;
}
