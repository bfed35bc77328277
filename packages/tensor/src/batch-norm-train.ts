// BatchNorm in training mode as a few passes over the activations (issue 15): the statistics, the normalisation
// and the written-out gradient. On 'wasm' each pass is one of cnn's kernels (kernels.c, "Training: BatchNorm");
// elsewhere the same formulas run as tfjs ops. @cnn/layers' `F.batchNormTrain` builds its custom gradient on these.
import { engine, getKernel, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { BN_AFFINE, BN_BACKWARD_INPUT, BN_BACKWARD_SUMS, BN_STATS } from './kernel-names';

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

function onWasm(name: string): boolean {
  return getKernel(name, tf.getBackend()) !== undefined;
}

function run(name: string, inputs: NamedTensorMap): Tensor {
  return engine().runKernel(name, inputs, {}) as Tensor;
}

/**
 * BatchNorm's forward pass in training mode over the last (channel) dimension: the batch's mean and biased
 * variance, then `(x - mean) / sqrt(variance + eps) * weight + bias`. No gradient is recorded: callers wrap it in
 * a custom gradient with {@link batchNormTrainBackward} (as `F.batchNormTrain` of @cnn/layers does). On 'wasm'
 * the statistics are one pass over x (float32 partial sums per block of 64 rows, added in double precision) and
 * the normalisation another; elsewhere tfjs's `moments` and element-wise ops.
 *
 * @param x - float32, channels last, at least one value per channel (the caller checks for more than one).
 * @param weight - γ of shape [c], or undefined for 1.
 * @param bias - β of shape [c], or undefined for 0.
 * @param eps - added to the variance (PyTorch's default is 1e-5).
 */
export function batchNormTrainForward(
  x: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  eps: number,
): BatchNormForward {
  const [y, mean, variance, invStd] = tf.tidy((): Tensor[] => {
    const c = x.shape[x.rank - 1];
    let mean: Tensor;
    let variance: Tensor;
    if (onWasm(BN_STATS) && x.dtype === 'float32') {
      const s = run(BN_STATS, { x });
      [mean, variance] = tf.unstack(s) as [Tensor, Tensor];
    } else {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      ({ mean, variance } = tf.moments(x, axes));
      mean = mean.reshape([c]);
      variance = variance.reshape([c]);
    }
    const invStd = tf.rsqrt(tf.add(variance, eps));
    let y: Tensor;
    if (onWasm(BN_AFFINE) && x.dtype === 'float32') {
      const scale = weight ? tf.mul(invStd, weight) : invStd;
      y = run(BN_AFFINE, { x, table: tf.stack([mean, scale, bias ?? tf.zerosLike(mean)]) });
    } else {
      const xh = tf.mul(tf.sub(x, mean), invStd);
      y = weight ? tf.mul(xh, weight) : xh;
      if (bias) y = tf.add(y, bias);
    }
    return [y, mean, variance, invStd];
  });
  return { y, mean, variance, invStd };
}

/**
 * BatchNorm's gradient in training mode, written out as PyTorch's: with x̂ = (x - mean) · invStd and g = weight,
 * `dbias = Σ dy`, `dweight = Σ dy · x̂`, `dx = g · invStd · (dy - dbias / count - x̂ · dweight / count)`.
 * On 'wasm' the two sums are one pass over x and dy, and dx another.
 *
 * @param dy - gradient of the output, the shape of x.
 * @param x - the forward input.
 * @param mean - its per-channel mean (from {@link batchNormTrainForward}).
 * @param invStd - its per-channel `1 / sqrt(variance + eps)`.
 * @param weight - γ, or undefined for 1.
 */
export function batchNormTrainBackward(
  dy: Tensor,
  x: Tensor,
  mean: Tensor,
  invStd: Tensor,
  weight: Tensor | undefined,
): BatchNormBackward {
  const [dx, dweight, dbias] = tf.tidy((): Tensor[] => {
    const c = x.shape[x.rank - 1];
    const count = x.size / c;
    const wasm = onWasm(BN_BACKWARD_SUMS) && x.dtype === 'float32' && dy.dtype === 'float32';
    let dbias: Tensor;
    let dweight: Tensor;
    let xh: Tensor | undefined;
    if (wasm) {
      const sums = run(BN_BACKWARD_SUMS, { x, dy, table: tf.stack([mean, invStd]) });
      [dbias, dweight] = tf.unstack(sums) as [Tensor, Tensor];
    } else {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      xh = tf.mul(tf.sub(x, mean), invStd);
      dbias = tf.sum(dy, axes);
      dweight = tf.sum(tf.mul(dy, xh), axes);
    }
    const k1 = weight ? tf.mul(weight, invStd) : invStd;
    let dx: Tensor;
    if (wasm && onWasm(BN_BACKWARD_INPUT)) {
      const m1 = tf.div(dbias, count);
      const k2 = tf.mul(invStd, tf.div(dweight, count));
      dx = run(BN_BACKWARD_INPUT, { x, dy, table: tf.stack([mean, k1, m1, k2]) });
    } else {
      xh ??= tf.mul(tf.sub(x, mean), invStd);
      const centred = tf.sub(tf.sub(dy, tf.div(dbias, count)), tf.mul(xh, tf.div(dweight, count)));
      dx = tf.mul(centred, k1);
    }
    return [dx, dweight, dbias];
  });
  return { dx, dweight, dbias };
}
