// GoogLeNet (Szegedy et al., 2014, https://arxiv.org/abs/1409.4842), torchvision's variant: BatchNorm (eps 1e-3)
// after every convolution, a 3x3 convolution where the paper's "5x5" branch has 5x5, and auxiliary classifiers
// that exist only when asked for and run only in training mode.
import { tf, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  ConvNormAct,
  Dropout,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  Sequential,
  batchNorm,
  type NormFactory,
} from '@cnn/layers';
import { ImageClassifier, type ClassifierOptions } from './classifier';
import { CLASSIFIER_OPTIONS, DROPOUT_OPTION, checkOptions, type OptionSpecs } from './options';
import { registerModel } from './registry';
import { ModelOptionsError } from './errors';

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
    const basic = (i: number, o: number, k: number) =>
      new ConvNormAct(i, o, k, { norm, naming: 'named', padding: (k - 1) / 2 });
    this.branch1 = this.registerModule('branch1', basic(inChannels, ch.ch1x1, 1));
    this.branch2 = this.registerModule(
      'branch2',
      new Sequential(basic(inChannels, ch.ch3x3red, 1), basic(ch.ch3x3red, ch.ch3x3, 3)),
    );
    this.branch3 = this.registerModule(
      'branch3',
      new Sequential(basic(inChannels, ch.ch5x5red, 1), basic(ch.ch5x5red, ch.ch5x5, 3)),
    );
    this.branch4 = this.registerModule(
      'branch4',
      new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), basic(inChannels, ch.poolProj, 1)),
    );
  }

  /** Output channels: the sum of the four branches'. */
  static outChannels(ch: InceptionChannels): number {
    return ch.ch1x1 + ch.ch3x3 + ch.ch5x5 + ch.poolProj;
  }

  forward(x: Tensor): Tensor {
    return tf.concat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 3);
  }
}

/** The options GoogLeNet takes, with their limits. */
export const GOOGLENET_OPTIONS: OptionSpecs = {
  ...CLASSIFIER_OPTIONS,
  auxLogits: { type: 'boolean' },
  transformInput: { type: 'boolean' },
  dropout: DROPOUT_OPTION,
};

/** Inception blocks: [name, in channels, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection]. */
const INCEPTIONS = [
  ['inception3a', 192, 64, 96, 128, 16, 32, 32],
  ['inception3b', 256, 128, 128, 192, 32, 96, 64],
  ['inception4a', 480, 192, 96, 208, 16, 48, 64],
  ['inception4b', 512, 160, 112, 224, 24, 64, 64],
  ['inception4c', 512, 128, 128, 256, 24, 64, 64],
  ['inception4d', 512, 112, 144, 288, 32, 64, 64],
  ['inception4e', 528, 256, 160, 320, 32, 128, 128],
  ['inception5a', 832, 256, 160, 320, 32, 128, 128],
  ['inception5b', 832, 384, 192, 384, 48, 128, 128],
] as const;

/** Options of {@link googlenet}. */
export interface GoogLeNetOptions extends ClassifierOptions {
  /** Build the two auxiliary classifiers (torchvision's `aux_logits`); default false. */
  auxLogits?: boolean;
  /** Dropout before the final classifier (default 0.2). */
  dropout?: number;
  /**
   * Re-normalise the input as torchvision's `transform_input` does (default false): the network takes an image
   * normalised with ImageNet's mean and std (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) and first maps each channel
   * c to `x * (std_c / 0.5) + (mean_c - 0.5) / 0.5`, i.e. to the [-1, 1] scaling that torchvision's published GoogLeNet
   * weights were trained with. Set it for those weights (the weights table does); needs 3 input channels.
   */
  transformInput?: boolean;
}

/** torchvision's `transform_input`: per RGB channel, the factor and offset taking ImageNet-normalised input to [-1, 1]. */
const TRANSFORM_SCALE = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5];
const TRANSFORM_SHIFT = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];

const norm = batchNorm({ eps: 1e-3 });
const basic = (i: number, o: number, k: number, stride = 1) =>
  new ConvNormAct(i, o, k, { stride, norm, naming: 'named', padding: (k - 1) / 2 });

/** torchvision's InceptionAux: 4x4 average pool, 1x1 conv to 128, fc 2048 -> 1024, ReLU, dropout 0.7, fc classes. */
export class InceptionAux extends Module {
  /** 1x1 convolution to 128 channels after a 4x4 average pool. */
  readonly conv: ConvNormAct;
  /** Linear 2048 -> 1024. */
  readonly fc1: Linear;
  /** Linear 1024 -> classes. */
  readonly fc2: Linear;
  private readonly pool = new AdaptiveAvgPool2d(4);
  private readonly flatten = new Flatten();
  private readonly dropout = new Dropout(0.7);

  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv = this.registerModule('conv', basic(inChannels, 128, 1));
    this.fc1 = this.registerModule('fc1', new Linear(2048, 1024, { flattenedFrom: [4, 4, 128] }));
    this.fc2 = this.registerModule('fc2', new Linear(1024, numClasses));
  }

  forward(x: Tensor): Tensor {
    this.dropout.training = this.training;
    const h = this.flatten.call(this.conv.call(this.pool.call(x)));
    return this.fc2.call(this.dropout.call(tf.relu(this.fc1.call(h))));
  }
}

/** GoogLeNet: stem, nine Inception blocks, global average pool, dropout, fc. */
export class GoogLeNet extends ImageClassifier {
  /** Auxiliary classifier after inception4a (only with `auxLogits`), or null. */
  readonly aux1: InceptionAux | null;
  /** Auxiliary classifier after inception4d (only with `auxLogits`), or null. */
  readonly aux2: InceptionAux | null;
  private readonly stem: Module[];
  private readonly blocks: Map<string, Module>;
  private readonly avgpool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();
  private readonly dropout: Dropout;
  /** Whether the input is re-normalised first ({@link GoogLeNetOptions.transformInput}). */
  readonly transformInput: boolean;

  constructor(opts: GoogLeNetOptions = {}) {
    checkOptions('googlenet', opts, GOOGLENET_OPTIONS);
    if (opts.transformInput && (opts.inChannels ?? 3) !== 3)
      throw new ModelOptionsError(
        'googlenet',
        `transformInput re-normalises 3 RGB channels, but inChannels is ${opts.inChannels} (leave transformInput off)`,
        'transformInput',
      );
    super();
    this.transformInput = opts.transformInput ?? false;
    const numClasses = opts.numClasses ?? 1000;
    this.stem = [
      this.registerModule('conv1', basic(opts.inChannels ?? 3, 64, 7, 2)),
      this.registerModule('maxpool1', new MaxPool2d(3, { stride: 2, ceilMode: true })),
      this.registerModule('conv2', basic(64, 64, 1)),
      this.registerModule('conv3', basic(64, 192, 3)),
      this.registerModule('maxpool2', new MaxPool2d(3, { stride: 2, ceilMode: true })),
    ];
    this.blocks = new Map();
    for (const [name, cin, a, b, c, d, e, f] of INCEPTIONS) {
      const ch: InceptionChannels = { ch1x1: a, ch3x3red: b, ch3x3: c, ch5x5red: d, ch5x5: e, poolProj: f };
      this.blocks.set(name, this.registerModule(name, new Inception(cin, ch, norm)));
      if (name === 'inception3b')
        this.blocks.set('maxpool3', this.registerModule('maxpool3', new MaxPool2d(3, { stride: 2, ceilMode: true })));
      if (name === 'inception4e')
        this.blocks.set('maxpool4', this.registerModule('maxpool4', new MaxPool2d(2, { stride: 2, ceilMode: true })));
    }
    this.aux1 = opts.auxLogits ? this.registerModule('aux1', new InceptionAux(512, numClasses)) : null;
    this.aux2 = opts.auxLogits ? this.registerModule('aux2', new InceptionAux(528, numClasses)) : null;
    this.dropout = new Dropout(opts.dropout ?? 0.2);
    this.registerHead('fc', new Linear(1024, numClasses));
  }

  /** Logits and, in training mode with auxiliary classifiers, their logits too (torchvision's GoogLeNetOutputs). */
  forwardWithAux(x: Tensor): {
    /** The main classifier's logits. */
    logits: Tensor;
    /** The first auxiliary classifier's logits (training mode with `auxLogits` only), else null. */
    aux1: Tensor | null;
    /** The second auxiliary classifier's logits, likewise. */
    aux2: Tensor | null;
  } {
    let aux1: Tensor | null = null;
    let aux2: Tensor | null = null;
    let h = this.inputTransform(x);
    for (const m of this.stem) h = m.call(h);
    for (const [name, m] of this.blocks) {
      h = m.call(h);
      if (this.training && name === 'inception4a' && this.aux1) aux1 = this.aux1.call(h);
      if (this.training && name === 'inception4d' && this.aux2) aux2 = this.aux2.call(h);
    }
    return { logits: this.forwardHead(this.flatten.call(this.avgpool.call(h))), aux1, aux2 };
  }

  /** The input as the stem sees it: re-normalised with `transformInput`, else unchanged. */
  private inputTransform(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    return tf.tidy(() => tf.add(tf.mul(x, tf.tensor1d(TRANSFORM_SCALE)), tf.tensor1d(TRANSFORM_SHIFT)));
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.inputTransform(x);
    for (const m of this.stem) h = m.call(h);
    for (const m of this.blocks.values()) h = m.call(h);
    return this.flatten.call(this.avgpool.call(h));
  }

  /** Dropout (in training mode), then the `fc` head. */
  override forwardHead(f: Tensor): Tensor {
    this.dropout.training = this.training;
    return super.forwardHead(this.dropout.call(f));
  }
}

/** torchvision's GoogLeNet (auxiliary heads with `auxLogits: true`; torchvision's ImageNet weights need `transformInput: true`). */
export const googlenet = registerModel(
  {
    id: 'googlenet',
    family: 'googlenet',
    paper: 'Going Deeper with Convolutions (Szegedy et al., 2014), https://arxiv.org/abs/1409.4842',
    inputSize: [224, 224, 3],
    params: 6_624_904,
    macs: 1_498_376_192,
    numClasses: 1000,
  },
  (o: GoogLeNetOptions) => new GoogLeNet(o),
  GOOGLENET_OPTIONS,
);
