// Convolution layers.
import type { Tensor, tf } from '@cnn/tensor';
import * as F from '../functional';
import { Module, type HostTensor } from '../module';
import { defaultInit, pair, positiveInt } from './common';
import { permute } from './permute';

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
