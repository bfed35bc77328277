// Normalisation layers: batch norm and local response norm.
import { checkActivation, tf, type Tensor } from '@cnn/tensor';
import * as F from '../functional';
import { Module } from '../module';
import { positiveInt } from './common';

/** Options of {@link BatchNorm2d}, as PyTorch's. */
export interface BatchNormOptions {
  /** Default 1e-5 (GoogLeNet and MobileNetV3 use 1e-3). */
  eps?: number;
  /** Default 0.1: `running = (1 - momentum) * running + momentum * batch`. */
  momentum?: number;
  /** Learnable weight and bias (default true). */
  affine?: boolean;
}

/**
 * Batch normalisation over the channels of NHWC input, with PyTorch's semantics: in training it normalises with the
 * batch's biased variance and updates the running statistics with the unbiased one (momentum 0.1); in evaluation it
 * uses the running statistics. Keys: weight, bias, running_mean, running_var, num_batches_tracked.
 */
export class BatchNorm2d extends Module {
  /** Learnable scale γ, one per channel (key `weight`); null when `affine: false`. */
  readonly weight: tf.Variable | null;
  /** Learnable shift β, one per channel (key `bias`); null when `affine: false`. */
  readonly bias: tf.Variable | null;
  /** Running mean of each channel (buffer `running_mean`), used in evaluation. */
  readonly runningMean: tf.Variable;
  /** Running (unbiased) variance of each channel (buffer `running_var`), used in evaluation. */
  readonly runningVar: tf.Variable;
  /** Training steps seen (buffer `num_batches_tracked`), kept for PyTorch checkpoints. */
  readonly numBatchesTracked: tf.Variable;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Weight of the batch's statistics in the running update. */
  readonly momentum: number;

  constructor(
    /** Channels of the input. */
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    positiveInt('BatchNorm2d', 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32'));
  }

  forward(x: Tensor): Tensor {
    return this.normalise(x, 'linear');
  }

  /**
   * This layer followed by ReLU (`'relu'`) or ReLU6 (`'relu6'`), as `call(x)` then the activation module's `call`
   * would compute it, values and gradients, but in training mode in one pass over the tensor each way
   * (`F.batchNormTrain`'s activation). `ConvNormAct` and ResNet's blocks run their BatchNorm and ReLU this way while
   * training, except while a forward hook (`summary`) watches every module's output.
   */
  callWithActivation(x: Tensor, activation: 'relu' | 'relu6'): Tensor {
    checkActivation('BatchNorm2d', activation, ['relu', 'relu6']);
    return tf.tidy(() => this.normalise(x, activation));
  }

  private normalise(x: Tensor, activation: 'linear' | 'relu' | 'relu6'): Tensor {
    const c = x.shape[x.rank - 1];
    if (c !== this.numFeatures) throw new Error(`BatchNorm2d: input has ${c} channels, expected ${this.numFeatures}`);
    const affine = { weight: this.weight ?? undefined, bias: this.bias ?? undefined, eps: this.eps };
    if (!this.training) {
      const y = F.batchNorm(x, { mean: this.runningMean, variance: this.runningVar, ...affine });
      return activation === 'relu' ? F.relu(y) : activation === 'relu6' ? F.relu6(y) : y;
    }
    const { y, mean, variance, unbiased } = F.batchNormTrain(x, { ...affine, activation });
    const m = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
    tf.dispose([mean, variance, unbiased]);
    return y;
  }
}

/** Local response normalisation across channels, as `torch.nn.LocalResponseNorm(size, alpha, beta, k)`. */
export class LocalResponseNorm extends Module {
  constructor(
    /** Channels in each normalising neighbourhood. */
    readonly size: number,
    /** `alpha`, `beta` and `k` of the formula. */
    readonly options: F.LocalResponseNormOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.localResponseNorm(x, this.size, this.options);
  }
}
