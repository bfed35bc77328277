import { tf, type Tensor } from '@cnn/tensor';
import { Flatten, Module, Linear, Sequential } from '@cnn/layers';
import type { ImageHWC } from '@cnn/datasets';
import { ModelInputError, NonFiniteInputError } from './errors';
import { CLASSIFIER_OPTIONS, checkOptions, describeValue } from './options';
import { preprocessImages, type InputPreprocess } from './preprocess';
import type { PretrainedListing } from './pretrained/index';

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
  /** Names of those classes, when `classNames` were given or the model carries `pretrained.classes`. */
  labels?: string[][];
}

/** What a model loaded by `loadPretrained` carries (`net.pretrained`): which weights, their classes and preprocessing. */
export interface PretrainedInfo {
  /** The weights loaded: name, source, dataset, published accuracy, and the table entry or shipped file. */
  readonly weights: PretrainedListing;
  /** Class names in label order (the 1,000 ImageNet-1k names for ImageNet weights). */
  readonly classes: readonly string[];
  /** How `predict` turns an image into input for these weights. */
  readonly preprocess: InputPreprocess;
}

/** Options of {@link ImageClassifier.predict}. */
export interface PredictOptions {
  /** Classes per image (default 5), from 1 to the number of classes. */
  topk?: number;
  /** Class names in label order; default: `pretrained.classes` of a model from `loadPretrained`. */
  classNames?: readonly string[];
  /** How images (not tensors) are preprocessed; default: `pretrained.preprocess`. */
  preprocess?: InputPreprocess;
}

/** Is `x` a decoded image (`loadImage`'s `ImageHWC`) rather than a tensor? */
function isImage(x: unknown): x is ImageHWC {
  if (typeof x !== 'object' || x === null || x instanceof tf.Tensor) return false;
  const o = x as Partial<ImageHWC>;
  return (
    (o.data instanceof Uint8Array || o.data instanceof Float32Array) &&
    Number.isInteger(o.height) &&
    Number.isInteger(o.width) &&
    Number.isInteger(o.channels) &&
    o.data.length === o.height! * o.width! * o.channels!
  );
}

/**
 * Base class of every classifier: `forwardFeatures` (the backbone, up to pooled features) and `forwardHead`
 * (the classifier) are separate methods, `forward` chains them, `predict` gives the top-k classes.
 *
 * The head is written once, here: a family registers its head with {@link ImageClassifier.registerHead} (a Linear
 * under its own name, as ResNet's `fc`, or a Sequential whose last layer is the final Linear, as VGG's
 * `classifier`), and `forwardHead`, `classifier` and `resetClassifier` work on it.
 */
export abstract class ImageClassifier extends Module {
  /**
   * Set by `loadPretrained`: the weights, their class names and preprocessing, which `predict` uses for images and
   * labels. Undefined for a model built with random weights.
   */
  pretrained?: PretrainedInfo;

  /** The registered head: its child name and module. */
  private headEntry: { name: string; module: Linear | Sequential } | null = null;

  /** Features before the classifier head. */
  abstract forwardFeatures(x: Tensor): Tensor;

  /**
   * Logits from the features: the registered head. A family with more in its head than its modules (GoogLeNet's
   * dropout before `fc`) overrides this and calls `super.forwardHead`.
   */
  forwardHead(features: Tensor): Tensor {
    return this.registeredHead().module.call(features);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /** The final Linear layer: the registered head itself, or the last layer of a Sequential head. */
  get classifier(): Linear {
    const { module } = this.registeredHead();
    const last = module instanceof Sequential ? module.at(module.length - 1) : module;
    if (!(last instanceof Linear))
      throw new Error(`${this.typeName}: the last layer of its head is a ${last.typeName}, not a Linear`);
    return last;
  }

  /**
   * Replaces the final Linear layer with a fresh one for `numClasses` (fine-tuning); disposes the old one.
   * `numClasses` is checked first (an integer from 1 to 100,000: {@link ModelOptionsError} otherwise, the model unchanged); a model fused in place refuses with `FusedInPlaceError`.
   */
  resetClassifier(numClasses: number): void {
    checkOptions(`${this.typeName}.resetClassifier`, { numClasses }, { numClasses: CLASSIFIER_OPTIONS.numClasses });
    this.refuseIfFusedInPlace('resetClassifier', 'replacing a layer');
    const old = this.classifier;
    const next = new Linear(old.inFeatures, numClasses, { flattenedFrom: old.flattenedFrom ?? undefined });
    this.replaceHead(next);
  }

  /**
   * Registers the classifier head under `name` (its keys: `name.weight`, or `name.N...` for a Sequential), once, in
   * the constructor where its keys belong among the others: a Linear (the head is the final Linear), or a Sequential
   * whose last layer is the final Linear. Returns `head`.
   */
  protected registerHead<H extends Linear | Sequential>(name: string, head: H): H {
    if (this.headEntry) throw new Error(`${this.typeName}: a head is already registered as '${this.headEntry.name}'`);
    this.registerModule(name, head);
    this.headEntry = { name, module: head };
    return head;
  }

  /** Puts `head` where the final Linear layer is (the head itself, or the last layer of a Sequential head); disposes the old one. */
  protected replaceHead(head: Linear): void {
    const { name, module } = this.registeredHead();
    if (module instanceof Sequential) module.replace(module.length - 1, head);
    else {
      this.replaceModule(name, head);
      this.headEntry = { name, module: head };
    }
  }

  private registeredHead(): { name: string; module: Linear | Sequential } {
    if (!this.headEntry)
      throw new Error(
        `${this.typeName}: no classifier head (call registerHead in its constructor, or override forwardHead, classifier and replaceHead)`,
      );
    return this.headEntry;
  }

  /**
   * Top-k classes and softmax scores, in evaluation mode, for a batch of NHWC images as a tensor, or for decoded
   * images (`loadImage`'s `ImageHWC`, one or an array), which it preprocesses as the weights were evaluated
   * (`pretrained.preprocess` of a model from `loadPretrained`, or `opts.preprocess`: resize, centre crop, normalise).
   * Labels come from `opts.classNames`, else from `pretrained.classes`.
   *
   * The input is checked before the network runs: a tensor must be rank-4 float32 with all values finite. One NaN or
   * infinite value would turn its image's scores into NaN, so `predict` refuses the batch with a
   * {@link NonFiniteInputError} that counts them and gives the first one's position (one pass over the input; the
   * network does not run). `topk` must be an integer from 1 to the number of classes ({@link ModelInputError}); an
   * image needs preprocessing to be known and must have the model's channels ({@link ModelInputError}).
   * A batch of zero images gives empty `indices` and `scores`.
   *
   * `forward` and `call` do not check values: training loops call them on every batch and pay for no extra pass; a
   * NaN there shows up in the loss.
   *
   * @example
   * const { indices, scores } = net.predict(x, { topk: 5 });
   * const net = await loadPretrained('resnet50');
   * net.predict(await loadImage('cat.jpg')).labels;            // [['tabby', 'tiger cat', 'Egyptian cat', ...]]
   */
  predict(x: Tensor | ImageHWC | readonly ImageHWC[], opts: PredictOptions = {}): Prediction {
    const k = opts.topk ?? 5;
    const n = this.classifier.outFeatures;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > n) {
      throw new ModelInputError(`predict: topk must be an integer from 1 to ${n}, got ${describeValue(k)}`);
    }
    if (opts.classNames !== undefined && !Array.isArray(opts.classNames)) {
      throw new ModelInputError(
        `predict: classNames must be an array of strings, got ${describeValue(opts.classNames)}`,
      );
    }
    const names = opts.classNames ?? this.pretrained?.classes;
    if (x instanceof tf.Tensor) return this.predictTensor(x, k, names);
    const images = Array.isArray(x) ? (x as readonly unknown[]) : [x];
    const bad = images.findIndex((im) => !isImage(im));
    if (bad >= 0)
      throw new ModelInputError(
        `predict: input must be a tf.Tensor or decoded images (ImageHWC, from loadImage), got ${describeValue(Array.isArray(x) ? images[bad] : x)}${Array.isArray(x) ? ` at ${bad}` : ''}`,
      );
    const pre = opts.preprocess ?? this.pretrained?.preprocess;
    if (pre === undefined)
      throw new ModelInputError(
        `predict: ${this.typeName} has no preprocessing for images (it was not loaded with loadPretrained): pass { preprocess }, or a tensor (imagenetPreprocess)`,
      );
    const batch = preprocessImages(images as ImageHWC[], pre);
    try {
      return this.predictTensor(batch, k, names);
    } finally {
      batch.dispose();
    }
  }

  private predictTensor(x: Tensor, k: number, names: readonly string[] | undefined): Prediction {
    checkPredictInput(x);
    const wasTraining = this.training;
    this.eval();
    try {
      const { values, indices } = tf.tidy(() => tf.topk(tf.softmax(this.call(x)), k));
      const s = values.arraySync() as number[][];
      const i = indices.arraySync() as number[][];
      tf.dispose([values, indices]);
      const out: Prediction = { indices: i, scores: s };
      if (names) out.labels = i.map((row) => row.map((c) => names[c] ?? String(c)));
      return out;
    } finally {
      // Back to the caller's mode, keeping the folded inference tensors for the next call (derived state, checked at every call).
      this.setTrainingFlags(wasTraining);
    }
  }
}

/** Refuses what predict cannot classify: not a rank-4 float32 tensor, or NaN / infinite values (one sum, then a count if it is not finite). */
function checkPredictInput(x: Tensor): void {
  if (!(x instanceof tf.Tensor))
    throw new ModelInputError(`predict: input must be a tf.Tensor, got ${describeValue(x)}`);
  if (x.isDisposed) throw new ModelInputError('predict: input tensor is disposed');
  if (x.rank !== 4)
    throw new ModelInputError(
      `predict: input must be a batch of NHWC images [n, h, w, c], got shape [${x.shape.join(', ')}]`,
    );
  if (x.dtype !== 'float32') throw new ModelInputError(`predict: input must be float32, got ${x.dtype}`);
  if (x.size === 0) return;
  // One pass: a NaN or an infinity anywhere makes the sum NaN or infinite; a finite sum proves every value finite.
  // Only a sum that is not finite (a bad value, or finite values that overflow float32) pays for the exact count.
  const sum = tf.sum(x);
  const total = sum.dataSync()[0]!;
  sum.dispose();
  if (Number.isFinite(total)) return;
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'int32')));
  const count = bad.dataSync()[0]!;
  bad.dispose();
  if (count === 0) return;
  // The error path only: where the first one is, and what it is.
  const first = tf.tidy(() => tf.argMax(tf.cast(tf.logicalNot(tf.isFinite(tf.reshape(x, [-1]))), 'int32'), 0));
  const flat = first.dataSync()[0]!;
  first.dispose();
  const index: number[] = [];
  let rest = flat;
  for (let d = x.rank - 1; d >= 0; d--) {
    index.unshift(rest % x.shape[d]!);
    rest = Math.floor(rest / x.shape[d]!);
  }
  const v = tf.tidy(() =>
    tf.slice(
      x,
      index,
      x.shape.map(() => 1),
    ),
  );
  const value = v.dataSync()[0]!;
  v.dispose();
  throw new NonFiniteInputError(
    `predict: input holds ${count} NaN or infinite value${count === 1 ? '' : 's'} (of ${x.size}); the first, ${value}, is at [${index.join(', ')}] ([n, h, w, c]); nothing was run`,
    count,
    index,
    value,
  );
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

  constructor(parts: { features: Sequential; pool: Module; poolName?: string; classifier: Sequential }) {
    super();
    this.features = this.registerModule('features', parts.features);
    this.pool = this.registerModule(parts.poolName ?? 'avgpool', parts.pool);
    this.registerHead('classifier', parts.classifier);
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.flatten.call(this.pool.call(this.features.call(x)));
  }
}
