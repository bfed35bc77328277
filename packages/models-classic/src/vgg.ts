// VGG (Simonyan & Zisserman, 2014, https://arxiv.org/abs/1409.1556): stacks of 3x3 convolutions, torchvision's
// layout and keys (features.N, classifier.0/3/6), with or without BatchNorm.
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Module, ReLU, Sequential } from '@cnn/layers';
import { FeatureClassifier, type ClassifierOptions } from './classifier';
import { ModelOptionsError } from './errors';
import { CLASSIFIER_OPTIONS, DROPOUT_OPTION, checkOptions, describeValue, type OptionSpecs } from './options';

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
    if (!Object.prototype.hasOwnProperty.call(VGG_CONFIGS, config)) {
      throw new ModelOptionsError('vgg', `unknown configuration ${describeValue(config)}; expected ${Object.keys(VGG_CONFIGS).join(', ')}`);
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
        new Linear(512 * 49, 4096, { flattenedFrom: [7, 7, 512] }), new ReLU(), new Dropout(p),
        new Linear(4096, 4096), new ReLU(), new Dropout(p),
        new Linear(4096, opts.numClasses ?? 1000),
      ),
    });
  }
}
