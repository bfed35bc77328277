// The class API: one Module per function of F, with PyTorch's constructor arguments, defaults,
// parameter names and initialisation.
import { tf, type Tensor } from '@cnn/tensor';
import * as F from './functional';
import { Module, type HostTensor } from './module';
import { uniform } from './random';

function pair(v: F.Size2): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function positiveInt(op: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${v}`);
}

/** PyTorch's default init of conv and linear layers: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias. */
function defaultInit(shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.tensor(uniform(shape.reduce((a, b) => a * b, 1), -bound, bound), shape);
}

/** Options of {@link Conv2d}, as `torch.nn.Conv2d`'s. */
export interface Conv2dOptions {
  /** Step of the window: one number, or [along h, along w]. Default 1. */
  stride?: F.Size2;
  /** Zeros added around the input (a number, [h, w], per side, `'same'` or `'valid'`). Default 0. */
  padding?: F.Padding2;
  /** Spacing between the kernel's taps. Default 1. */
  dilation?: F.Size2;
  /** Channel groups: `in` and `out` must both divide by it; `groups = in = out` is depthwise. Default 1. */
  groups?: number;
  /** Default true. */
  bias?: boolean;
}

/**
 * 2-D convolution layer, as `torch.nn.Conv2d(in, out, kernelSize, ...)`. The weight is stored
 * [kh, kw, in / groups, out] (PyTorch's [out, in / groups, kh, kw] is converted on import).
 *
 * @example
 * const conv = new Conv2d(3, 6, 3, { padding: 1 });
 * conv.call(tf.randomNormal([1, 8, 12, 3])).shape;   // [1, 8, 12, 6]
 */
export class Conv2d extends Module {
  /** The kernel, [kh, kw, in / groups, out]; state-dict key `weight`. */
  readonly weight: tf.Variable;
  /** One value per output channel (key `bias`), or null when built with `bias: false`. */
  readonly bias: tf.Variable | null;
  /** [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Stride, padding, dilation and groups with their defaults filled in. */
  readonly options: Required<Omit<Conv2dOptions, 'bias'>>;

  constructor(
    /** Channels the input must have. */
    readonly inChannels: number,
    /** Channels of the output (the number of kernels). */
    readonly outChannels: number,
    kernelSize: F.Size2,
    opts: Conv2dOptions = {},
  ) {
    super();
    const groups = opts.groups ?? 1;
    positiveInt('Conv2d', 'inChannels', inChannels);
    positiveInt('Conv2d', 'outChannels', outChannels);
    positiveInt('Conv2d', 'groups', groups);
    if (inChannels % groups || outChannels % groups) {
      throw new Error(`Conv2d: groups=${groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`);
    }
    this.kernelSize = pair(kernelSize);
    const [kh, kw] = this.kernelSize;
    positiveInt('Conv2d', 'kernelSize', kh);
    positiveInt('Conv2d', 'kernelSize', kw);
    this.options = { stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups };
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = this.registerParameter('weight', defaultInit([kh, kw, inChannels / groups, outChannels], fanIn));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultInit([outChannels], fanIn));
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, { ...this.options, bias: this.bias ?? undefined });
  }

  /** Multiply-accumulates of one forward pass that produced `outShape` (conv layers only, as torchvision counts). */
  macs(outShape: number[]): number {
    const [kh, kw] = this.kernelSize;
    return outShape.reduce((a, b) => a * b, 1) * (this.inChannels / this.options.groups) * kh * kw;
  }

  override fromTorchLayout(name: string, t: HostTensor): HostTensor {
    return name === 'weight' ? permute(t, [2, 3, 1, 0]) : t; // OIHW -> HWIO
  }

  override toTorchLayout(name: string, t: HostTensor): HostTensor {
    return name === 'weight' ? permute(t, [3, 2, 0, 1]) : t; // HWIO -> OIHW
  }
}

/**
 * Fully connected layer, as `torch.nn.Linear(in, out)`; the weight is stored [in, out].
 * When it follows a flatten of an NHWC feature map, pass `flattenedFrom: [h, w, c]` so that PyTorch weights
 * (which expect the C-H-W flatten order) are reordered on import.
 */
export class Linear extends Module {
  /** [in, out] (PyTorch's [out, in] is transposed on import); key `weight`. */
  readonly weight: tf.Variable;
  /** One value per output feature (key `bias`), or null when built with `bias: false`. */
  readonly bias: tf.Variable | null;

  constructor(
    /** Features each input row must have. */
    readonly inFeatures: number,
    /** Features of each output row. */
    readonly outFeatures: number,
    opts: { bias?: boolean; flattenedFrom?: [number, number, number] } = {},
  ) {
    super();
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    this.flattenedFrom = opts.flattenedFrom ?? null;
    if (this.flattenedFrom && this.flattenedFrom.reduce((a, b) => a * b, 1) !== inFeatures) {
      throw new Error(`Linear: flattenedFrom [${this.flattenedFrom.join(', ')}] has ${this.flattenedFrom.reduce((a, b) => a * b, 1)} values, not inFeatures=${inFeatures}`);
    }
    this.weight = this.registerParameter('weight', defaultInit([inFeatures, outFeatures], inFeatures));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultInit([outFeatures], inFeatures));
  }

  /** [h, w, c] of the NHWC map this layer's input was flattened from, if any. */
  readonly flattenedFrom: [number, number, number] | null;

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias ?? undefined);
  }

  /** Multiply-accumulates of a call whose output has shape `outShape` (read by `summary`). */
  macs(outShape: number[]): number {
    return outShape.reduce((a, b) => a * b, 1) * this.inFeatures;
  }

  override fromTorchLayout(name: string, t: HostTensor): HostTensor {
    if (name !== 'weight') return t;
    const w = permute(t, [1, 0]); // [out, in] -> [in, out], rows in PyTorch's C-H-W order
    if (!this.flattenedFrom) return w;
    const [h, wd, c] = this.flattenedFrom;
    const out = new Float32Array(w.data.length);
    const o = this.outFeatures;
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++) {
          const src = (ci * h + i) * wd + j;
          const dst = (i * wd + j) * c + ci;
          out.set(w.data.subarray(src * o, src * o + o), dst * o);
        }
    return { shape: w.shape, data: out };
  }

  override toTorchLayout(name: string, t: HostTensor): HostTensor {
    if (name !== 'weight') return t;
    let rows = t;
    if (this.flattenedFrom) {
      const [h, wd, c] = this.flattenedFrom;
      const o = this.outFeatures;
      const out = new Float32Array(t.data.length);
      for (let ci = 0; ci < c; ci++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < wd; j++) {
            const dst = (ci * h + i) * wd + j;
            const src = (i * wd + j) * c + ci;
            out.set(t.data.subarray(src * o, src * o + o), dst * o);
          }
      rows = { shape: t.shape, data: out };
    }
    return permute(rows, [1, 0]);
  }
}

/** Transposes a host tensor: `perm[i]` is the source dimension of output dimension i. */
export function permute(t: HostTensor, perm: number[]): HostTensor {
  const shape = perm.map((p) => t.shape[p]);
  const rank = shape.length;
  const srcStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    srcStrides[i] = s;
    s *= t.shape[i];
  }
  const strides = perm.map((p) => srcStrides[p]);
  const out = new Float32Array(t.data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let n = 0; n < out.length; n++) {
    out[n] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return { shape, data: out };
}

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
    const c = x.shape[x.rank - 1];
    if (c !== this.numFeatures) throw new Error(`BatchNorm2d: input has ${c} channels, expected ${this.numFeatures}`);
    const affine = { weight: this.weight ?? undefined, bias: this.bias ?? undefined, eps: this.eps };
    if (!this.training) return F.batchNorm(x, { mean: this.runningMean, variance: this.runningVar, ...affine });
    const { y, mean, variance, unbiased } = F.batchNormTrain(x, affine);
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

/** Max pooling layer, as `torch.nn.MaxPool2d(kernelSize, stride?, padding?, ceilMode?)`. */
export class MaxPool2d extends Module {
  constructor(
    /** Window size: one number or [h, w]. */
    readonly kernelSize: F.Size2,
    /** Stride (default: the kernel size), padding and `ceilMode`. */
    readonly options: F.Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

/** Average pooling layer, as `torch.nn.AvgPool2d` (with `countIncludePad`, `ceilMode`). */
export class AvgPool2d extends Module {
  constructor(
    /** Window size: one number or [h, w]. */
    readonly kernelSize: F.Size2,
    /** Stride (default: the kernel size), padding, `ceilMode` and `countIncludePad`. */
    readonly options: F.Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
}

/** Adaptive average pooling to a fixed output size, as `torch.nn.AdaptiveAvgPool2d`. */
export class AdaptiveAvgPool2d extends Module {
  constructor(
    /** Output [h, w] (or one number for both), whatever the input's size. */
    readonly outputSize: F.Size2,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
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

/** Dropout, active only in training mode, as `torch.nn.Dropout(p)`. */
export class Dropout extends Module {
  constructor(
    /** Probability of zeroing each value in training. */
    readonly p = 0.5,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** Flattens from `startDim` on (NHWC order), as `torch.nn.Flatten`. */
export class Flatten extends Module {
  constructor(
    /** First dimension to flatten into one (default 1: keep the batch). */
    readonly startDim = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim);
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.clone();
  }
}

/** ShuffleNet's channel shuffle as a layer. */
export class ChannelShuffle extends Module {
  constructor(
    /** Channel groups to interleave; the channel count must divide by it. */
    readonly groups: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.channelShuffle(x, this.groups);
  }
}

/** Softmax along `dim` (default the last). */
export class Softmax extends Module {
  constructor(
    /** Dimension that sums to 1 (default -1, the channels). */
    readonly dim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
}

/** Log-softmax along `dim` (default the last). */
export class LogSoftmax extends Module {
  constructor(
    /** Dimension to normalise over (default -1, the channels). */
    readonly dim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
}

/** An activation function as a module (no parameters). */
abstract class Activation extends Module {}

/** max(x, 0). */
export class ReLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

/** Leaky ReLU with PyTorch's default slope 0.01. */
export class LeakyReLU extends Activation {
  constructor(
    /** Slope for negative inputs. */
    readonly negativeSlope = 0.01,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
}

/** ELU with `alpha` (default 1). */
export class ELU extends Activation {
  constructor(
    /** Value the output approaches for large negative inputs. */
    readonly alpha = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.elu(x, this.alpha);
  }
}

/** The logistic sigmoid. */
export class Sigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/** Hyperbolic tangent. */
export class Tanh extends Activation {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/** GELU, exact (erf) form. */
export class GELU extends Activation {
  forward(x: Tensor): Tensor {
    return F.gelu(x);
  }
}

/** SiLU (swish): x * sigmoid(x). */
export class SiLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

/** PyTorch's hard sigmoid relu6(x + 3) / 6. */
export class Hardsigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardSigmoid(x);
  }
}

/** x * relu6(x + 3) / 6. */
export class Hardswish extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardSwish(x);
  }
}
