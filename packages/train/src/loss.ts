// Cross-entropy with PyTorch's semantics (F.cross_entropy, PyTorch 1.13), built from differentiable tfjs ops
// so that tf.grad / tf.variableGrads see through it.
import { tf, type Tensor } from '@cnn/tensor';
import { fmtShape, readLabels, type Labels } from './host';

/** How per-sample losses are combined: PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /**
   * Label smoothing ε in `[0, 1]` (default 0): the target becomes `(1 - ε) * target + ε / c`. With class
   * indices and class weights, the smoothing term weights every class `j` by `weight[j]`, as PyTorch does.
   */
  labelSmoothing?: number;
  /** A weight per class (`c` values: an array or a tensor `[c]`), PyTorch's `weight`. */
  weight?: ArrayLike<number> | Tensor;
  /**
   * `'mean'` (default), `'sum'` or `'none'` (a loss per sample, `[n]`). With class indices and class weights,
   * `'mean'` divides by the sum of the target classes' weights `Σ_i weight[y_i]`; with soft targets it divides
   * by `n` whatever the weights (both as PyTorch).
   */
  reduction?: Reduction;
}

/**
 * Cross-entropy between logits and targets, exactly as PyTorch's `F.cross_entropy(logits, target, weight,
 * reduction, label_smoothing)`.
 *
 * - Class indices (`target` an int32 tensor `[n]` or a number array): per sample
 *   `l_i = (1 - ε) · w[y_i] · (-log p_i[y_i]) + (ε / c) · Σ_j w[j] · (-log p_i[j])`; `'mean'` is `Σ l_i / Σ w[y_i]`
 *   (`Σ l_i / n` without weights).
 * - Soft targets (`target` a float tensor `[n, c]`, such as Mixup / CutMix produce): with
 *   `q = (1 - ε) · target + ε / c`, `l_i = -Σ_j w[j] · q_ij · log p_ij`; `'mean'` is `Σ l_i / n`.
 *
 * So with class weights, one-hot soft targets and the equivalent class indices give different means (PyTorch's
 * behaviour, kept on purpose so losses compare with PyTorch runs).
 *
 * @param logits unnormalised scores `[n, c]`.
 * @param target class indices `[n]` or soft targets `[n, c]`.
 * @returns a scalar (`'mean'`, `'sum'`) or `[n]` (`'none'`), differentiable with respect to `logits`.
 * @throws when shapes disagree, a class index is out of range, the weights are not `c` values, or ε is outside `[0, 1]`.
 * @example
 * const loss = crossEntropy(model.call(x), y, { labelSmoothing: 0.1 });   // y: int32 [n]
 * const mixed = crossEntropy(model.call(x), softY);                        // softY: float32 [n, c]
 */
export function crossEntropy(logits: Tensor, target: Labels, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2) {
    const shape = logits instanceof tf.Tensor ? fmtShape(logits.shape) : typeof logits;
    throw new Error(`${op}: logits must be a tensor [n, c], got ${shape}`);
  }
  if (logits.dtype !== 'float32') throw new Error(`${op}: logits must be float32, got ${logits.dtype}`);
  const [n, c] = logits.shape;
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new Error(`${op}: labelSmoothing must be in [0, 1], got ${eps}`);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }
  const weight = opts.weight === undefined ? null : readWeight(op, opts.weight, c);
  const soft = target instanceof tf.Tensor && target.rank === 2;
  if (soft) {
    if (target.shape[0] !== n || target.shape[1] !== c) {
      throw new Error(`${op}: soft targets ${fmtShape(target.shape)} do not match logits ${fmtShape(logits.shape)}`);
    }
    if (target.dtype !== 'float32') throw new Error(`${op}: soft targets must be float32, got ${target.dtype}`);
  }
  const labels = soft ? null : readLabels(op, target, c, n);

  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1);
    const w = weight ? tf.tensor1d(weight) : null;
    if (soft) {
      let q: Tensor = target as Tensor;
      if (eps > 0) q = tf.add(tf.mul(q, 1 - eps), eps / c);
      let prod = tf.mul(logp, q);
      if (w) prod = tf.mul(prod, w);
      const perSample = tf.neg(tf.sum(prod, 1));
      return reduce(perSample, reduction, n);
    }
    const y = labels as Int32Array;
    const oneHot = tf.oneHot(tf.tensor1d(y, 'int32'), c);
    let nll: Tensor = tf.neg(tf.sum(tf.mul(logp, oneHot), 1));
    let weightSum = n;
    if (weight && w) {
      const wy = Float32Array.from(y, (k) => weight[k]);
      nll = tf.mul(nll, tf.tensor1d(wy));
      weightSum = wy.reduce((a, b) => a + b, 0);
    }
    let perSample = nll;
    if (eps > 0) {
      const smooth = tf.neg(tf.sum(w ? tf.mul(logp, w) : logp, 1));
      perSample = tf.add(tf.mul(nll, 1 - eps), tf.mul(smooth, eps / c));
    }
    return reduce(perSample, reduction, weightSum);
  });
}

function reduce(perSample: Tensor, reduction: Reduction, denominator: number): Tensor {
  if (reduction === 'none') return perSample;
  const total = tf.sum(perSample);
  return reduction === 'sum' ? total : tf.div(total, denominator);
}

function readWeight(op: string, weight: ArrayLike<number> | Tensor, c: number): Float32Array {
  const values =
    weight instanceof tf.Tensor
      ? weight.rank === 1
        ? Float32Array.from(weight.dataSync())
        : null
      : Float32Array.from(weight);
  if (!values)
    throw new Error(
      `${op}: weight must be one value per class [${c}], got shape ${fmtShape((weight as Tensor).shape)}`,
    );
  if (values.length !== c) throw new Error(`${op}: weight has ${values.length} values for ${c} classes`);
  for (let j = 0; j < c; j++) {
    if (!Number.isFinite(values[j])) throw new Error(`${op}: weight[${j}] is ${values[j]}, not a finite number`);
  }
  return values;
}
