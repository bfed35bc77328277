// MobileNetV2 (Sandler et al., 2018, https://arxiv.org/abs/1801.04381), torchvision's layout and keys: a stride-2
// stem, inverted residual blocks from the (t, c, n, s) table, a 1x1 convolution to 1280 channels, dropout, fc. The
// inverted residual is defined here, with the layout MobileNetV3 (mobilenet-v3.ts) builds it in too.
import { fusedAdd, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  Conv2d,
  ConvNormAct,
  Dropout,
  Linear,
  Module,
  ReLU6,
  SEModule,
  Sequential,
  activation,
  batchNorm,
  type ActName,
  type NormFactory,
} from '@cnn/layers';
import {
  CLASSIFIER_OPTIONS,
  DROPOUT_OPTION,
  FeatureClassifier,
  WIDTH_OPTION,
  checkOptions,
  registerModel,
  type ClassifierOptions,
  type OptionSpecs,
} from '@cnn/models-classic';
import { makeDivisible } from './divisible';

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
    if (seChannels)
      parts.push(new SEModule(hidden, { squeezeChannels: seChannels, gate: opts.seGate ?? 'hardsigmoid' }));
    if (layout === 'v2') parts.push(new Conv2d(hidden, outChannels, 1, { bias: false }), norm(outChannels));
    else parts.push(new ConvNormAct(hidden, outChannels, 1, { norm, act: null }));
    this.body = this.registerModule(layout === 'v2' ? 'conv' : 'block', new Sequential(...parts));
  }

  forward(x: Tensor): Tensor {
    const y = this.body.call(x);
    return this.useResidual ? fusedAdd(x, y) : y;
  }
}

/** Expansion t, output channels c, repeats n, first stride s. */
export const MOBILENET_V2_SETTINGS = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

/** Options of {@link MobileNetV2}. */
export interface MobileNetV2Options extends ClassifierOptions {
  /** Width multiplier (default 1.0), channel counts rounded to multiples of 8. */
  widthMultiplier?: number;
  /** Dropout probability before the classifier (default 0.2). */
  dropout?: number;
  /** Squeeze-and-excitation in every block ('se': squeeze to hidden / 4, sigmoid gate). */
  attn?: 'se' | null;
}

/** The options MobileNetV2 takes, with their limits. */
export const MOBILENET_V2_OPTIONS: OptionSpecs = {
  ...CLASSIFIER_OPTIONS,
  widthMultiplier: WIDTH_OPTION,
  dropout: DROPOUT_OPTION,
  attn: { type: 'enum', values: ['se', null] },
};

/** MobileNetV2. 3,504,872 parameters at width 1.0. */
export class MobileNetV2 extends FeatureClassifier {
  constructor(opts: MobileNetV2Options = {}) {
    checkOptions('mobilenet_v2', opts, MOBILENET_V2_OPTIONS);
    const width = opts.widthMultiplier ?? 1;
    const act = () => new ReLU6();
    let c = makeDivisible(32 * width);
    const last = makeDivisible(1280 * Math.max(1, width));
    const layers: Module[] = [new ConvNormAct(opts.inChannels ?? 3, c, 3, { stride: 2, act })];
    for (const [t, ch, n, s] of MOBILENET_V2_SETTINGS) {
      const out = makeDivisible(ch * width);
      for (let i = 0; i < n; i++) {
        const hidden = Math.round(c * t);
        layers.push(
          new InvertedResidual(c, out, {
            hiddenChannels: hidden,
            stride: i === 0 ? s : 1,
            act: 'relu6',
            seChannels: opts.attn === 'se' ? makeDivisible(hidden / 4) : null,
            seGate: 'sigmoid',
          }),
        );
        c = out;
      }
    }
    layers.push(new ConvNormAct(c, last, 1, { act }));
    super({
      features: new Sequential(...layers),
      pool: new AdaptiveAvgPool2d(1),
      classifier: new Sequential(new Dropout(opts.dropout ?? 0.2), new Linear(last, opts.numClasses ?? 1000)),
    });
  }
}

/** MobileNetV2 (`widthMultiplier`, `attn: 'se'`). */
export const mobilenetV2 = registerModel(
  {
    id: 'mobilenet_v2',
    family: 'mobilenet',
    paper:
      'MobileNetV2: Inverted Residuals and Linear Bottlenecks (Sandler et al., 2018), https://arxiv.org/abs/1801.04381',
    inputSize: [224, 224, 3],
    params: 3_504_872,
    macs: 300_774_272,
    numClasses: 1000,
  },
  (o: MobileNetV2Options) => new MobileNetV2(o),
  MOBILENET_V2_OPTIONS,
);
