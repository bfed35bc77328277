// ResNet (He et al., 2015, https://arxiv.org/abs/1512.03385) and ResNeXt (Xie et al., 2016,
// https://arxiv.org/abs/1611.05431) as one family: ResNeXt is the same network with grouped 3x3 convolutions
// (`groups`, `baseWidth`), SE-ResNet the same with an attention block (`attention`). torchvision's layout and keys
// (conv1, bn1, layer1.0.conv1, ..., fc), "v1.5" (the stride on the 3x3 of the bottleneck). Small-image variants:
// MMPretrain's ResNet_CIFAR (3x3 stem, no max pool) and the paper's own CIFAR networks (three stages of 16/32/64).
import { fusedAdd, tf, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  FusedConv,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  SEModule,
  Sequential,
  batchNorm,
  type AttentionFactory,
  type NormFactory,
} from '@cnn/layers';
import { ImageClassifier, type ClassifierOptions, type ModelCard } from './classifier';
import { ModelOptionsError } from './errors';
import {
  ATTENTION_OPTIONS,
  CLASSIFIER_OPTIONS,
  MAX_GROUP_WIDTH,
  RESNET_OPTIONS,
  checkOptions,
  describeValue,
  type OptionSpecs,
} from './options';
import { FASHION_MNIST_CLASSES } from './pretrained';
import { registerModel } from './registry';

// ---------------------------------------------------------------------------------------------
// The blocks

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
  /** conv1-bn1-relu and conv2-bn2, each one fused op in evaluation mode. */
  private readonly fused: [FusedConv, FusedConv];

  constructor(inplanes: number, planes: number, opts: ResidualOptions = {}) {
    super();
    if ((opts.groups ?? 1) !== 1 || (opts.baseWidth ?? 64) !== 64)
      throw new Error('BasicBlock: only groups=1 and baseWidth=64 are supported (use Bottleneck for ResNeXt)');
    const norm = opts.norm ?? batchNorm();
    const stride = opts.stride ?? 1;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.se = opts.attention ? this.registerModule('se', opts.attention(planes)) : null;
    this.downsample = opts.downsample ? this.registerModule('downsample', opts.downsample) : null;
    this.fused = [
      this.registerPlan(new FusedConv(this.conv1, this.bn1, this.relu)),
      this.registerPlan(new FusedConv(this.conv2, this.bn2, null)),
    ];
  }

  forward(x: Tensor): Tensor {
    let out = this.fused[0].call(x);
    out = this.fused[1].call(out);
    if (this.se) out = this.se.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return fusedAdd(out, identity, 'relu');
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
  /** conv1-bn1-relu, conv2-bn2-relu and conv3-bn3, each one fused op in evaluation mode. */
  private readonly fused: [FusedConv, FusedConv, FusedConv];

  constructor(inplanes: number, planes: number, opts: ResidualOptions = {}) {
    super();
    const norm = opts.norm ?? batchNorm();
    const groups = opts.groups ?? 1;
    const width = Math.floor((planes * (opts.baseWidth ?? 64)) / 64) * groups;
    const dilation = opts.dilation ?? 1;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, width, 1, { bias: false }));
    this.bn1 = this.registerModule('bn1', norm(width));
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d(width, width, 3, { stride: opts.stride ?? 1, padding: dilation, dilation, groups, bias: false }),
    );
    this.bn2 = this.registerModule('bn2', norm(width));
    this.conv3 = this.registerModule('conv3', new Conv2d(width, planes * Bottleneck.expansion, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', norm(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.se = opts.attention ? this.registerModule('se', opts.attention(planes * Bottleneck.expansion)) : null;
    this.downsample = opts.downsample ? this.registerModule('downsample', opts.downsample) : null;
    this.fused = [
      this.registerPlan(new FusedConv(this.conv1, this.bn1, this.relu)),
      this.registerPlan(new FusedConv(this.conv2, this.bn2, this.relu)),
      this.registerPlan(new FusedConv(this.conv3, this.bn3, null)),
    ];
  }

  forward(x: Tensor): Tensor {
    let out = this.fused[0].call(x);
    out = this.fused[1].call(out);
    out = this.fused[2].call(out);
    if (this.se) out = this.se.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return fusedAdd(out, identity, 'relu');
  }
}

// ---------------------------------------------------------------------------------------------
// The networks

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
export function attentionOf(opts: {
  attention?: AttentionFactory | null;
  attn?: 'se' | null;
}): AttentionFactory | null {
  if (opts.attention) return opts.attention;
  if (opts.attn === 'se') return (c) => new SEModule(c);
  if (opts.attn)
    throw new ModelOptionsError('resnet', `unknown attn ${describeValue(opts.attn)} (expected 'se')`, 'attn');
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
  /** conv1-bn1-relu as one fused op in evaluation mode. */
  private readonly stem: FusedConv;
  private readonly maxpool: MaxPool2d | null;
  private readonly avgpool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();

  constructor(depth: keyof typeof RESNET_DEPTHS, opts: ResNetOptions = {}) {
    checkResNet(depth, opts);
    super();
    const { block, layers } = RESNET_DEPTHS[depth];
    const Block: BlockClass = block === 'basic' ? BasicBlock : Bottleneck;
    const cifar = opts.stem === 'cifar';
    this.conv1 = this.registerModule(
      'conv1',
      cifar
        ? new Conv2d(opts.inChannels ?? 3, 64, 3, { padding: 1, bias: false })
        : new Conv2d(opts.inChannels ?? 3, 64, 7, { stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.stem = this.registerPlan(new FusedConv(this.conv1, this.bn1, this.relu));
    this.maxpool = cifar ? null : new MaxPool2d(3, { stride: 2, padding: 1 });
    let inplanes = 64;
    const stage = (planes: number, n: number, stride: number): Sequential => {
      const out = planes * Block.expansion;
      const downsample =
        stride !== 1 || inplanes !== out
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
    this.registerHead('fc', new Linear(inplanes, opts.numClasses ?? 1000));
    if (opts.zeroInitResidual) zeroLastNorms(this);
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.stem.call(x);
    if (this.maxpool) h = this.maxpool.call(h);
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) h = layer.call(h);
    return this.flatten.call(this.avgpool.call(h));
  }
}

/** Everything a ResNet's options must satisfy, checked before any layer is built. */
function checkResNet(depth: number, opts: ResNetOptions): void {
  const model = `resnet${String(depth)}`;
  if (!Object.hasOwn(RESNET_DEPTHS, depth)) {
    throw new ModelOptionsError(
      'resnet',
      `depth must be one of ${Object.keys(RESNET_DEPTHS).join(', ')}, got ${describeValue(depth)}`,
    );
  }
  checkOptions(model, opts, RESNET_OPTIONS);
  const groups = opts.groups ?? 1;
  const baseWidth = opts.baseWidth ?? 64;
  if (RESNET_DEPTHS[depth as keyof typeof RESNET_DEPTHS].block === 'basic' && (groups !== 1 || baseWidth !== 64)) {
    throw new ModelOptionsError(
      model,
      `its basic blocks take only groups 1 and baseWidth 64 (got ${groups} and ${baseWidth}); use depth 50, 101 or 152 for ResNeXt`,
      opts.groups !== undefined && groups !== 1 ? 'groups' : 'baseWidth',
    );
  }
  if (groups * baseWidth > MAX_GROUP_WIDTH) {
    throw new ModelOptionsError(
      model,
      `groups * baseWidth must be at most ${MAX_GROUP_WIDTH} (4x ResNet's width), got ${groups} * ${baseWidth} = ${groups * baseWidth}`,
      'groups',
    );
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
    return tf.pad(sub, [
      [0, 0],
      [0, 0],
      [0, 0],
      [before, this.extraChannels - before],
    ]);
  }
}

/** Options of the ResNet paper's CIFAR networks ({@link CifarResNet}). */
export interface CifarResNetOptions extends ClassifierOptions {
  /** An attention block in every residual block; child name 'se'. */
  attention?: AttentionFactory | null;
  /** Shorthand for `attention`: 'se' puts squeeze-and-excitation (channels / 16) in every block. */
  attn?: 'se' | null;
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
  /** conv1-bn1-relu as one fused op in evaluation mode. */
  private readonly stem: FusedConv;
  private readonly avgpool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();

  constructor(depth: (typeof CIFAR_RESNET_DEPTHS)[number], opts: CifarResNetOptions = {}) {
    if (!CIFAR_RESNET_DEPTHS.includes(depth))
      throw new ModelOptionsError(
        'cifar resnet',
        `depth must be one of ${CIFAR_RESNET_DEPTHS.join(', ')}, got ${describeValue(depth)}`,
      );
    checkOptions(`resnet${depth}_cifar`, opts, CIFAR_RESNET_OPTIONS);
    super();
    const n = (depth - 2) / 6;
    this.conv1 = this.registerModule('conv1', new Conv2d(opts.inChannels ?? 3, 16, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(16));
    this.stem = this.registerPlan(new FusedConv(this.conv1, this.bn1, this.relu));
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
    this.registerHead('fc', new Linear(64, opts.numClasses ?? 10));
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.stem.call(x);
    for (const layer of [this.layer1, this.layer2, this.layer3]) h = layer.call(h);
    return this.flatten.call(this.avgpool.call(h));
  }
}

// ---------------------------------------------------------------------------------------------
// The registered models: cards (counts: torchvision 0.14, and scripts/count-models.py's PyTorch rebuilds for the ids
// torchvision lacks, test/fixtures/counts.json) and typed builders

const RESNET_PAPER = 'Deep Residual Learning for Image Recognition (He et al., 2015), https://arxiv.org/abs/1512.03385';
const RESNEXT_PAPER =
  'Aggregated Residual Transformations for Deep Neural Networks (Xie et al., 2016), https://arxiv.org/abs/1611.05431';

/** The card of a model of the family: ImageNet-sized with 1000 classes, or CIFAR-sized with 10. */
function card(id: string, size: 'imagenet' | 'cifar', params: number, macs: number, paper = RESNET_PAPER): ModelCard {
  return size === 'imagenet'
    ? { id, family: 'resnet', paper, inputSize: [224, 224, 3], params, macs, numClasses: 1000 }
    : { id, family: 'resnet', paper, inputSize: [32, 32, 3], params, macs, numClasses: 10 };
}

/** ResNet-18. */
export const resnet18 = registerModel(
  card('resnet18', 'imagenet', 11_689_512, 1_814_073_344),
  (o: ResNetOptions) => new ResNet(18, o),
  RESNET_OPTIONS,
);
/** ResNet-34. */
export const resnet34 = registerModel(
  card('resnet34', 'imagenet', 21_797_672, 3_663_761_408),
  (o: ResNetOptions) => new ResNet(34, o),
  RESNET_OPTIONS,
);
/** ResNet-50. */
export const resnet50 = registerModel(
  card('resnet50', 'imagenet', 25_557_032, 4_089_184_256),
  (o: ResNetOptions) => new ResNet(50, o),
  RESNET_OPTIONS,
);
/** ResNet-101. */
export const resnet101 = registerModel(
  card('resnet101', 'imagenet', 44_549_160, 7_801_405_440),
  (o: ResNetOptions) => new ResNet(101, o),
  RESNET_OPTIONS,
);
/** ResNet-152. */
export const resnet152 = registerModel(
  card('resnet152', 'imagenet', 60_192_808, 11_513_626_624),
  (o: ResNetOptions) => new ResNet(152, o),
  RESNET_OPTIONS,
);
/** ResNeXt-50 32x4d. */
export const resnext50_32x4d = registerModel(
  card('resnext50_32x4d', 'imagenet', 25_028_904, 4_230_479_872, RESNEXT_PAPER),
  (o: ResNetOptions) => new ResNet(50, { groups: 32, baseWidth: 4, ...o }),
  RESNET_OPTIONS,
);
/** ResNeXt-101 32x8d. */
export const resnext101_32x8d = registerModel(
  card('resnext101_32x8d', 'imagenet', 88_791_336, 16_414_015_488, RESNEXT_PAPER),
  (o: ResNetOptions) => new ResNet(101, { groups: 32, baseWidth: 8, ...o }),
  RESNET_OPTIONS,
);
/** ResNet-18 for 32x32 images (MMPretrain's ResNet_CIFAR: a 3x3 stem, no max pool), 10 classes. */
export const resnet18_cifar = registerModel(
  card('resnet18_cifar', 'cifar', 11_173_962, 555_422_720),
  (o: ResNetOptions) => new ResNet(18, { stem: 'cifar', numClasses: 10, ...o }),
  RESNET_OPTIONS,
);
/** ResNet-34 for 32x32 images, as {@link resnet18_cifar}. */
export const resnet34_cifar = registerModel(
  card('resnet34_cifar', 'cifar', 21_282_122, 1_159_402_496),
  (o: ResNetOptions) => new ResNet(34, { stem: 'cifar', numClasses: 10, ...o }),
  RESNET_OPTIONS,
);
/** ResNet-50 for 32x32 images, as {@link resnet18_cifar}. */
export const resnet50_cifar = registerModel(
  card('resnet50_cifar', 'cifar', 23_520_842, 1_297_829_888),
  (o: ResNetOptions) => new ResNet(50, { stem: 'cifar', numClasses: 10, ...o }),
  RESNET_OPTIONS,
);
/** The ResNet paper's ResNet-20 for 32x32 images (269,722 parameters); trained weights ship for Fashion-MNIST. */
export const resnet20_cifar = registerModel(
  {
    ...card('resnet20_cifar', 'cifar', 269_722, 40_551_040),
    // scripts/ship-weights.mjs wrote the file and printed this entry.
    weights: [
      {
        file: 'resnet20_cifar-fashion-mnist.safetensors',
        dataset: 'fashion-mnist',
        inputSize: [28, 28, 1],
        numClasses: 10,
        top1: 0.9321,
        classes: FASHION_MNIST_CLASSES,
        mean: [0.286],
        std: [0.353],
        trainedWith:
          'cnn train --model resnet20_cifar --dataset fashion-mnist --epochs 6 --batch-size 128 --optimizer sgd --lr 0.1 --weight-decay 0.0005 --schedule cosine --seed 0',
      },
    ],
  },
  (o: CifarResNetOptions) => new CifarResNet(20, o),
  CIFAR_RESNET_OPTIONS,
);
/** The ResNet paper's ResNet-32 for 32x32 images. */
export const resnet32_cifar = registerModel(
  card('resnet32_cifar', 'cifar', 464_154, 68_862_592),
  (o: CifarResNetOptions) => new CifarResNet(32, o),
  CIFAR_RESNET_OPTIONS,
);
/** The ResNet paper's ResNet-44 for 32x32 images. */
export const resnet44_cifar = registerModel(
  card('resnet44_cifar', 'cifar', 658_586, 97_174_144),
  (o: CifarResNetOptions) => new CifarResNet(44, o),
  CIFAR_RESNET_OPTIONS,
);
/** The ResNet paper's ResNet-56 for 32x32 images. */
export const resnet56_cifar = registerModel(
  card('resnet56_cifar', 'cifar', 853_018, 125_485_696),
  (o: CifarResNetOptions) => new CifarResNet(56, o),
  CIFAR_RESNET_OPTIONS,
);
/** The ResNet paper's ResNet-110 for 32x32 images. */
export const resnet110_cifar = registerModel(
  card('resnet110_cifar', 'cifar', 1_727_962, 252_887_680),
  (o: CifarResNetOptions) => new CifarResNet(110, o),
  CIFAR_RESNET_OPTIONS,
);
