// ResNet (He et al., 2015, https://arxiv.org/abs/1512.03385) and ResNeXt (Xie et al., 2016,
// https://arxiv.org/abs/1611.05431) as one family: ResNeXt is the same network with grouped 3x3 convolutions
// (`groups`, `baseWidth`), SE-ResNet the same with an attention block (`attention`). torchvision's layout and keys
// (conv1, bn1, layer1.0.conv1, ..., fc), "v1.5" (the stride on the 3x3 of the bottleneck). Small-image variants:
// MMPretrain's ResNet_CIFAR (3x3 stem, no max pool) and the paper's own CIFAR networks (three stages of 16/32/64).
import { tf, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d, BasicBlock, BatchNorm2d, Bottleneck, Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, SEModule,
  Sequential, type AttentionFactory,
} from '@cnn/layers';
import { ImageClassifier, type ClassifierOptions } from './classifier';
import { ModelOptionsError } from './errors';
import { ATTENTION_OPTIONS, CLASSIFIER_OPTIONS, MAX_GROUP_WIDTH, RESNET_OPTIONS, checkOptions, describeValue, type OptionSpecs } from './options';

/** Blocks per stage of each depth. */
export const RESNET_DEPTHS = {
  18: { block: 'basic', layers: [2, 2, 2, 2] },
  34: { block: 'basic', layers: [3, 4, 6, 3] },
  50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
} as const;

/** Options of the ResNet family's builders. */
export interface ResNetOptions extends ClassifierOptions {
  /** Groups of the 3x3 convolutions (ResNeXt's cardinality); default 1. */
  groups?: number;
  /** Width per group (ResNeXt's "d"); default 64. */
  baseWidth?: number;
  /** 'imagenet': 7x7 stride-2 stem and 3x3 max pool; 'cifar': a 3x3 stride-1 stem, no max pool. Default 'imagenet'. */
  stem?: 'imagenet' | 'cifar';
  /** Start each residual branch's last BatchNorm at zero, so every block begins as the identity. */
  zeroInitResidual?: boolean;
  /** An attention block in every residual block (SE-ResNet); child name 'se'. */
  attention?: AttentionFactory | null;
  /** Shorthand for `attention`: 'se' puts squeeze-and-excitation (channels / 16) in every block. */
  attn?: 'se' | null;
}

/** The attention factory that options ask for, if any. */
export function attentionOf(opts: { attention?: AttentionFactory | null; attn?: 'se' | null }): AttentionFactory | null {
  if (opts.attention) return opts.attention;
  if (opts.attn === 'se') return (c) => new SEModule(c);
  if (opts.attn) throw new ModelOptionsError('resnet', `unknown attn ${describeValue(opts.attn)} (expected 'se')`, 'attn');
  return null;
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

/** A ResNet / ResNeXt with four stages. */
export class ResNet extends ImageClassifier {
  /** Stem convolution (7x7 stride 2, or 3x3 stride 1 with `stem: 'cifar'`). */
  readonly conv1: Conv2d;
  /** Its BatchNorm. */
  readonly bn1: BatchNorm2d;
  /** Stage 1: blocks at 64 planes, stride 1. */
  readonly layer1: Sequential;
  /** Stage 2: blocks at 128 planes, the first with stride 2. */
  readonly layer2: Sequential;
  /** Stage 3: blocks at 256 planes, the first with stride 2. */
  readonly layer3: Sequential;
  /** Stage 4: blocks at 512 planes, the first with stride 2. */
  readonly layer4: Sequential;
  private readonly relu = new ReLU();
  private readonly maxpool: MaxPool2d | null;
  private readonly avgpool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();
  private fc: Linear;

  constructor(depth: keyof typeof RESNET_DEPTHS, opts: ResNetOptions = {}) {
    checkResNet(depth, opts);
    super();
    const { block, layers } = RESNET_DEPTHS[depth];
    const Block: BlockClass = block === 'basic' ? BasicBlock : Bottleneck;
    const cifar = opts.stem === 'cifar';
    this.conv1 = this.registerModule('conv1', cifar
      ? new Conv2d(opts.inChannels ?? 3, 64, 3, { padding: 1, bias: false })
      : new Conv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.maxpool = cifar ? null : new MaxPool2d(3, { stride: 2, padding: 1 });
    let inplanes = 64;
    const stage = (planes: number, n: number, stride: number): Sequential => {
      const out = planes * Block.expansion;
      const downsample = stride !== 1 || inplanes !== out
        ? new Sequential(new Conv2d(inplanes, out, 1, { stride, bias: false }), new BatchNorm2d(out))
        : null;
      const common = { groups: opts.groups ?? 1, baseWidth: opts.baseWidth ?? 64, attention: attentionOf(opts) };
      const blocks: Module[] = [new Block(inplanes, planes, { stride, downsample, ...common })];
      inplanes = out;
      for (let i = 1; i < n; i++) blocks.push(new Block(inplanes, planes, common));
      return new Sequential(...blocks);
    };
    this.layer1 = this.registerModule('layer1', stage(64, layers[0], 1));
    this.layer2 = this.registerModule('layer2', stage(128, layers[1], 2));
    this.layer3 = this.registerModule('layer3', stage(256, layers[2], 2));
    this.layer4 = this.registerModule('layer4', stage(512, layers[3], 2));
    this.fc = this.registerModule('fc', new Linear(inplanes, opts.numClasses ?? 1000));
    if (opts.zeroInitResidual) zeroLastNorms(this);
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.relu.call(this.bn1.call(this.conv1.call(x)));
    if (this.maxpool) h = this.maxpool.call(h);
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) h = layer.call(h);
    return this.flatten.call(this.avgpool.call(h));
  }

  forwardHead(f: Tensor): Tensor {
    return this.fc.call(f);
  }

  get classifier(): Linear {
    return this.fc;
  }

  protected replaceHead(head: Linear): void {
    this.fc = this.replaceModule('fc', head);
  }
}

/** Everything a ResNet's options must satisfy, checked before any layer is built. */
function checkResNet(depth: number, opts: ResNetOptions): void {
  const model = `resnet${String(depth)}`;
  if (!Object.prototype.hasOwnProperty.call(RESNET_DEPTHS, depth)) {
    throw new ModelOptionsError('resnet', `depth must be one of ${Object.keys(RESNET_DEPTHS).join(', ')}, got ${describeValue(depth)}`);
  }
  checkOptions(model, opts, RESNET_OPTIONS);
  const groups = opts.groups ?? 1;
  const baseWidth = opts.baseWidth ?? 64;
  if (RESNET_DEPTHS[depth as keyof typeof RESNET_DEPTHS].block === 'basic' && (groups !== 1 || baseWidth !== 64)) {
    throw new ModelOptionsError(model, `its basic blocks take only groups 1 and baseWidth 64 (got ${groups} and ${baseWidth}); use depth 50, 101 or 152 for ResNeXt`, opts.groups !== undefined && groups !== 1 ? 'groups' : 'baseWidth');
  }
  if (groups * baseWidth > MAX_GROUP_WIDTH) {
    throw new ModelOptionsError(model, `groups * baseWidth must be at most ${MAX_GROUP_WIDTH} (4x ResNet's width), got ${groups} * ${baseWidth} = ${groups * baseWidth}`, 'groups');
  }
}

/** The options of the ResNet paper's CIFAR networks, with their limits. */
export const CIFAR_RESNET_OPTIONS: OptionSpecs = { ...CLASSIFIER_OPTIONS, ...ATTENTION_OPTIONS };

/** Sets the weight of each residual block's last BatchNorm (bn2 of a basic block, bn3 of a bottleneck) to zero. */
function zeroLastNorms(model: Module): void {
  for (const [, m] of model.namedModules()) {
    const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
    // In a tidy: assign shares the new value's data, and the zeros tensor itself must not outlive the call.
    if (last instanceof BatchNorm2d && last.weight) tf.tidy(() => last.weight!.assign(tf.zerosLike(last.weight!)));
  }
}

/**
 * The shortcut of the ResNet paper's CIFAR networks (its "option A"): subsample by the stride and pad the new
 * channels with zeros. No parameters.
 */
export class PadShortcut extends Module {
  constructor(
    /** Subsampling step of the shortcut (1 or 2). */
    readonly stride: number,
    /** Zero channels appended to match the block's output. */
    readonly extraChannels: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    const s = this.stride;
    // Every s-th pixel: a 1x1 average pool at stride s (differentiable, unlike a strided slice in tfjs).
    const sub = s === 1 ? x : tf.avgPool(x as tf.Tensor4D, 1, s, 'valid');
    const before = Math.floor(this.extraChannels / 2);
    return tf.pad(sub, [[0, 0], [0, 0], [0, 0], [before, this.extraChannels - before]]);
  }
}

/** Depths of the paper's CIFAR networks: 6n + 2 layers. */
export const CIFAR_RESNET_DEPTHS = [20, 32, 44, 56, 110] as const;

/**
 * The ResNet paper's CIFAR-10 network (section 4.2): a 3x3 conv to 16 channels, three stages of n basic blocks at
 * 16, 32 and 64 channels (stride 2 between stages, shortcuts by {@link PadShortcut}), global average pool, fc.
 * ResNet-20 has 269,722 parameters for 10 classes.
 */
export class CifarResNet extends ImageClassifier {
  /** Stem: 3x3 convolution to 16 channels. */
  readonly conv1: Conv2d;
  /** Its BatchNorm. */
  readonly bn1: BatchNorm2d;
  /** Stage 1: 16 channels, 32x32. */
  readonly layer1: Sequential;
  /** Stage 2: 32 channels, 16x16. */
  readonly layer2: Sequential;
  /** Stage 3: 64 channels, 8x8. */
  readonly layer3: Sequential;
  private readonly relu = new ReLU();
  private readonly avgpool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();
  private fc: Linear;

  constructor(depth: (typeof CIFAR_RESNET_DEPTHS)[number], opts: ClassifierOptions & { attention?: AttentionFactory | null; attn?: 'se' | null } = {}) {
    if (!CIFAR_RESNET_DEPTHS.includes(depth)) throw new ModelOptionsError('cifar resnet', `depth must be one of ${CIFAR_RESNET_DEPTHS.join(', ')}, got ${describeValue(depth)}`);
    checkOptions(`resnet${depth}_cifar`, opts, CIFAR_RESNET_OPTIONS);
    super();
    const n = (depth - 2) / 6;
    this.conv1 = this.registerModule('conv1', new Conv2d(opts.inChannels ?? 3, 16, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(16));
    let inplanes = 16;
    const stage = (planes: number, stride: number): Sequential => {
      const blocks: Module[] = [];
      for (let i = 0; i < n; i++) {
        const s = i === 0 ? stride : 1;
        const downsample = s !== 1 || inplanes !== planes ? new PadShortcut(s, planes - inplanes) : null;
        blocks.push(new BasicBlock(inplanes, planes, { stride: s, downsample, attention: attentionOf(opts) }));
        inplanes = planes;
      }
      return new Sequential(...blocks);
    };
    this.layer1 = this.registerModule('layer1', stage(16, 1));
    this.layer2 = this.registerModule('layer2', stage(32, 2));
    this.layer3 = this.registerModule('layer3', stage(64, 2));
    this.fc = this.registerModule('fc', new Linear(64, opts.numClasses ?? 10));
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.relu.call(this.bn1.call(this.conv1.call(x)));
    for (const layer of [this.layer1, this.layer2, this.layer3]) h = layer.call(h);
    return this.flatten.call(this.avgpool.call(h));
  }

  forwardHead(f: Tensor): Tensor {
    return this.fc.call(f);
  }

  get classifier(): Linear {
    return this.fc;
  }

  protected replaceHead(head: Linear): void {
    this.fc = this.replaceModule('fc', head);
  }
}
