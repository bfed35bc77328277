// VGG (Simonyan & Zisserman, 2014, https://arxiv.org/abs/1409.1556): stacks of 3x3 convolutions, torchvision's
// layout and keys (features.N, classifier.0/3/6), with or without BatchNorm.
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
} from '@cnn/layers';
import { FeatureClassifier, type ClassifierOptions, type ModelCard } from './classifier';
import { ModelOptionsError } from './errors';
import { CLASSIFIER_OPTIONS, DROPOUT_OPTION, checkOptions, describeValue, type OptionSpecs } from './options';
import { registerModel } from './registry';

/** The options the VGGs take, with their limits. */
export const VGG_OPTIONS: OptionSpecs = { ...CLASSIFIER_OPTIONS, dropout: DROPOUT_OPTION };

/** Channels of each 3x3 convolution; 'M' is a 2x2 max pool. */
export const VGG_CONFIGS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const;

/** Options of the VGG builders. */
export interface VGGOptions extends ClassifierOptions {
  /** Dropout probability of the classifier (default 0.5). */
  dropout?: number;
}

/** VGG: the configuration's convolutions (each followed by BatchNorm when `batchNorm`), then three FC layers over 7x7x512. */
export class VGG extends FeatureClassifier {
  constructor(config: keyof typeof VGG_CONFIGS, batchNorm: boolean, opts: VGGOptions = {}) {
    if (!Object.hasOwn(VGG_CONFIGS, config)) {
      throw new ModelOptionsError(
        'vgg',
        `unknown configuration ${describeValue(config)}; expected ${Object.keys(VGG_CONFIGS).join(', ')}`,
      );
    }
    checkOptions(batchNorm ? `${config}_bn` : config, opts, VGG_OPTIONS);
    const layers: Module[] = [];
    let c = opts.inChannels ?? 3;
    for (const v of VGG_CONFIGS[config]) {
      if (v === 'M') {
        layers.push(new MaxPool2d(2, { stride: 2 }));
        continue;
      }
      layers.push(new Conv2d(c, v, 3, { padding: 1 }));
      if (batchNorm) layers.push(new BatchNorm2d(v));
      layers.push(new ReLU());
      c = v;
    }
    const p = opts.dropout ?? 0.5;
    super({
      features: new Sequential(...layers),
      pool: new AdaptiveAvgPool2d(7),
      classifier: new Sequential(
        new Linear(512 * 49, 4096, { flattenedFrom: [7, 7, 512] }),
        new ReLU(),
        new Dropout(p),
        new Linear(4096, 4096),
        new ReLU(),
        new Dropout(p),
        new Linear(4096, opts.numClasses ?? 1000),
      ),
    });
  }
}

// MACs are the same with and without BatchNorm (BatchNorm adds none).
const card = (id: string, params: number, macs: number): ModelCard => ({
  id,
  family: 'vgg',
  paper:
    'Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman, 2014), https://arxiv.org/abs/1409.1556',
  inputSize: [224, 224, 3],
  params,
  macs,
  numClasses: 1000,
});

/** VGG-11. */
export const vgg11 = registerModel(
  card('vgg11', 132_863_336, 7_609_090_048),
  (o: VGGOptions) => new VGG('vgg11', false, o),
  VGG_OPTIONS,
);
/** VGG-11 with BatchNorm. */
export const vgg11_bn = registerModel(
  card('vgg11_bn', 132_868_840, 7_609_090_048),
  (o: VGGOptions) => new VGG('vgg11', true, o),
  VGG_OPTIONS,
);
/** VGG-13. */
export const vgg13 = registerModel(
  card('vgg13', 133_047_848, 11_308_466_176),
  (o: VGGOptions) => new VGG('vgg13', false, o),
  VGG_OPTIONS,
);
/** VGG-13 with BatchNorm. */
export const vgg13_bn = registerModel(
  card('vgg13_bn', 133_053_736, 11_308_466_176),
  (o: VGGOptions) => new VGG('vgg13', true, o),
  VGG_OPTIONS,
);
/** VGG-16. */
export const vgg16 = registerModel(
  card('vgg16', 138_357_544, 15_470_264_320),
  (o: VGGOptions) => new VGG('vgg16', false, o),
  VGG_OPTIONS,
);
/** VGG-16 with BatchNorm. */
export const vgg16_bn = registerModel(
  card('vgg16_bn', 138_365_992, 15_470_264_320),
  (o: VGGOptions) => new VGG('vgg16', true, o),
  VGG_OPTIONS,
);
/** VGG-19. */
export const vgg19 = registerModel(
  card('vgg19', 143_667_240, 19_632_062_464),
  (o: VGGOptions) => new VGG('vgg19', false, o),
  VGG_OPTIONS,
);
/** VGG-19 with BatchNorm. */
export const vgg19_bn = registerModel(
  card('vgg19_bn', 143_678_248, 19_632_062_464),
  (o: VGGOptions) => new VGG('vgg19', true, o),
  VGG_OPTIONS,
);
