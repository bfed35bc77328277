// BatchNorm in training mode as a few passes over the activations (issue 15): the statistics, the normalisation
// and the written-out gradient. On 'wasm' each pass is one of cnn's kernels (kernels.c, "Training: BatchNorm");
// elsewhere the same formulas run as tfjs ops. @cnn/layers' `F.batchNormTrain` builds its custom gradient on these.
import { engine, getKernel, type NamedAttrMap, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { BN_AFFINE, BN_BACKWARD_INPUT, BN_BACKWARD_SUMS, BN_STATS } from './kernel-names';
import { reluGrad } from './relu-grad';

/**
 * The activation a training BatchNorm can apply to its output in the same pass (a BatchNorm followed by ReLU or
 * ReLU6, as `ConvNormAct` and ResNet's blocks are built): `'linear'` for none.
 */
export type BatchNormActivation = 'linear' | 'relu' | 'relu6';

const ACTIVATION_NAMES: readonly string[] = ['linear', 'relu', 'relu6'];

function checkActivation(op: string, activation: string): void {
  if (!ACTIVATION_NAMES.includes(activation))
    throw new Error(`${op}: activation must be 'linear', 'relu' or 'relu6', got ${JSON.stringify(activation)}`);
}

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

function run(name: string, inputs: NamedTensorMap, activation: BatchNormActivation = 'linear'): Tensor {
  return engine().runKernel(name, inputs, { activation } as unknown as NamedAttrMap) as Tensor;
}

/**
 * `activation((x - mean) * invStd * weight + bias)`: one {@link BN_AFFINE} pass on 'wasm', tfjs ops elsewhere. The
 * gradient recomputes the activation's input through this same function, so it has the forward's bits.
 */
function normalise(
  x: Tensor,
  mean: Tensor,
  invStd: Tensor,
  weight: Tensor | undefined,
  bias: Tensor | undefined,
  activation: BatchNormActivation,
): Tensor {
  return tf.tidy(() => {
    if (onWasm(BN_AFFINE) && x.dtype === 'float32') {
      const scale = weight ? tf.mul(invStd, weight) : invStd;
      return run(BN_AFFINE, { x, table: tf.stack([mean, scale, bias ?? tf.zerosLike(mean)]) }, activation);
    }
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
 * the statistics are one pass over x (float32 partial sums per block of 64 rows, added in double precision) and
 * the normalisation another; elsewhere tfjs's `moments` and element-wise ops.
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
  checkActivation('batchNormTrainForward', activation);
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
    return [normalise(x, mean, invStd, weight, bias, activation), mean, variance, invStd];
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
  checkActivation('batchNormTrainBackward', activation);
  const [dx, dweight, dbias] = tf.tidy((): Tensor[] => {
    const c = x.shape[x.rank - 1];
    const count = x.size / c;
    const wasm =
      onWasm(BN_BACKWARD_SUMS) && onWasm(BN_BACKWARD_INPUT) && x.dtype === 'float32' && dy.dtype === 'float32';
    // The kernels recompute the activation's input as BN_AFFINE computed it; elsewhere its gradient is a pass first.
    const folded = activation !== 'linear' && wasm && onWasm(BN_AFFINE);
    const g =
      activation !== 'linear' && !folded
        ? reluGrad(dy, normalise(x, mean, invStd, weight, opts.bias, 'linear'), activation === 'relu6')
        : dy;
    const act: BatchNormActivation = folded ? activation : 'linear';
    // weight * invStd: dx's factor, and BN_AFFINE's scale (the same product, so the same bits as the forward's).
    const k1 = weight ? tf.mul(invStd, weight) : invStd;
    // The table rows from which the kernels recompute the activation's input: BN_AFFINE's scale and shift.
    const shift = folded ? [k1, opts.bias ?? tf.zerosLike(mean)] : [];
    let dbias: Tensor;
    let dweight: Tensor;
    let xh: Tensor | undefined;
    if (wasm) {
      const sums = run(BN_BACKWARD_SUMS, { x, dy: g, table: tf.stack([mean, invStd, ...shift]) }, act);
      [dbias, dweight] = tf.unstack(sums) as [Tensor, Tensor];
    } else {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      xh = tf.mul(tf.sub(x, mean), invStd);
      dbias = tf.sum(g, axes);
      dweight = tf.sum(tf.mul(g, xh), axes);
    }
    let dx: Tensor;
    if (wasm) {
      const m1 = tf.div(dbias, count);
      const k2 = tf.mul(invStd, tf.div(dweight, count));
      dx = run(BN_BACKWARD_INPUT, { x, dy: g, table: tf.stack([mean, k1, m1, k2, ...shift]) }, act);
    } else {
      xh ??= tf.mul(tf.sub(x, mean), invStd);
      const centred = tf.sub(tf.sub(g, tf.div(dbias, count)), tf.mul(xh, tf.div(dweight, count)));
      dx = tf.mul(centred, k1);
    }
    return [dx, dweight, dbias];
  });
  return { dx, dweight, dbias };
}
