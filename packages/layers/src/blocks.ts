// The blocks the model families are made of, each defined once. What varies is injected (norm,
// activation, attention); children are named so that models get torchvision's state-dict keys.
import { tf, type Tensor } from '@cnn/tensor';
import * as F from './functional';
import { Module, Sequential } from './module';
import { BatchNorm2d, Conv2d, Hardsigmoid, Hardswish, MaxPool2d, ReLU, ReLU6, Sigmoid, type BatchNormOptions } from './layers';

/** Makes a normalisation layer for `channels`. */
export type NormFactory = (channels: number) => Module;
/** Makes an activation layer. */
export type ActFactory = () => Module;
/** Makes an attention block (for example {@link SEModule}) for `channels`. */
export type AttentionFactory = (channels: number) => Module;

/** BatchNorm2d with the given eps / momentum, as a {@link NormFactory}. */
export const batchNorm = (opts: BatchNormOptions = {}): NormFactory => (c) => new BatchNorm2d(c, opts);

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

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvNormActOptions = {}) {
    super();
    const dilation = opts.dilation ?? 1;
    const norm = opts.norm === undefined ? batchNorm() : opts.norm;
    const act = opts.act === undefined ? () => new ReLU() : opts.act;
    const named = opts.naming === 'named';
    this.conv = this.registerModule(named ? 'conv' : '0', new Conv2d(inChannels, outChannels, kernelSize, {
      stride: opts.stride ?? 1,
      padding: opts.padding ?? ((kernelSize - 1) / 2) * dilation,
      dilation,
      groups: opts.groups ?? 1,
      bias: opts.bias ?? norm === null,
    }));
    this.norm = norm ? this.registerModule(named ? 'bn' : '1', norm(outChannels)) : null;
    this.act = act ? this.registerModule(named ? 'act' : String(norm ? 2 : 1), act()) : null;
  }

  forward(x: Tensor): Tensor {
    let y = this.conv.call(x);
    if (this.norm) y = this.norm.call(y);
    if (this.act) y = this.act.call(y);
    return y;
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
    this.gate = this.registerModule('scale_activation', (opts.gate ?? 'sigmoid') === 'sigmoid' ? new Sigmoid() : new Hardsigmoid());
  }

  forward(x: Tensor): Tensor {
    const s = tf.mean(x, [1, 2], true);
    return tf.mul(x, this.gate.call(this.fc2.call(this.activation.call(this.fc1.call(s)))));
  }
}

/** Options shared by the residual blocks. */
export interface ResidualOptions {
  /** Stride of the block (2 halves the size); the first 3x3 (BasicBlock) or the 3x3 (Bottleneck) carries it. */
  stride?: number;
  /** The shortcut when shapes change (torchvision: Sequential(conv1x1, bn)). */
  downsample?: Module | null;
  /** ResNeXt: groups of the 3x3 convolution. */
  groups?: number;
  /** ResNeXt: width per group (64 for ResNet). */
  baseWidth?: number;
  /** Dilation of the 3x3 convolution (default 1). */
  dilation?: number;
  /** Normalisation after each convolution (default BatchNorm2d). */
  norm?: NormFactory;
  /** Attention after the last norm, before the addition (SE-ResNet); child name 'se'. */
  attention?: AttentionFactory | null;
}

/** ResNet's basic block: two 3x3 convolutions and a shortcut (ResNet-18/34). Expansion 1. */
export class BasicBlock extends Module {
  /** Output channels per `planes`: 1. */
  static readonly expansion = 1;
  /** First 3x3 convolution (carries the stride). */
  readonly conv1: Conv2d;
  /** Its normalisation. */
  readonly bn1: Module;
  /** Second 3x3 convolution. */
  readonly conv2: Conv2d;
  /** Its normalisation. */
  readonly bn2: Module;
  /** Attention before the addition (SE-ResNet), or null. */
  readonly se: Module | null;
  /** The shortcut's projection when the shape changes, or null (identity). */
  readonly downsample: Module | null;
  private readonly relu: ReLU;

  constructor(inplanes: number, planes: number, opts: ResidualOptions = {}) {
    super();
    if ((opts.groups ?? 1) !== 1 || (opts.baseWidth ?? 64) !== 64) throw new Error('BasicBlock: only groups=1 and baseWidth=64 are supported (use Bottleneck for ResNeXt)');
    const norm = opts.norm ?? batchNorm();
    const stride = opts.stride ?? 1;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.se = opts.attention ? this.registerModule('se', opts.attention(planes)) : null;
    this.downsample = opts.downsample ? this.registerModule('downsample', opts.downsample) : null;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    if (this.se) out = this.se.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return tf.relu(tf.add(out, identity));
  }
}

/**
 * ResNet's bottleneck (v1.5: the stride is on the 3x3): 1x1 down to `width`, 3x3 (grouped for ResNeXt), 1x1 up to
 * planes x 4, and a shortcut. width = floor(planes * baseWidth / 64) * groups.
 */
export class Bottleneck extends Module {
  /** Output channels per `planes`: 4. */
  static readonly expansion = 4;
  /** 1x1 reduction to the block's width. */
  readonly conv1: Conv2d;
  /** Its normalisation. */
  readonly bn1: Module;
  /** 3x3 convolution (carries the stride; grouped in ResNeXt). */
  readonly conv2: Conv2d;
  /** Its normalisation. */
  readonly bn2: Module;
  /** 1x1 expansion to `planes * 4`. */
  readonly conv3: Conv2d;
  /** Its normalisation. */
  readonly bn3: Module;
  /** Attention before the addition (SE-ResNet), or null. */
  readonly se: Module | null;
  /** The shortcut's projection when the shape changes, or null (identity). */
  readonly downsample: Module | null;
  private readonly relu: ReLU;

  constructor(inplanes: number, planes: number, opts: ResidualOptions = {}) {
    super();
    const norm = opts.norm ?? batchNorm();
    const groups = opts.groups ?? 1;
    const width = Math.floor((planes * (opts.baseWidth ?? 64)) / 64) * groups;
    const dilation = opts.dilation ?? 1;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, width, 1, { bias: false }));
    this.bn1 = this.registerModule('bn1', norm(width));
    this.conv2 = this.registerModule('conv2', new Conv2d(width, width, 3, { stride: opts.stride ?? 1, padding: dilation, dilation, groups, bias: false }));
    this.bn2 = this.registerModule('bn2', norm(width));
    this.conv3 = this.registerModule('conv3', new Conv2d(width, planes * Bottleneck.expansion, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', norm(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.se = opts.attention ? this.registerModule('se', opts.attention(planes * Bottleneck.expansion)) : null;
    this.downsample = opts.downsample ? this.registerModule('downsample', opts.downsample) : null;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    if (this.se) out = this.se.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return tf.relu(tf.add(out, identity));
  }
}

/** MobileNetV1's depthwise separable convolution: 3x3 depthwise ConvNormAct, then 1x1 pointwise ConvNormAct. */
export class DepthwiseSeparable extends Module {
  /** 3x3 depthwise convolution + norm + activation (carries the stride). */
  readonly depthwise: ConvNormAct;
  /** 1x1 pointwise convolution + norm + activation. */
  readonly pointwise: ConvNormAct;

  constructor(inChannels: number, outChannels: number, opts: { stride?: number; norm?: NormFactory; act?: ActFactory } = {}) {
    super();
    const common = { norm: opts.norm ?? batchNorm(), act: opts.act ?? (() => new ReLU()) };
    this.depthwise = this.registerModule('depthwise', new ConvNormAct(inChannels, inChannels, 3, { stride: opts.stride ?? 1, groups: inChannels, ...common }));
    this.pointwise = this.registerModule('pointwise', new ConvNormAct(inChannels, outChannels, 1, common));
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.call(this.depthwise.call(x));
  }
}

/** Options of {@link InvertedResidual}. */
export interface InvertedResidualOptions {
  /** Channels after expansion (MobileNetV2: in x expand ratio). */
  hiddenChannels: number;
  /** Kernel of the depthwise convolution (default 3; MobileNetV3 also uses 5). */
  kernelSize?: number;
  /** Stride of the depthwise convolution (default 1). */
  stride?: number;
  /** Default 'relu6' (V2); V3 uses 'relu' or 'hardswish'. */
  act?: ActName;
  /** Squeeze channels of an SE block after the depthwise conv (V3), or null. */
  seChannels?: number | null;
  /** Gate of that SE block: 'hardsigmoid' (MobileNetV3, the default) or 'sigmoid'. */
  seGate?: 'sigmoid' | 'hardsigmoid';
  /** Normalisation after each convolution (default BatchNorm2d). */
  norm?: NormFactory;
  /**
   * torchvision's key layout: 'v2' (MobileNetV2: children under `conv`, the projection as `conv.N` conv and
   * `conv.N+1` bn) or 'v3' (MobileNetV3: under `block`, the projection as a ConvNormAct).
   */
  layout?: 'v2' | 'v3';
}

/**
 * MobileNetV2/V3's inverted residual: 1x1 expansion (skipped when hidden = in), 3x3 (or kxk) depthwise, optional SE,
 * linear 1x1 projection; a residual connection when stride is 1 and in = out.
 */
export class InvertedResidual extends Module {
  /** Whether the input is added to the output (stride 1 and in = out). */
  readonly useResidual: boolean;
  private readonly body: Sequential;

  constructor(inChannels: number, outChannels: number, opts: InvertedResidualOptions) {
    super();
    const { hiddenChannels: hidden, kernelSize = 3, stride = 1, seChannels = null, layout = 'v2' } = opts;
    const norm = opts.norm ?? batchNorm();
    const act = activation(opts.act ?? 'relu6');
    this.useResidual = stride === 1 && inChannels === outChannels;
    const parts: Module[] = [];
    if (hidden !== inChannels) parts.push(new ConvNormAct(inChannels, hidden, 1, { norm, act }));
    parts.push(new ConvNormAct(hidden, hidden, kernelSize, { stride, groups: hidden, norm, act }));
    if (seChannels) parts.push(new SEModule(hidden, { squeezeChannels: seChannels, gate: opts.seGate ?? 'hardsigmoid' }));
    if (layout === 'v2') parts.push(new Conv2d(hidden, outChannels, 1, { bias: false }), norm(outChannels));
    else parts.push(new ConvNormAct(hidden, outChannels, 1, { norm, act: null }));
    this.body = this.registerModule(layout === 'v2' ? 'conv' : 'block', new Sequential(...parts));
  }

  forward(x: Tensor): Tensor {
    const y = this.body.call(x);
    return this.useResidual ? tf.add(x, y) : y;
  }
}

/**
 * ShuffleNetV1's unit (Zhang et al., https://arxiv.org/abs/1707.01083) as MMPretrain builds it: grouped 1x1 compress,
 * 3x3 depthwise, channel shuffle, grouped 1x1 expand; added to the input then ReLU (stride 1), or ReLU then
 * concatenated after the input's 3x3 average pool (stride 2). Children and keys are MMPretrain's
 * (`g_conv_1x1_compress.conv.weight`, `depthwise_conv3x3_bn.bn.running_mean`, `g_conv_1x1_expand.conv.weight`).
 */
export class ShuffleUnitV1 extends Module {
  /** 1x1 group convolution down to a quarter of the output channels. */
  readonly compress: ConvNormAct;
  /** 3x3 depthwise convolution (carries the stride), no activation. */
  readonly depthwise: ConvNormAct;
  /** 1x1 group convolution back up, no activation. */
  readonly expand: ConvNormAct;
  /** 1 (residual addition) or 2 (concatenation with an average-pooled shortcut). */
  readonly stride: number;
  private readonly groups: number;

  constructor(inChannels: number, outChannels: number, opts: { groups: number; stride?: number; firstGrouped?: boolean; norm?: NormFactory }) {
    super();
    const { groups } = opts;
    this.stride = opts.stride ?? 1;
    const norm = opts.norm ?? batchNorm();
    const branchOut = this.stride === 2 ? outChannels - inChannels : outChannels;
    if (branchOut <= 0) throw new Error(`ShuffleUnitV1: with stride 2, outChannels (${outChannels}) must exceed inChannels (${inChannels})`);
    if (this.stride === 1 && inChannels !== outChannels) throw new Error(`ShuffleUnitV1: with stride 1, inChannels (${inChannels}) must equal outChannels (${outChannels})`);
    const mid = Math.floor(outChannels / 4);
    const g1 = opts.firstGrouped === false ? 1 : groups;
    this.groups = groups;
    const named = { norm, naming: 'named' as const };
    this.compress = this.registerModule('g_conv_1x1_compress', new ConvNormAct(inChannels, mid, 1, { groups: g1, ...named }));
    this.depthwise = this.registerModule('depthwise_conv3x3_bn', new ConvNormAct(mid, mid, 3, { stride: this.stride, groups: mid, act: null, ...named }));
    this.expand = this.registerModule('g_conv_1x1_expand', new ConvNormAct(mid, branchOut, 1, { groups, act: null, ...named }));
  }

  forward(x: Tensor): Tensor {
    let y = this.depthwise.call(this.compress.call(x));
    if (this.groups > 1) y = F.channelShuffle(y, this.groups);
    y = this.expand.call(y);
    if (this.stride === 1) return tf.relu(tf.add(x, y));
    return tf.concat([F.avgPool2d(x, 3, { stride: 2, padding: 1 }), tf.relu(y)], 3);
  }
}

/**
 * ShuffleNetV2's unit (Ma et al., https://arxiv.org/abs/1807.11164), torchvision's keys: with stride 1 the input is
 * split in two channel halves and only the second goes through `branch2`; with stride 2 both `branch1` and
 * `branch2` see the whole input. The halves are concatenated and shuffled with 2 groups.
 */
export class ShuffleUnitV2 extends Module {
  /** Stride 2 only: depthwise 3x3 + 1x1 on the whole input (the shortcut side); null at stride 1. */
  readonly branch1: Sequential | null;
  /** 1x1, depthwise 3x3, 1x1 on the second half of the channels (stride 1) or the whole input (stride 2). */
  readonly branch2: Sequential;

  constructor(
    inChannels: number,
    outChannels: number,
    /** 1 (split, one branch) or 2 (both branches, size halved). */
    readonly stride: number,
    norm: NormFactory = batchNorm(),
  ) {
    super();
    if (outChannels % 2) throw new Error(`ShuffleUnitV2: outChannels must be even, got ${outChannels}`);
    const half = outChannels / 2;
    if (stride === 1 && inChannels !== outChannels) throw new Error(`ShuffleUnitV2: with stride 1, inChannels (${inChannels}) must equal outChannels (${outChannels})`);
    this.branch1 = stride > 1
      ? this.registerModule('branch1', new Sequential(
        new Conv2d(inChannels, inChannels, 3, { stride, padding: 1, groups: inChannels, bias: false }), norm(inChannels),
        new Conv2d(inChannels, half, 1, { bias: false }), norm(half), new ReLU(),
      ))
      : null;
    const in2 = stride > 1 ? inChannels : half;
    this.branch2 = this.registerModule('branch2', new Sequential(
      new Conv2d(in2, half, 1, { bias: false }), norm(half), new ReLU(),
      new Conv2d(half, half, 3, { stride, padding: 1, groups: half, bias: false }), norm(half),
      new Conv2d(half, half, 1, { bias: false }), norm(half), new ReLU(),
    ));
  }

  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.branch1) {
      out = tf.concat([this.branch1.call(x), this.branch2.call(x)], 3);
    } else {
      const [x1, x2] = tf.split(x, 2, 3);
      out = tf.concat([x1, this.branch2.call(x2)], 3);
    }
    return F.channelShuffle(out, 2);
  }
}

/** Output channels of each branch of an {@link Inception} block. */
export interface InceptionChannels {
  /** Output channels of the 1x1 branch. */
  ch1x1: number;
  /** 1x1 reduction before the 3x3 branch. */
  ch3x3red: number;
  /** Output channels of the 3x3 branch. */
  ch3x3: number;
  /** 1x1 reduction before the "5x5" branch (a 3x3 convolution, as in torchvision). */
  ch5x5red: number;
  /** Output channels of the "5x5" branch. */
  ch5x5: number;
  /** 1x1 projection after the 3x3 max pool branch. */
  poolProj: number;
}

/**
 * GoogLeNet's Inception block (Szegedy et al., https://arxiv.org/abs/1409.4842), torchvision's variant: four branches
 * (1x1; 1x1 then 3x3; 1x1 then 3x3 where the paper has 5x5; 3x3 max pool then 1x1) concatenated along channels. Each
 * conv is a ConvNormAct with children 'conv' / 'bn' (BatchNorm eps 1e-3), as torchvision's BasicConv2d.
 */
export class Inception extends Module {
  /** 1x1 convolution. */
  readonly branch1: ConvNormAct;
  /** 1x1 reduction then 3x3 convolution. */
  readonly branch2: Sequential;
  /** 1x1 reduction then a second 3x3 convolution (the paper's 5x5; torchvision's weights use 3x3). */
  readonly branch3: Sequential;
  /** 3x3 max pool (stride 1) then 1x1 projection. */
  readonly branch4: Sequential;

  constructor(inChannels: number, ch: InceptionChannels, norm: NormFactory = batchNorm({ eps: 1e-3 })) {
    super();
    const basic = (i: number, o: number, k: number) => new ConvNormAct(i, o, k, { norm, naming: 'named', padding: (k - 1) / 2 });
    this.branch1 = this.registerModule('branch1', basic(inChannels, ch.ch1x1, 1));
    this.branch2 = this.registerModule('branch2', new Sequential(basic(inChannels, ch.ch3x3red, 1), basic(ch.ch3x3red, ch.ch3x3, 3)));
    this.branch3 = this.registerModule('branch3', new Sequential(basic(inChannels, ch.ch5x5red, 1), basic(ch.ch5x5red, ch.ch5x5, 3)));
    this.branch4 = this.registerModule('branch4', new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), basic(inChannels, ch.poolProj, 1)));
  }

  /** Output channels: the sum of the four branches'. */
  static outChannels(ch: InceptionChannels): number {
    return ch.ch1x1 + ch.ch3x3 + ch.ch5x5 + ch.poolProj;
  }

  forward(x: Tensor): Tensor {
    return tf.concat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 3);
  }
}
