// Helpers the layer classes share (not exported from the package).
import { tf, type Tensor } from '@cnn/tensor';
import type * as F from '../functional';
import { uniform } from '../random';

/** A size given as one number or [h, w], as [h, w]. */
export function pair(v: F.Size2): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Throws unless `v` is an integer >= 1, naming the layer and the argument. */
export function positiveInt(op: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${v}`);
}

/** PyTorch's default init of conv and linear layers: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias. */
export function defaultInit(shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.tensor(
    uniform(
      shape.reduce((a, b) => a * b, 1),
      -bound,
      bound,
    ),
    shape,
  );
}
