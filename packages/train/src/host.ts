// Small helpers shared by the losses, metrics and optimizers: reading labels and logits to the host with
// errors that name the caller, and the plain-data form of a tensor that state dicts use.
import { tf, type Tensor } from '@cnn/tensor';

/** A tensor as plain, JSON-serialisable data: its shape and its values in row-major order. */
export interface HostArray {
  /** Dimensions. */
  shape: number[];
  /** Values, row-major. */
  data: number[];
}

/** Class indices as a caller may give them: an int32 tensor `[n]`, a plain array or a typed array. */
export type Labels = Tensor | ArrayLike<number>;

/** Copies a tensor's values into a {@link HostArray}. */
export function toHostArray(t: Tensor): HostArray {
  return { shape: [...t.shape], data: Array.from(t.dataSync()) };
}

/** Number of values a shape holds. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `[a, b, c]`, for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Reads class indices to the host and checks them: integers in `[0, numClasses)`, `n` of them when `n` is given.
 * A float tensor `[n, c]` (soft targets) is read as the index of each row's largest value when `softOk`.
 */
export function readLabels(op: string, labels: Labels, numClasses: number, n?: number, softOk = false): Int32Array {
  let out: Int32Array;
  if (labels instanceof tf.Tensor) {
    if (labels.rank === 2 && softOk) {
      if (labels.shape[1] !== numClasses) {
        throw new Error(
          `${op}: soft targets ${fmtShape(labels.shape)} have ${labels.shape[1]} classes, expected ${numClasses}`,
        );
      }
      out = argmaxRows(labels.dataSync() as Float32Array, labels.shape[0], numClasses);
    } else {
      if (labels.rank !== 1) {
        throw new Error(
          `${op}: labels must be class indices [n]${softOk ? ' or soft targets [n, c]' : ''}, got shape ${fmtShape(labels.shape)}`,
        );
      }
      if (labels.dtype !== 'int32') throw new Error(`${op}: class indices must be int32, got ${labels.dtype}`);
      out = labels.dataSync() as Int32Array;
    }
  } else {
    out = Int32Array.from(labels as ArrayLike<number>);
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (!Number.isInteger(v)) throw new Error(`${op}: class index ${i} is ${v}, not an integer`);
    }
  }
  if (n !== undefined && out.length !== n) throw new Error(`${op}: ${out.length} labels for ${n} samples`);
  for (let i = 0; i < out.length; i++) {
    if (out[i] < 0 || out[i] >= numClasses) {
      throw new Error(`${op}: class index ${out[i]} (sample ${i}) is out of range for ${numClasses} classes`);
    }
  }
  return out;
}

/** Index of the largest value of each row of a row-major `[n, c]` array (the first on ties; NaN never wins). */
export function argmaxRows(values: ArrayLike<number>, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = values[i * c + j];
      if (v > bestValue) {
        best = j;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Whether `v` is a plain JSON object (not null, not an array): what a state read from a file must be. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
