// The generic blocks that several model families are built of (conv-norm-act, squeeze-and-excitation) and the
// factories blocks take. What varies is injected (norm, activation, attention); children are named so that models
// get torchvision's state-dict keys. A block that belongs to one family lives in that family's file, in its model
// package (ResNet's BasicBlock / Bottleneck in @cnn/models-classic's resnet.ts, MobileNet's InvertedResidual in
// @cnn/models-efficient's mobilenet-v2.ts, ...): this package cannot import from the model packages.
import { squeezeExcite, tf, type Tensor } from '@cnn/tensor';
import { Module, runsFused } from './module';
import { FusedConv } from './fuse';
import { BatchNorm2d, Conv2d, Hardsigmoid, Hardswish, ReLU, ReLU6, Sigmoid, type BatchNormOptions } from './layers';

/** Makes a normalisation layer for `channels`. */
export type NormFactory = (channels: number) => Module;
/** Makes an activation layer. */
export type ActFactory = () => Module;
/** Makes an attention block (for example {@link SEModule}) for `channels`. */
export type AttentionFactory = (channels: number) => Module;

/** BatchNorm2d with the given eps / momentum, as a {@link NormFactory}. */
export const batchNorm =
  (opts: BatchNormOptions = {}): NormFactory =>
  (c) =>
    new BatchNorm2d(c, opts);

/** The activations blocks take by name. */
export type ActName = 'relu' | 'relu6' | 'hardswish' | 'none';

/** An activation factory from its name. */
export function activation(name: ActName): ActFactory | null {
  switch (name) {
    case 'relu':
      return () => new ReLU();
    case 'relu6':
      return () => new ReLU6();
    case 'hardswish':
      return () => new Hardswish();
    case 'none':
      return null;
    default:
      throw new Error(`activation: unknown activation '${String(name)}'`);
  }
}

/** Options of {@link ConvNormAct}. */
export interface ConvNormActOptions {
  /** Stride of the convolution (default 1). */
  stride?: number;
  /** Default: (kernel - 1) / 2 * dilation, which keeps the size at stride 1. */
  padding?: number;
  /** Dilation of the convolution (default 1). */
  dilation?: number;
  /** Channel groups of the convolution (default 1; `groups = in = out` is depthwise). */
  groups?: number;
  /** Default BatchNorm2d with PyTorch's eps; null for none. */
  norm?: NormFactory | null;
  /** Default ReLU; null for none. */
  act?: ActFactory | null;
  /** Conv bias; default: only when there is no norm. */
  bias?: boolean;
  /**
   * Child names: `'indexed'` (torchvision's Conv2dNormActivation: '0' conv, '1' norm, '2' act) or `'named'`
   * (GoogLeNet's BasicConv2d: 'conv', 'bn').
   */
  naming?: 'indexed' | 'named';
}

/** Convolution, then normalisation, then activation: the unit most networks are built of. */
export class ConvNormAct extends Module {
  /** The convolution. */
  readonly conv: Conv2d;
  /** The normalisation after it, or null. */
  readonly norm: Module | null;
  /** The activation last, or null. */
  readonly act: Module | null;
  /** The three as one fused op in evaluation mode. */
  private readonly fused: FusedConv;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvNormActOptions = {}) {
    super();
    const dilation = opts.dilation ?? 1;
    const norm = opts.norm === undefined ? batchNorm() : opts.norm;
    const act = opts.act === undefined ? () => new ReLU() : opts.act;
    const named = opts.naming === 'named';
    this.conv = this.registerModule(
      named ? 'conv' : '0',
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: opts.stride ?? 1,
        padding: opts.padding ?? ((kernelSize - 1) / 2) * dilation,
        dilation,
        groups: opts.groups ?? 1,
        bias: opts.bias ?? norm === null,
      }),
    );
    this.norm = norm ? this.registerModule(named ? 'bn' : '1', norm(outChannels)) : null;
    this.act = act ? this.registerModule(named ? 'act' : String(norm ? 2 : 1), act()) : null;
    this.fused = this.registerPlan(new FusedConv(this.conv, this.norm, this.act));
  }

  forward(x: Tensor): Tensor {
    return this.fused.call(x);
  }
}

/** Options of {@link SEModule}. */
export interface SEOptions {
  /** Channels of the squeeze (default channels / 16, MMPretrain's ratio). */
  squeezeChannels?: number;
  /** The gate: 'sigmoid' (SENet) or 'hardsigmoid' (MobileNetV3). */
  gate?: 'sigmoid' | 'hardsigmoid';
}

/**
 * Squeeze-and-excitation (Hu et al., https://arxiv.org/abs/1709.01507): global average pool, 1x1 conv down, ReLU,
 * 1x1 conv up, gate, and scale the input's channels. Keys fc1 / fc2 as torchvision's SqueezeExcitation.
 */
export class SEModule extends Module {
  /** Squeeze: 1x1 convolution from `channels` down to the squeeze width. */
  readonly fc1: Conv2d;
  /** Excite: 1x1 convolution back up to `channels`, followed by the gate. */
  readonly fc2: Conv2d;
  private readonly activation: Module;
  private readonly gate: Module;
  private readonly hardGate: boolean;
  /** With the sigmoid gate: fc1 and ReLU, fc2 and the gate, each one fused op in evaluation mode. */
  private readonly squeeze: FusedConv | null = null;
  private readonly excite: FusedConv | null = null;

  constructor(
    /** Channels of the input, and of the gate. */
    readonly channels: number,
    opts: SEOptions = {},
  ) {
    super();
    const squeeze = opts.squeezeChannels ?? Math.max(1, Math.floor(channels / 16));
    this.fc1 = this.registerModule('fc1', new Conv2d(channels, squeeze, 1));
    this.fc2 = this.registerModule('fc2', new Conv2d(squeeze, channels, 1));
    this.activation = this.registerModule('activation', new ReLU());
    this.hardGate = (opts.gate ?? 'sigmoid') === 'hardsigmoid';
    this.gate = this.registerModule('scale_activation', this.hardGate ? new Hardsigmoid() : new Sigmoid());
    // The hard-sigmoid block runs as one op in evaluation mode (`squeezeExcite`: one wasm kernel call), on the
    // layers' own weights, so it has no derived tensors to keep.
    if (!this.hardGate) {
      this.squeeze = this.registerPlan(new FusedConv(this.fc1, null, this.activation));
      this.excite = this.registerPlan(new FusedConv(this.fc2, null, this.gate));
    }
  }

  forward(x: Tensor): Tensor {
    const { fc1, fc2 } = this;
    if (this.hardGate && runsFused(this) && x.rank === 4 && x.shape[3] === this.channels && fc1.bias && fc2.bias) {
      return squeezeExcite(x, fc1.weight, fc1.bias, fc2.weight, fc2.bias, 'hardsigmoid');
    }
    const s = tf.mean(x, [1, 2], true);
    if (this.squeeze && this.excite) return tf.mul(x, this.excite.call(this.squeeze.call(s)));
    return tf.mul(x, this.gate.call(fc2.call(this.activation.call(fc1.call(s)))));
  }
}
