// The DataLoader: seeded order, items (with their transforms) gathered into one float32 NHWC
// buffer per batch, an optional batch transform, and tensors made only when a batch is handed
// over. Batches ahead of the consumer are prepared in host memory, so abandoning an epoch midway
// leaves no tensors behind.
import { tf, type Tensor1D, type Tensor2D, type Tensor4D } from '@cnn/tensor';
import type { Dataset } from './dataset';
import type { Sample } from './image';
import { shapeOf } from './image';
import { Rng } from './rng';
import type { BatchTransform, HostBatch } from './transforms/mix';
import { writeUnitFloat } from './transforms/pixel';
import { isThenable, Limiter } from './util';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Images per batch. Default 64. */
  batchSize?: number;
  /** A new random order every epoch (drawn from `seed` and the epoch number). Default false: index order. */
  shuffle?: boolean;
  /**
   * Seeds the order and every random transform: the same seed gives the same batches, epoch after
   * epoch, whatever `prefetch` and `concurrency` are. Default: a random seed (see {@link DataLoader.seed}).
   */
  seed?: number;
  /** Leave out the last batch when it would be smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /** Applied to each assembled batch (e.g. {@link Mixup}, {@link CutMix}); makes `y` soft targets. */
  batchTransform?: BatchTransform | null;
  /** Batches prepared ahead of the one being consumed. Default 2. */
  prefetch?: number;
  /**
   * Items loaded at once, for datasets whose items are asynchronous (image folders read, decode and
   * transform in worker threads, or on libuv's threads, while the main thread trains). Default 16.
   */
  concurrency?: number;
}

/**
 * One batch, as tensors: `x` is `[n, height, width, channels]` float32; `y` holds int32 class
 * indices `[n]`, or float32 soft targets `[n, numClasses]` after Mixup/CutMix. Call `dispose()`
 * when done with it (or keep `x` and `y` and dispose them yourself).
 */
export interface Batch {
  /** Images, NHWC float32. */
  x: Tensor4D;
  /** Labels `[n]` int32, or soft targets `[n, numClasses]` float32. */
  y: Tensor1D | Tensor2D;
  /** The hard labels in host memory (before any mixing). */
  labels: Int32Array;
  /** The dataset index of each image. */
  indices: Int32Array;
  /** The number of images, `n`. */
  size: number;
  /** Disposes `x` and `y` (safe to call twice). */
  dispose(): void;
}

const STREAM_ORDER = 0;
const STREAM_ITEM = 1;
const STREAM_BATCH = 2;

/**
 * Iterates a dataset in batches of NHWC tensors, with seeded shuffling, `dropLast`, batch
 * transforms and prefetching.
 *
 * Every random choice comes from the seed: the order of epoch `e` from `(seed, e)`, the transform of
 * the item at position `k` of epoch `e` from `(seed, e, k)`, a batch transform from
 * `(seed, e, batch)`. So results do not depend on timing, prefetching or concurrency, and two loaders
 * with the same seed yield identical batches.
 *
 * Pixels stay in typed arrays until a batch is handed over: one `tf.tensor4d` is made per batch from
 * one Float32Array (uint8 images are scaled to [0, 1] on the way), labels as one int32 tensor. No
 * tensor exists for batches not yet handed over, so breaking out of a loop leaks nothing.
 *
 * @example
 * const train = (await FashionMNIST.sample()).withTransform(new Compose([new ToTensor(), new Normalize([0.286], [0.353])]));
 * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 1 });
 * for await (const batch of loader) {   // one epoch per for-await loop
 *   batch.x.shape;                      // [64, 28, 28, 1]
 *   batch.y.shape;                      // [64], int32
 *   batch.dispose();
 * }
 */
export class DataLoader<T extends Sample = Sample> implements AsyncIterable<Batch> {
  /** The dataset read from. */
  readonly dataset: Dataset<T>;
  /** Images per batch. */
  readonly batchSize: number;
  /** Whether each epoch has its own random order. */
  readonly shuffle: boolean;
  /** The seed of every random choice (given, or drawn at construction). */
  readonly seed: number;
  /** Whether a last, smaller batch is left out. */
  readonly dropLast: boolean;
  /** The transform applied to each assembled batch, or null. */
  readonly batchTransform: BatchTransform | null;
  /** Batches prepared ahead. */
  readonly prefetch: number;
  /** Items loaded at once. */
  readonly concurrency: number;
  private nextEpoch = 0;

  /** @param dataset - any {@link Dataset}: MNIST, CIFAR, an image folder, your own. */
  constructor(dataset: Dataset<T>, options: DataLoaderOptions = {}) {
    this.dataset = dataset;
    this.batchSize = options.batchSize ?? 64;
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? Rng.randomSeed();
    this.dropLast = options.dropLast ?? false;
    this.batchTransform = options.batchTransform ?? null;
    this.prefetch = options.prefetch ?? 2;
    this.concurrency = options.concurrency ?? 16;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1))
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    if (!(Number.isInteger(this.prefetch) && this.prefetch >= 0))
      throw new Error(`DataLoader: prefetch must be a non-negative integer, got ${this.prefetch}`);
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1))
      throw new Error(`DataLoader: concurrency must be a positive integer, got ${this.concurrency}`);
    if (!Number.isFinite(this.seed)) throw new Error(`DataLoader: seed must be a finite number, got ${this.seed}`);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The dataset indices of epoch `epoch`, in the order they are served. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return Rng.derive(this.seed, STREAM_ORDER, epoch).permutation(n);
  }

  /**
   * The next epoch: the first `for await` over the loader is epoch 0, the next epoch 1, and so on
   * (each with its own order when shuffling).
   */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch(this.nextEpoch++);
  }

  /**
   * The batches of one given epoch, as tensors. Calling it twice with the same number yields the same
   * batches.
   */
  async *epoch(epoch: number): AsyncGenerator<Batch, void, undefined> {
    await tf.ready();
    for await (const host of this.hostBatches(epoch)) yield toTensors(host);
  }

  /**
   * The batches of one epoch in host memory (typed arrays, no tensors), prefetched like
   * {@link DataLoader.epoch}: for feeding something other than tfjs, or for inspecting what a seed
   * produces.
   */
  async *hostBatches(epoch: number): AsyncGenerator<HostBatch, void, undefined> {
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new Error(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    const order = this.order(epoch);
    const total = this.length;
    const limiter = new Limiter(this.concurrency);
    const pending: Promise<HostBatch>[] = [];
    let scheduled = 0;
    const fill = () => {
      while (scheduled < total && pending.length <= this.prefetch) {
        const p = this.assemble(order, scheduled++, epoch, limiter);
        p.catch(() => undefined); // handled when awaited; avoids an unhandled rejection if the consumer stops first
        pending.push(p);
      }
    };
    fill();
    while (pending.length > 0) {
      const batch = await pending.shift()!;
      fill();
      yield batch;
    }
  }

  /** Gathers batch `b` of `order` into one host batch. */
  private async assemble(order: Int32Array, b: number, epoch: number, limiter: Limiter): Promise<HostBatch> {
    const from = b * this.batchSize;
    const n = Math.min(this.batchSize, order.length - from);
    const indices = order.slice(from, from + n);
    const labels = new Int32Array(n);
    const numClasses = this.dataset.classes.length;
    let x: Float32Array | null = null;
    let shape: [number, number, number, number] | null = null;
    let first = -1;
    const place = (k: number, item: T) => {
      const { image, label } = item;
      if (!shape) {
        shape = [n, image.height, image.width, image.channels];
        x = new Float32Array(n * image.height * image.width * image.channels);
        first = k;
      } else if (image.height !== shape[1] || image.width !== shape[2] || image.channels !== shape[3]) {
        throw new Error(
          `DataLoader: image ${k} of batch ${b} (dataset index ${indices[k]}) is ${shapeOf(image)} but image ${first} is ` +
            `${shape.slice(1).join('x')}: batched images must share one size; give the dataset a transform that ensures it (e.g. Resize + CenterCrop, or RandomResizedCrop)`,
        );
      }
      if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
        throw new Error(`DataLoader: dataset index ${indices[k]} has label ${label}, outside 0..${numClasses - 1}`);
      }
      labels[k] = label;
      const size = image.height * image.width * image.channels;
      const data = image.data;
      if (data instanceof Float32Array) x!.set(data, k * size);
      else writeUnitFloat(data, x!, k * size);
    };
    const waits: Promise<void>[] = [];
    for (let k = 0; k < n; k++) {
      const rng = Rng.derive(this.seed, STREAM_ITEM, epoch, from + k);
      const item = limiter.run(() => this.dataset.get(indices[k], rng));
      if (isThenable(item)) waits.push(item.then((it) => place(k, it)));
      else place(k, item);
    }
    if (waits.length > 0) await Promise.all(waits);
    if (n === 0 || !shape) throw new Error('DataLoader: empty batch');
    const batch: HostBatch = { x: x!, shape, labels, targets: null, numClasses, indices };
    if (!this.batchTransform) return batch;
    return this.batchTransform.apply(batch, Rng.derive(this.seed, STREAM_BATCH, epoch, b));
  }
}

/** Makes the batch's tensors: one tensor4d for the pixels, one for labels or soft targets. */
function toTensors(host: HostBatch): Batch {
  const [n] = host.shape;
  const x = tf.tensor4d(host.x, host.shape, 'float32');
  const y = host.targets
    ? tf.tensor2d(host.targets, [n, host.numClasses], 'float32')
    : tf.tensor1d(host.labels, 'int32');
  let disposed = false;
  return {
    x,
    y,
    labels: host.labels,
    indices: host.indices,
    size: n,
    dispose() {
      if (disposed) return;
      disposed = true;
      x.dispose();
      y.dispose();
    },
  };
}
