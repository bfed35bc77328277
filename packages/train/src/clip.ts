// Gradient clipping by total norm: torch.nn.utils.clip_grad_norm_ on immutable tfjs tensors.
import { tf, type Tensor } from '@cnn/tensor';

/** Gradients to clip: a map or record by name (nulls skipped), or an array. */
export type GradientSet = Map<string, Tensor | null> | Record<string, Tensor | null> | Array<Tensor | null>;

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** The norm: 2 (default), any p > 0, or `Infinity` (the largest absolute value). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default false, as PyTorch). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales gradients so that their total norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`: the total
 * norm is the norm of the per-tensor norms (that is, of all values together); every gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))` (a NaN total makes them NaN, as in PyTorch, unless `errorIfNonfinite`).
 *
 * tfjs tensors are immutable, so "in place" means: each scaled gradient replaces the old one in `grads` (same key
 * or index), and the old tensor is disposed. When no scaling is needed nothing is replaced.
 *
 * @returns the total norm before clipping (a host number).
 * @example
 * const { value, grads } = tf.variableGrads(lossFn, params);
 * const norm = clipGradNorm(grads, 1.0);
 * optimizer.step(grads);
 */
export function clipGradNorm(grads: GradientSet, maxNorm: number, opts: ClipGradNormOptions = {}): number {
  const normType = opts.normType ?? 2;
  if (!(typeof maxNorm === 'number' && maxNorm >= 0))
    throw new Error(`clipGradNorm: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  if (!(typeof normType === 'number' && normType > 0))
    throw new Error(`clipGradNorm: normType must be > 0 or Infinity, got ${String(normType)}`);
  const keys: Array<string | number> = Array.isArray(grads)
    ? grads.map((_, i) => i)
    : grads instanceof Map
      ? [...grads.keys()]
      : Object.keys(grads);
  const get = (k: string | number): Tensor | null | undefined =>
    Array.isArray(grads) ? grads[k as number] : grads instanceof Map ? grads.get(k as string) : grads[k as string];
  const present = keys.filter((k) => get(k));
  if (present.length === 0) return 0;
  const total = tf.tidy(() => {
    const norms = present.map((k) => tf.norm(get(k) as Tensor, normType));
    return tf.norm(tf.stack(norms), normType).dataSync()[0];
  });
  if (!Number.isFinite(total) && opts.errorIfNonfinite) {
    throw new Error(`clipGradNorm: the total norm of order ${normType} of the gradients is ${total}`);
  }
  const coef = Math.fround(maxNorm / (total + 1e-6));
  if (!(coef >= 1)) {
    for (const k of present) {
      const old = get(k) as Tensor;
      const scaled = tf.tidy(() => tf.mul(old, coef));
      if (Array.isArray(grads)) grads[k as number] = scaled;
      else if (grads instanceof Map) grads.set(k as string, scaled);
      else grads[k as string] = scaled;
      old.dispose();
    }
  }
  return total;
}
