import { tf, type Tensor } from '@cnn/tensor';
import { Flatten, Module, Linear, type Sequential } from '@cnn/layers';

/** Weights this project ships for a model, with what they were trained on and how well they do. */
export interface ShippedWeights {
  /** File name inside the package's `weights/` folder. */
  file: string;
  /** Dataset the weights were trained on (`fashion-mnist`, `cifar10`, ...). */
  dataset: string;
  /** [h, w, c] the weights were trained at. */
  inputSize: [number, number, number];
  /** Classes of the weights' classifier. */
  numClasses: number;
  /** Top-1 accuracy on the dataset's test split, as measured by the run that produced the weights. */
  top1: number;
  /** Class names in label order. */
  classes: readonly string[];
  /** Per-channel mean subtracted from [0, 1] pixels in training. */
  mean: readonly number[];
  /** Per-channel standard deviation the pixels were divided by in training. */
  std: readonly number[];
  /** How it was trained: the `cnn train` command line. */
  trainedWith: string;
}

/** A model card: plain data, checked against the real model by the registry test. */
export interface ModelCard {
  /** Registry id (`resnet18`), the name `getModel` takes. */
  id: string;
  /** Family the model belongs to (`resnet`, `mobilenet`, ...): one page of the docs per family. */
  family: string;
  /** Title and link of the paper. */
  paper: string;
  /** Default input [h, w, c]. */
  inputSize: [number, number, number];
  /** Learnable parameters with the default options (1000 classes unless noted). */
  params: number;
  /** Multiply-accumulates of one forward pass at `inputSize`, conv and linear layers (torchvision's "GFLOPS"). */
  macs: number;
  /** Classes of the default classifier. */
  numClasses: number;
  /** Trained weights shipped with the package, if any. */
  weights?: ShippedWeights[];
}

/** Options every classifier builder takes. */
export interface ClassifierOptions {
  /** Output classes (default: the card's). */
  numClasses?: number;
  /** Input channels (default 3; 1 for LeNet-5). */
  inChannels?: number;
}

/** What {@link ImageClassifier.predict} returns, one row per image. */
export interface Prediction {
  /** Class indices of the top-k scores, best first, one array per image. */
  indices: number[][];
  /** Softmax probabilities of those classes. */
  scores: number[][];
  /** Names of those classes, when `classNames` were given. */
  labels?: string[][];
}

/**
 * Base class of every classifier: `forwardFeatures` (the backbone, up to pooled features) and `forwardHead`
 * (the classifier) are separate methods, `forward` chains them, `predict` gives the top-k classes.
 */
export abstract class ImageClassifier extends Module {
  /** Features before the classifier head. */
  abstract forwardFeatures(x: Tensor): Tensor;

  /** Logits from the features. */
  abstract forwardHead(features: Tensor): Tensor;

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /** The final Linear layer. */
  abstract get classifier(): Linear;

  /** Replaces the final Linear layer with a fresh one for `numClasses` (fine-tuning); disposes the old one. */
  resetClassifier(numClasses: number): void {
    const old = this.classifier;
    const next = new Linear(old.inFeatures, numClasses, { flattenedFrom: old.flattenedFrom ?? undefined });
    this.replaceHead(next);
  }

  /** Puts `head` where the final Linear layer is. */
  protected abstract replaceHead(head: Linear): void;

  /**
   * Top-k classes and softmax scores for a batch of NHWC images, in evaluation mode.
   *
   * @example
   * const { indices, scores } = net.predict(x, { topk: 5 });
   */
  predict(x: Tensor, opts: { topk?: number; classNames?: readonly string[] } = {}): Prediction {
    const wasTraining = this.training;
    this.eval();
    try {
      const k = opts.topk ?? 5;
      const { values, indices } = tf.tidy(() => {
        const probs = tf.softmax(this.call(x));
        const n = probs.shape[probs.shape.length - 1];
        if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`predict: topk must be an integer from 1 to ${n}, got ${k}`);
        return tf.topk(probs, k);
      });
      const s = values.arraySync() as number[][];
      const i = indices.arraySync() as number[][];
      tf.dispose([values, indices]);
      const out: Prediction = { indices: i, scores: s };
      if (opts.classNames) out.labels = i.map((row) => row.map((c) => opts.classNames![c] ?? String(c)));
      return out;
    } finally {
      this.train(wasTraining);
    }
  }
}

/**
 * The common shape of AlexNet, VGG and the MobileNets: `features` (a Sequential), a pooling module, a flatten, and a
 * `classifier` Sequential whose last layer is the final Linear. Keys: `features.N...`, `classifier.N...` (the pooling
 * module, registered as `poolName`, has no parameters).
 */
export abstract class FeatureClassifier extends ImageClassifier {
  /** The convolutional part: `features.N` keys. */
  readonly features: Sequential;
  private readonly pool: Module;
  private readonly flatten = new Flatten();
  private readonly head: Sequential;

  constructor(parts: { features: Sequential; pool: Module; poolName?: string; classifier: Sequential }) {
    super();
    this.features = this.registerModule('features', parts.features);
    this.pool = this.registerModule(parts.poolName ?? 'avgpool', parts.pool);
    this.head = this.registerModule('classifier', parts.classifier);
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.flatten.call(this.pool.call(this.features.call(x)));
  }

  forwardHead(f: Tensor): Tensor {
    return this.head.call(f);
  }

  get classifier(): Linear {
    return this.head.at(this.head.length - 1) as Linear;
  }

  protected replaceHead(head: Linear): void {
    this.head.replace(this.head.length - 1, head);
  }
}
