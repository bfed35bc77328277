// BatchNorm in training mode as a few passes over the activations (issue 15): the statistics, the normalisation
// and the written-out gradient. On 'wasm' the forward and the gradient are one kernel call each (kernels.c,
// "Training: BatchNorm", two passes per call); elsewhere the same formulas run as tfjs ops. @cnn/layers'
// `F.batchNormTrain` builds its custom gradient on these.
import { engine, getKernel, type NamedAttrMap, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { BN_TRAIN_BACKWARD, BN_TRAIN_FORWARD } from './kernel-names';
import { CONV_ACTIVATIONS, checkActivation } from './fused-ops';
import { reluGrad } from './relu-grad';

/**
 * The activation a training BatchNorm can apply to its output in the same pass (a BatchNorm followed by ReLU or
 * ReLU6, as `ConvNormAct` and ResNet's blocks are built): `'linear'` for none.
 */
export type BatchNormActivation = 'linear' | 'relu' | 'relu6';

/** What {@link batchNormTrainForward} returns; every tensor but `y` has shape [c]. */
export interface BatchNormForward {
  /** `(x - mean) * invStd * weight + bias`. */
  y: Tensor;
  /** Mean of each channel over every dimension but the last. */
  mean: Tensor;
  /** Biased variance of each channel (divided by the count), the one `y` is normalised with. */
  variance: Tensor;
  /** `1 / sqrt(variance + eps)`. */
  invStd: Tensor;
  /**
   * Unbiased variance, `variance * count / (count - 1)` (the one PyTorch's running statistics track); NaN with one
   * value per channel.
   */
  unbiased: Tensor;
}

/** What {@link batchNormTrainBackward} returns. */
export interface BatchNormBackward {
  /** Gradient with respect to the input. */
  dx: Tensor;
  /** Gradient with respect to the weight (γ): Σ dy · x̂ per channel. */
  dweight: Tensor;
  /** Gradient with respect to the bias (β): Σ dy per channel. */
  dbias: Tensor;
}

/** Whether the current backend runs `name` as one of cnn's kernels (the 'wasm' backend, float32 tensors). */
function onWasm(name: string, ...ts: Tensor[]): boolean {
  return getKernel(name, tf.getBackend()) !== undefined && ts.every((t) => t.dtype === 'float32');
}

/** The kernels' inputs: the tensors given, without the absent optional ones. */
function present(ts: Record<string, Tensor | undefined>): NamedTensorMap {
  const out: NamedTensorMap = {};
  for (const k in ts) {
    const t = ts[k];
    if (t) out[k] = t;
  }
  return out;
}

/** `activation((x - mean) * invStd * weight + bias)` as tfjs ops (the backends without cnn's kernels). */
function normalise(
  x: Tensor,
  mean: Tensor,
  invStd: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  activation: BatchNormActivation,
): Tensor {
  return tf.tidy(() => {
    const xh = tf.mul(tf.sub(x, mean), invStd);
    let y = weight ? tf.mul(xh, weight) : xh;
    if (bias) y = tf.add(y, bias);
    return activation === 'relu' ? tf.relu(y) : activation === 'relu6' ? tf.relu6(y) : y;
  });
}

/**
 * BatchNorm's forward pass in training mode over the last (channel) dimension: the batch's mean and biased
 * variance, then `(x - mean) / sqrt(variance + eps) * weight + bias`. No gradient is recorded: callers wrap it in
 * a custom gradient with {@link batchNormTrainBackward} (as `F.batchNormTrain` of @cnn/layers does). On 'wasm'
 * it is one kernel call (`CnnBatchNormTrainForward`): the statistics in one pass over x (float32 partial sums per
 * block of 64 rows, added in double precision), the per-channel coefficients, the normalisation in another pass;
 * elsewhere tfjs's `moments` and element-wise ops, with the same float32 formulas.
 *
 * @param x - float32, channels last, at least one value per channel (the caller checks for more than one).
 * @param weight - γ of shape [c], or undefined for 1.
 * @param bias - β of shape [c], or undefined for 0.
 * @param eps - added to the variance (PyTorch's default is 1e-5).
 * @param activation - applied to `y` in the same pass (default `'linear'`: none); `y` is then what `tf.relu` or
 *   `tf.relu6` would make of the normalised values, and {@link batchNormTrainBackward} takes the same activation.
 */
export function batchNormTrainForward(
  x: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
  activation: BatchNormActivation = 'linear',
): BatchNormForward {
  checkActivation('batchNormTrainForward', activation, CONV_ACTIVATIONS);
  if (typeof eps !== 'number' || !(eps >= 0))
    throw new Error(`batchNormTrainForward: eps must be a number >= 0, got ${eps}`);
  if (onWasm(BN_TRAIN_FORWARD, x)) {
    const attrs = { eps, activation } as unknown as NamedAttrMap;
    const [y, mean, variance, invStd, unbiased] = engine().runKernel(
      BN_TRAIN_FORWARD,
      present({ x, weight, bias }),
      attrs,
    ) as Tensor[];
    return { y, mean, variance, invStd, unbiased };
  }
  const [y, mean, variance, invStd, unbiased] = tf.tidy((): Tensor[] => {
    const c = x.shape[x.rank - 1];
    const count = x.size / c;
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const m = tf.moments(x, axes);
    const mean = m.mean.reshape([c]);
    const variance = m.variance.reshape([c]);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const unbiased = tf.mul(variance, count / (count - 1));
    return [normalise(x, mean, invStd, weight, bias, activation), mean, variance, invStd, unbiased];
  });
  return { y, mean, variance, invStd, unbiased };
}

/**
 * BatchNorm's gradient in training mode, written out as PyTorch's: with x̂ = (x - mean) · invStd and g = weight,
 * `dbias = Σ dy`, `dweight = Σ dy · x̂`, `dx = g · invStd · (dy - dbias / count - x̂ · dweight / count)`.
 * On 'wasm' it is one kernel call (`CnnBatchNormTrainBackward`): the two sums in one pass over x and dy, dx in another.
 *
 * @param dy - gradient of the output, the shape of x.
 * @param x - the forward input.
 * @param mean - its per-channel mean (from {@link batchNormTrainForward}).
 * @param invStd - its per-channel `1 / sqrt(variance + eps)`.
 * @param weight - γ, or undefined for 1.
 * @param opts - the forward's `activation` (default `'linear'`), with its `bias` (β, or undefined for 0): `dy` is
 *   then the gradient of the activated output, and goes through the activation's gradient first (`tf.relu`'s or
 *   `tf.relu6`'s, at the normalised values recomputed from x), on 'wasm' inside the two passes.
 */
export function batchNormTrainBackward(
  dy: Tensor,
  x: Tensor,
  mean: Tensor,
  invStd: Tensor,
  weight: Tensor | undefined,
  opts: { activation?: BatchNormActivation; bias?: Tensor } = {},
): BatchNormBackward {
  const activation = opts.activation ?? 'linear';
  checkActivation('batchNormTrainBackward', activation, CONV_ACTIVATIONS);
  if (onWasm(BN_TRAIN_BACKWARD, x, dy)) {
    const inputs = present({ dy, x, mean, invStd, weight, bias: activation !== 'linear' ? opts.bias : undefined });
    const attrs = { activation } as unknown as NamedAttrMap;
    const [dx, dweight, dbias] = engine().runKernel(BN_TRAIN_BACKWARD, inputs, attrs) as Tensor[];
    return { dx, dweight, dbias };
  }
  const [dx, dweight, dbias] = tf.tidy((): Tensor[] => {
    const c = x.shape[x.rank - 1];
    const count = x.size / c;
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const g =
      activation !== 'linear'
        ? reluGrad(dy, normalise(x, mean, invStd, weight, opts.bias, 'linear'), activation === 'relu6')
        : dy;
    const k1 = weight ? tf.mul(invStd, weight) : invStd;
    const xh = tf.mul(tf.sub(x, mean), invStd);
    const dbias = tf.sum(g, axes);
    const dweight = tf.sum(tf.mul(g, xh), axes);
    const centred = tf.sub(tf.sub(g, tf.div(dbias, count)), tf.mul(xh, tf.div(dweight, count)));
    return [tf.mul(centred, k1), dweight, dbias];
  });
  return { dx, dweight, dbias };
}
