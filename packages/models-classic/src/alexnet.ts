// AlexNet (Krizhevsky et al., 2012, https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html):
// torchvision's single-GPU variant (64-192-384-256-256) and the original two-GPU network (96-256-384-384-256 with
// groups = 2 where the two GPUs did not talk, and local response normalisation; 227x227 input).
import {
  AdaptiveAvgPool2d,
  Conv2d,
  Dropout,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
} from '@cnn/layers';
import { FeatureClassifier, type ClassifierOptions, type ModelCard } from './classifier';
import { ModelOptionsError } from './errors';
import { CLASSIFIER_OPTIONS, DROPOUT_OPTION, checkOptions, describeValue, type OptionSpecs } from './options';
import { registerModel } from './registry';

/** The options the AlexNets and VGGs take, with their limits. */
export const ALEXNET_OPTIONS: OptionSpecs = { ...CLASSIFIER_OPTIONS, dropout: DROPOUT_OPTION };

/** Options of the AlexNet builders. */
export interface AlexNetOptions extends ClassifierOptions {
  /** Dropout probability of the classifier (default 0.5). */
  dropout?: number;
}

/** One convolution of the table: [out channels, kernel, stride, padding, groups, then: 'lrn+pool' | 'pool' | ''] */
type ConvRow = readonly [number, number, number, number, number, '' | 'pool' | 'lrn+pool'];

const ARCH = {
  // torchvision's alexnet: one GPU, no LRN.
  alexnet: [
    [64, 11, 4, 2, 1, 'pool'],
    [192, 5, 1, 2, 1, 'pool'],
    [384, 3, 1, 1, 1, ''],
    [256, 3, 1, 1, 1, ''],
    [256, 3, 1, 1, 1, 'pool'],
  ],
  // The 2012 paper: conv2, conv4 and conv5 see only their own GPU's half of the channels.
  alexnet_2012: [
    [96, 11, 4, 0, 1, 'lrn+pool'],
    [256, 5, 1, 2, 2, 'lrn+pool'],
    [384, 3, 1, 1, 1, ''],
    [384, 3, 1, 1, 2, ''],
    [256, 3, 1, 1, 2, 'pool'],
  ],
} as const satisfies Record<string, readonly ConvRow[]>;

/** AlexNet: five convolutions, then three fully connected layers over a 6x6 map. */
export class AlexNet extends FeatureClassifier {
  constructor(arch: keyof typeof ARCH, opts: AlexNetOptions = {}) {
    if (!Object.hasOwn(ARCH, arch))
      throw new ModelOptionsError(
        'alexnet',
        `unknown architecture ${describeValue(arch)}; expected 'alexnet' or 'alexnet_2012'`,
      );
    checkOptions(arch, opts, ALEXNET_OPTIONS);
    const layers: Module[] = [];
    let c = opts.inChannels ?? 3;
    for (const [out, k, s, p, g, after] of ARCH[arch]) {
      layers.push(new Conv2d(c, out, k, { stride: s, padding: p, groups: g }), new ReLU());
      if (after === 'lrn+pool') layers.push(new LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }));
      if (after !== '') layers.push(new MaxPool2d(3, { stride: 2 }));
      c = out;
    }
    const p = opts.dropout ?? 0.5;
    super({
      features: new Sequential(...layers),
      pool: new AdaptiveAvgPool2d(6),
      classifier: new Sequential(
        new Dropout(p),
        new Linear(c * 36, 4096, { flattenedFrom: [6, 6, c] }),
        new ReLU(),
        new Dropout(p),
        new Linear(4096, 4096),
        new ReLU(),
        new Linear(4096, opts.numClasses ?? 1000),
      ),
    });
  }
}

const PAPER =
  'ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky et al., 2012), https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html';
const card = (id: string, inputSize: [number, number, number], params: number, macs: number): ModelCard => ({
  id,
  family: 'alexnet',
  paper: PAPER,
  inputSize,
  params,
  macs,
  numClasses: 1000,
});

/** torchvision's AlexNet. */
export const alexnet = registerModel(
  card('alexnet', [224, 224, 3], 61_100_840, 714_188_480),
  (o: AlexNetOptions) => new AlexNet('alexnet', o),
  ALEXNET_OPTIONS,
);
/** The original two-GPU AlexNet of 2012 (groups 2, LRN, 227x227). */
export const alexnet_2012 = registerModel(
  card('alexnet_2012', [227, 227, 3], 60_965_224, 724_406_816),
  (o: AlexNetOptions) => new AlexNet('alexnet_2012', o),
  ALEXNET_OPTIONS,
);
