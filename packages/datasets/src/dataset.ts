import type { ImageHWC, NormStats, PixelArray, Sample } from './image';
import { Rng } from './rng';
import type { Transform } from './transforms/transform';

/**
 * What a {@link DataLoader} needs from a dataset: a length, items by index, class names and the
 * statistics to normalise with. Items may be returned directly (in-memory data) or as a promise
 * (images decoded from files).
 */
export interface Dataset<T extends Sample = Sample> {
  /** The number of items. */
  readonly length: number;
  /** Class names; a label `k` means `classes[k]`. */
  readonly classes: readonly string[];
  /**
   * Per-channel mean and standard deviation of the training pixels on a [0, 1] scale: the values
   * to give {@link Normalize}. For image folders, ImageNet's unless computed ({@link computeStats}).
   */
  readonly stats: NormStats;
  /**
   * The item at `index`, with the dataset's transform applied; random transforms draw from `rng`
   * (a fresh unseeded generator when omitted).
   */
  get(index: number, rng?: Rng): T | Promise<T>;
}

let unseeded: Rng | null = null;

/** The generator used when a caller gives none: seeded once from the platform's entropy. */
export function defaultRng(): Rng {
  return (unseeded ??= new Rng(Rng.randomSeed()));
}

/** Throws a RangeError unless `index` is an integer in `[0, length)`. */
export function checkIndex(index: number, length: number, what: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${what}: index ${index} is out of range [0, ${length})`);
  }
}

/** The parts an {@link InMemoryDataset} is made of. */
export interface InMemoryParts {
  /** All images, one after another, HWC uint8. */
  images: Uint8Array;
  /** One class index per image. */
  labels: Uint8Array;
  /** `[height, width, channels]` of every image. */
  imageShape: readonly [number, number, number];
  /** Class names. */
  classes: readonly string[];
  /** The statistics to normalise with. */
  stats: NormStats;
  /** The files the data came from. */
  files: readonly string[];
}

/**
 * A dataset held in memory as one uint8 buffer of same-sized images and one label per image: what
 * MNIST, Fashion-MNIST and CIFAR load into. Items are views into that buffer until a transform
 * makes new pixels, so reading is cheap and nothing is copied twice.
 */
export class InMemoryDataset implements Dataset<Sample> {
  /** All images, HWC uint8, `length * height * width * channels` bytes. */
  readonly images: Uint8Array;
  /** One class index per image. */
  readonly labels: Uint8Array;
  /** `[height, width, channels]` of every image. */
  readonly imageShape: readonly [number, number, number];
  /** Class names. */
  readonly classes: readonly string[];
  /** The statistics to normalise with (those of the training split). */
  readonly stats: NormStats;
  /** The files the data was read from. */
  readonly files: readonly string[];
  /** The transform {@link InMemoryDataset.get} applies, or null. */
  readonly transform: Transform | null;

  /** Wraps loaded data; the readers' `load` functions call this. */
  constructor(parts: InMemoryParts, transform: Transform | null = null) {
    const [h, w, c] = parts.imageShape;
    if (parts.images.length !== parts.labels.length * h * w * c) {
      throw new Error(
        `InMemoryDataset: ${parts.labels.length} labels need ${parts.labels.length * h * w * c} image bytes, got ${parts.images.length}`,
      );
    }
    this.images = parts.images;
    this.labels = parts.labels;
    this.imageShape = parts.imageShape;
    this.classes = parts.classes;
    this.stats = parts.stats;
    this.files = parts.files;
    this.transform = transform;
  }

  /** The number of images. */
  get length(): number {
    return this.labels.length;
  }

  /** The untransformed image at `index`: a view into {@link InMemoryDataset.images} (do not write to it). */
  raw(index: number): ImageHWC<Uint8Array> {
    checkIndex(index, this.length, this.constructor.name);
    const [height, width, channels] = this.imageShape;
    const size = height * width * channels;
    return { data: this.images.subarray(index * size, (index + 1) * size), height, width, channels };
  }

  /** The image at `index` after the dataset's transform, and its label. */
  get(index: number, rng?: Rng): Sample {
    const image = this.raw(index);
    const label = this.labels[index];
    if (!this.transform) return { image, label };
    return { image: this.transform.apply(image, rng ?? defaultRng()), label };
  }

  /**
   * The same data with another transform (or none): the images are shared, not copied, so a
   * training and an evaluation view of one split cost one buffer.
   *
   * @example
   * const train = await CIFAR10.load(root, { train: true });
   * const augmented = train.withTransform(new Compose([new RandomCrop(32, { padding: 4 }), new RandomHorizontalFlip()]));
   */
  withTransform(transform: Transform | null): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this, { transform });
    return copy;
  }

  /** How many images each class has: `counts[k]` for class `k` (the label histogram). */
  labelCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (let i = 0; i < this.labels.length; i++) counts[this.labels[i]]++;
    return counts;
  }
}

/**
 * Per-channel mean and standard deviation of a dataset's pixels on a [0, 1] scale (uint8 pixels are
 * divided by 255; float pixels are taken as they are), over its first `limit` items.
 *
 * @example
 * const stats = await computeStats(await ImageFolder.load('photos/train'), { limit: 1000 });
 * const normalize = new Normalize(stats.mean, stats.std);
 */
export async function computeStats(dataset: Dataset, options: { limit?: number } = {}): Promise<NormStats> {
  const n = Math.min(dataset.length, options.limit ?? dataset.length);
  if (n < 1) throw new Error('computeStats: the dataset is empty');
  let sum: Float64Array | null = null;
  let sq: Float64Array | null = null;
  let count = 0;
  const rng = new Rng(0);
  for (let i = 0; i < n; i++) {
    const { image } = await dataset.get(i, rng);
    const c = image.channels;
    sum ??= new Float64Array(c);
    sq ??= new Float64Array(c);
    if (sum.length !== c) throw new Error(`computeStats: item ${i} has ${c} channels, earlier items ${sum.length}`);
    accumulate(image.data, c, sum, sq);
    count += image.height * image.width;
  }
  const mean = Array.from(sum!, (s) => s / count);
  const std = Array.from(sq!, (s, k) => Math.sqrt(Math.max(0, s / count - mean[k] * mean[k])));
  return { mean, std };
}

function accumulate(data: PixelArray, c: number, sum: Float64Array, sq: Float64Array): void {
  const scale = data instanceof Uint8Array ? 1 / 255 : 1;
  for (let k = 0; k < c; k++) {
    let s = 0;
    let q = 0;
    for (let i = k; i < data.length; i += c) {
      const v = data[i] * scale;
      s += v;
      q += v * v;
    }
    sum[k] += s;
    sq[k] += q;
  }
}
