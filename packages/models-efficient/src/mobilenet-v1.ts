// MobileNetV1 (Howard et al., 2017, https://arxiv.org/abs/1704.04861), Table 1: a 3x3 stride-2 convolution, then
// thirteen depthwise separable convolutions, global average pooling and a classifier. Convolutions have no bias and
// are followed by BatchNorm and ReLU. 4,231,976 parameters at width 1.0.
import type { Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  ConvNormAct,
  Dropout,
  Linear,
  Module,
  ReLU,
  Sequential,
  batchNorm,
  type ActFactory,
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

/** The options MobileNetV1 takes, with their limits. */
export const MOBILENET_V1_OPTIONS: OptionSpecs = {
  ...CLASSIFIER_OPTIONS,
  widthMultiplier: WIDTH_OPTION,
  dropout: DROPOUT_OPTION,
};

/** Output channels and stride of each depthwise separable convolution (the paper's Table 1). */
export const MOBILENET_V1_LAYERS = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
] as const;

/** MobileNetV1's depthwise separable convolution: 3x3 depthwise ConvNormAct, then 1x1 pointwise ConvNormAct. */
export class DepthwiseSeparable extends Module {
  /** 3x3 depthwise convolution + norm + activation (carries the stride). */
  readonly depthwise: ConvNormAct;
  /** 1x1 pointwise convolution + norm + activation. */
  readonly pointwise: ConvNormAct;

  constructor(
    inChannels: number,
    outChannels: number,
    opts: { stride?: number; norm?: NormFactory; act?: ActFactory } = {},
  ) {
    super();
    const common = { norm: opts.norm ?? batchNorm(), act: opts.act ?? (() => new ReLU()) };
    this.depthwise = this.registerModule(
      'depthwise',
      new ConvNormAct(inChannels, inChannels, 3, { stride: opts.stride ?? 1, groups: inChannels, ...common }),
    );
    this.pointwise = this.registerModule('pointwise', new ConvNormAct(inChannels, outChannels, 1, common));
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.call(this.depthwise.call(x));
  }
}

/** Options of {@link MobileNetV1}. */
export interface MobileNetV1Options extends ClassifierOptions {
  /** Width multiplier alpha (default 1.0): every channel count is scaled by it. */
  widthMultiplier?: number;
  /** Dropout before the classifier (default 0: the paper uses none). */
  dropout?: number;
}

/** MobileNetV1. Keys: features.0 (stem), features.1-13 (depthwise / pointwise), classifier.1. */
export class MobileNetV1 extends FeatureClassifier {
  constructor(opts: MobileNetV1Options = {}) {
    checkOptions('mobilenet_v1', opts, MOBILENET_V1_OPTIONS);
    const alpha = opts.widthMultiplier ?? 1;
    const w = (c: number) => Math.max(8, Math.round(c * alpha));
    const layers: Module[] = [new ConvNormAct(opts.inChannels ?? 3, w(32), 3, { stride: 2 })];
    let c = w(32);
    for (const [out, stride] of MOBILENET_V1_LAYERS) {
      layers.push(new DepthwiseSeparable(c, w(out), { stride }));
      c = w(out);
    }
    super({
      features: new Sequential(...layers),
      pool: new AdaptiveAvgPool2d(1),
      classifier: new Sequential(new Dropout(opts.dropout ?? 0), new Linear(c, opts.numClasses ?? 1000)),
    });
  }
}

/** MobileNetV1 (`widthMultiplier`). Its count is the paper's. */
export const mobilenetV1 = registerModel(
  {
    id: 'mobilenet_v1',
    family: 'mobilenet',
    paper:
      'MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications (Howard et al., 2017), https://arxiv.org/abs/1704.04861',
    inputSize: [224, 224, 3],
    params: 4_231_976,
    macs: 568_740_352,
    numClasses: 1000,
  },
  (o: MobileNetV1Options) => new MobileNetV1(o),
  MOBILENET_V1_OPTIONS,
);
