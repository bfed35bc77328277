// MobileNetV2 (Sandler et al., 2018, https://arxiv.org/abs/1801.04381), torchvision's layout and keys: a stride-2
// stem, inverted residual blocks from the (t, c, n, s) table, a 1x1 convolution to 1280 channels, dropout, fc.
import { AdaptiveAvgPool2d, ConvNormAct, Dropout, InvertedResidual, Linear, Module, ReLU6, Sequential } from '@cnn/layers';
import { CLASSIFIER_OPTIONS, DROPOUT_OPTION, FeatureClassifier, WIDTH_OPTION, checkOptions, type ClassifierOptions, type OptionSpecs } from '@cnn/models-classic';
import { makeDivisible } from './divisible';

/** Expansion t, output channels c, repeats n, first stride s. */
export const MOBILENET_V2_SETTINGS = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
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
  ...CLASSIFIER_OPTIONS, widthMultiplier: WIDTH_OPTION, dropout: DROPOUT_OPTION, attn: { type: 'enum', values: ['se', null] },
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
        layers.push(new InvertedResidual(c, out, {
          hiddenChannels: hidden, stride: i === 0 ? s : 1, act: 'relu6',
          seChannels: opts.attn === 'se' ? makeDivisible(hidden / 4) : null, seGate: 'sigmoid',
        }));
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
