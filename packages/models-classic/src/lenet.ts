// LeNet-5 (LeCun et al., 1998), in MMPretrain's layout: tanh activations and average pooling;
// 32x32 input, or 28x28 with padding 2 on the first convolution.
import type { Tensor } from '@cnn/tensor';
import { AvgPool2d, Conv2d, Flatten, Linear, Sequential, Tanh } from '@cnn/layers';
import { ImageClassifier, type ClassifierOptions } from './classifier';
import { CLASSIFIER_OPTIONS, checkOptions, type OptionSpecs } from './options';
import { FASHION_MNIST_CLASSES } from './pretrained';
import { registerModel } from './registry';

/** The options LeNet-5 takes, with their limits. */
export const LENET_OPTIONS: OptionSpecs = { ...CLASSIFIER_OPTIONS, inputSize: { type: 'enum', values: [28, 32] } };

/** Options of {@link lenet5}. */
export interface LeNetOptions extends ClassifierOptions {
  /** 32 (the paper's) or 28 (MNIST-sized: the first convolution pads by 2). Default 32. */
  inputSize?: 28 | 32;
}

/**
 * LeNet-5: conv 6@5x5, tanh, avg pool, conv 16@5x5, tanh, avg pool, conv 120@5x5, tanh, fc 84, tanh, fc classes.
 * 61,706 parameters for 10 classes. Keys as MMPretrain's: `features.0.weight` ... `classifier.2.bias`.
 */
export class LeNet5 extends ImageClassifier {
  /** The three convolutions with their activations and pools: `features.N` keys. */
  readonly features: Sequential;
  private readonly flatten = new Flatten();

  constructor(opts: LeNetOptions = {}) {
    checkOptions('lenet5', opts, LENET_OPTIONS);
    super();
    const inputSize = opts.inputSize ?? 32;
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: inputSize === 28 ? 2 : 0 }),
        new Tanh(),
        new AvgPool2d(2),
        new Conv2d(6, 16, 5),
        new Tanh(),
        new AvgPool2d(2),
        new Conv2d(16, 120, 5),
        new Tanh(),
      ),
    );
    this.registerHead(
      'classifier',
      new Sequential(new Linear(120, 84), new Tanh(), new Linear(84, opts.numClasses ?? 10)),
    );
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.flatten.call(this.features.call(x));
  }
}

/** LeNet-5 (MMPretrain's layout), 28x28 input by default; trained weights ship for Fashion-MNIST. */
export const lenet5 = registerModel(
  {
    id: 'lenet5',
    family: 'lenet',
    paper:
      'Gradient-Based Learning Applied to Document Recognition (LeCun et al., 1998), http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf',
    inputSize: [28, 28, 1],
    params: 61_706,
    macs: 416_520,
    numClasses: 10,
    // scripts/ship-weights.mjs wrote the file and printed this entry.
    weights: [
      {
        file: 'lenet5-fashion-mnist.safetensors',
        dataset: 'fashion-mnist',
        inputSize: [28, 28, 1],
        numClasses: 10,
        top1: 0.898,
        classes: FASHION_MNIST_CLASSES,
        mean: [0.286],
        std: [0.353],
        trainedWith:
          'cnn train --model lenet5 --dataset fashion-mnist --epochs 5 --batch-size 64 --optimizer sgd --lr 0.05 --weight-decay 0.0005 --schedule cosine --seed 0',
      },
    ],
  },
  (o: LeNetOptions) => new LeNet5({ inputSize: 28, ...o }),
  LENET_OPTIONS,
);
