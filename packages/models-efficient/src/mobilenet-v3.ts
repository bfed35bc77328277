// MobileNetV3 (Howard et al., 2019, https://arxiv.org/abs/1905.02244), torchvision's layout and keys: inverted
// residuals with optional squeeze-and-excitation (hard-sigmoid gate) and hardswish, BatchNorm eps 1e-3 and
// momentum 0.01, a 1x1 convolution to 6x the last block's channels, then Linear, hardswish, dropout, Linear.
import {
  AdaptiveAvgPool2d,
  ConvNormAct,
  Dropout,
  Hardswish,
  Linear,
  type Module,
  Sequential,
  batchNorm,
} from '@cnn/layers';
import {
  CLASSIFIER_OPTIONS,
  DROPOUT_OPTION,
  FeatureClassifier,
  ModelOptionsError,
  checkOptions,
  describeValue,
  registerModel,
  type ClassifierOptions,
  type ModelCard,
  type OptionSpecs,
} from '@cnn/models-classic';
import { makeDivisible } from './divisible';
import { InvertedResidual } from './mobilenet-v2';

/** One block: input channels, kernel, expanded channels, output channels, SE, activation, stride. */
type Row = readonly [number, number, number, number, boolean, 'relu' | 'hardswish', number];

/** The two published configurations, and their last hidden layer's width. */
export const MOBILENET_V3_ARCH = {
  large: {
    last: 1280,
    rows: [
      [16, 3, 16, 16, false, 'relu', 1],
      [16, 3, 64, 24, false, 'relu', 2],
      [24, 3, 72, 24, false, 'relu', 1],
      [24, 5, 72, 40, true, 'relu', 2],
      [40, 5, 120, 40, true, 'relu', 1],
      [40, 5, 120, 40, true, 'relu', 1],
      [40, 3, 240, 80, false, 'hardswish', 2],
      [80, 3, 200, 80, false, 'hardswish', 1],
      [80, 3, 184, 80, false, 'hardswish', 1],
      [80, 3, 184, 80, false, 'hardswish', 1],
      [80, 3, 480, 112, true, 'hardswish', 1],
      [112, 3, 672, 112, true, 'hardswish', 1],
      [112, 5, 672, 160, true, 'hardswish', 2],
      [160, 5, 960, 160, true, 'hardswish', 1],
      [160, 5, 960, 160, true, 'hardswish', 1],
    ] as readonly Row[],
  },
  small: {
    last: 1024,
    rows: [
      [16, 3, 16, 16, true, 'relu', 2],
      [16, 3, 72, 24, false, 'relu', 2],
      [24, 3, 88, 24, false, 'relu', 1],
      [24, 5, 96, 40, true, 'hardswish', 2],
      [40, 5, 240, 40, true, 'hardswish', 1],
      [40, 5, 240, 40, true, 'hardswish', 1],
      [40, 5, 120, 48, true, 'hardswish', 1],
      [48, 5, 144, 48, true, 'hardswish', 1],
      [48, 5, 288, 96, true, 'hardswish', 2],
      [96, 5, 576, 96, true, 'hardswish', 1],
      [96, 5, 576, 96, true, 'hardswish', 1],
    ] as readonly Row[],
  },
} as const;

/** Options of {@link MobileNetV3}. */
export interface MobileNetV3Options extends ClassifierOptions {
  /** Dropout probability before the last Linear (default 0.2). */
  dropout?: number;
}

/** The options MobileNetV3 takes, with their limits. */
export const MOBILENET_V3_OPTIONS: OptionSpecs = { ...CLASSIFIER_OPTIONS, dropout: DROPOUT_OPTION };

/** MobileNetV3 large (5,483,032 parameters) or small (2,542,856). */
export class MobileNetV3 extends FeatureClassifier {
  constructor(size: keyof typeof MOBILENET_V3_ARCH, opts: MobileNetV3Options = {}) {
    if (size !== 'large' && size !== 'small')
      throw new ModelOptionsError('mobilenet_v3', `size must be 'large' or 'small', got ${describeValue(size)}`);
    checkOptions(`mobilenet_v3_${size}`, opts, MOBILENET_V3_OPTIONS);
    const { rows, last } = MOBILENET_V3_ARCH[size];
    const norm = batchNorm({ eps: 1e-3, momentum: 0.01 });
    const hswish = () => new Hardswish();
    const layers: Module[] = [new ConvNormAct(opts.inChannels ?? 3, rows[0][0], 3, { stride: 2, norm, act: hswish })];
    for (const [cin, k, exp, out, se, act, s] of rows) {
      layers.push(
        new InvertedResidual(cin, out, {
          hiddenChannels: exp,
          kernelSize: k,
          stride: s,
          act,
          norm,
          layout: 'v3',
          seChannels: se ? makeDivisible(Math.floor(exp / 4)) : null,
        }),
      );
    }
    const lastConv = 6 * rows[rows.length - 1][3];
    layers.push(new ConvNormAct(rows[rows.length - 1][3], lastConv, 1, { norm, act: hswish }));
    super({
      features: new Sequential(...layers),
      pool: new AdaptiveAvgPool2d(1),
      classifier: new Sequential(
        new Linear(lastConv, last),
        new Hardswish(),
        new Dropout(opts.dropout ?? 0.2),
        new Linear(last, opts.numClasses ?? 1000),
      ),
    });
  }
}

const card = (id: string, params: number, macs: number): ModelCard => ({
  id,
  family: 'mobilenet',
  paper: 'Searching for MobileNetV3 (Howard et al., 2019), https://arxiv.org/abs/1905.02244',
  inputSize: [224, 224, 3],
  params,
  macs,
  numClasses: 1000,
});

/** MobileNetV3-Small. */
export const mobilenetV3Small = registerModel(
  card('mobilenet_v3_small', 2_542_856, 56_510_400),
  (o: MobileNetV3Options) => new MobileNetV3('small', o),
  MOBILENET_V3_OPTIONS,
);
/** MobileNetV3-Large. */
export const mobilenetV3Large = registerModel(
  card('mobilenet_v3_large', 5_483_032, 216_589_760),
  (o: MobileNetV3Options) => new MobileNetV3('large', o),
  MOBILENET_V3_OPTIONS,
);
