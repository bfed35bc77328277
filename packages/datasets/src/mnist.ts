// MNIST and Fashion-MNIST: IDX files, plain or gzipped, read whole into one uint8 buffer.
import { InMemoryDataset } from './dataset';
import { DatasetError, DatasetUsageError } from './errors';
import { readIdx } from './idx';
import type { NormStats } from './image';
import { platform } from './io/platform';
import type { Transform } from './transforms/transform';
import { allInOrder } from './util';

/** Options of {@link MNIST.load} and {@link FashionMNIST.load}. */
export interface MnistOptions {
  /** The training split (`train-*`, 60,000 images) when true (the default), else the test split (`t10k-*`, 10,000). */
  train?: boolean;
  /** Applied to every item by `get` (e.g. `new Compose([new ToTensor(), new Normalize(...)])`). */
  transform?: Transform | null;
  /**
   * The most bytes of values each IDX file may declare; a file over it is refused from its header (a
   * gzipped one stops inflating there). Default 2^28 = 268,435,456 (256 MiB); see {@link readIdx}.
   */
  maxBytes?: number;
}

/** The names of the embedded Fashion-MNIST sample's four files. */
export type FashionMnistSampleFile =
  | 'train-images-idx3-ubyte.gz'
  | 'train-labels-idx1-ubyte.gz'
  | 't10k-images-idx3-ubyte.gz'
  | 't10k-labels-idx1-ubyte.gz';

/** Options of {@link FashionMNIST.sample}. */
export interface FashionMnistSampleOptions extends MnistOptions {
  /**
   * Where the sample's files are: `fashionMnistSampleFiles` from `@cnn/datasets/fashion-mnist-sample`, or URLs
   * (paths in Node) of your own. Needed in a browser; Node reads the installed package's files without it.
   */
  files?: Readonly<Partial<Record<FashionMnistSampleFile, string | URL>>>;
}

/** The four ways the IDX files are commonly named, gzipped first. */
function candidates(prefix: string, kind: 'images' | 'labels'): string[] {
  const rank = kind === 'images' ? 3 : 1;
  const base = [`${prefix}-${kind}-idx${rank}-ubyte`, `${prefix}-${kind}.idx${rank}-ubyte`];
  return [...base.map((b) => `${b}.gz`), ...base];
}

/**
 * MNIST handwritten digits: 28x28 grey images in 10 classes, 60,000 for training and 10,000 for
 * test, read from the four IDX files (`train-images-idx3-ubyte[.gz]` and so on) in a folder.
 *
 * The folder may be the one holding the files, or a torchvision root (`<root>/MNIST/raw/`).
 * Everything is checked before the dataset exists: magic numbers, sizes, image and label counts and
 * label range; a fault throws a {@link DatasetError} that names the file.
 *
 * @example
 * const train = await MNIST.load('data/mnist', { transform: new Compose([new ToTensor(), new Normalize(MNIST.STATS.mean, MNIST.STATS.std)]) });
 * train.length;          // 60000
 * train.get(0).image;    // { data: Float32Array(784), height: 28, width: 28, channels: 1 }
 */
export class MNIST extends InMemoryDataset {
  /** Class names, as torchvision names them. */
  static readonly CLASSES: readonly string[] = Object.freeze(
    ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'].map((w, i) => `${i} - ${w}`),
  );
  /** Mean and standard deviation of MNIST's training pixels ([0, 1] scale), the values everyone normalises with. */
  static readonly STATS: NormStats = Object.freeze({ mean: Object.freeze([0.1307]), std: Object.freeze([0.3081]) });
  /** The sub-folder of a torchvision root that holds this dataset's `raw/` files. */
  static readonly FOLDER: string = 'MNIST';

  /**
   * Loads a split from a folder.
   *
   * @param root - the folder holding the IDX files (or a torchvision root containing `MNIST/raw/`).
   * @throws DatasetError when a file is missing or malformed.
   */
  static async load<T extends typeof MNIST>(
    this: T,
    root: string,
    options: MnistOptions = {},
  ): Promise<InstanceType<T>> {
    const prefix = (options.train ?? true) ? 'train' : 't10k';
    const dirs = [root, platform.join(root, 'raw'), platform.join(root, this.FOLDER, 'raw')];
    const find = async (kind: 'images' | 'labels') => {
      for (const dir of dirs) {
        for (const name of candidates(prefix, kind)) {
          const path = platform.join(dir, name);
          if (await platform.exists(path)) return path;
        }
      }
      throw new DatasetError(
        root,
        `no ${prefix}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte[.gz] here, nor in raw/ or ${this.FOLDER}/raw/${this.missingHint(root)}`,
      );
    };
    const [images, labels] = await allInOrder<[string, string]>([find('images'), find('labels')]);
    return this.fromFiles(images, labels, options);
  }

  /**
   * Loads a split from two explicit IDX files (paths in Node, URLs in a browser).
   *
   * @example
   * const test = await FashionMNIST.fromFiles('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
   */
  static async fromFiles<T extends typeof MNIST>(
    this: T,
    imagesFile: string,
    labelsFile: string,
    options: Pick<MnistOptions, 'transform' | 'maxBytes'> = {},
  ): Promise<InstanceType<T>> {
    const limits = { maxBytes: options.maxBytes };
    const [images, labels] = await allInOrder([readIdx(imagesFile, 3, limits), readIdx(labelsFile, 1, limits)]);
    const [n, height, width] = images.dims;
    const [m] = labels.dims;
    if (n !== m) {
      throw new DatasetError(
        labelsFile,
        `holds ${m} labels but ${imagesFile} holds ${n} images: the two files do not belong together`,
      );
    }
    const classes = this.CLASSES;
    for (let i = 0; i < m; i++) {
      if (labels.data[i] >= classes.length) {
        throw new DatasetError(
          labelsFile,
          `label ${labels.data[i]} at index ${i} is outside 0..${classes.length - 1} (${this.name} has ${classes.length} classes)`,
        );
      }
    }
    const parts = {
      images: images.data,
      labels: labels.data,
      imageShape: [height, width, 1] as const,
      classes,
      stats: this.STATS,
      files: [imagesFile, labelsFile],
    };
    return new this(parts, options.transform ?? null) as InstanceType<T>;
  }

  /** Extra advice appended to the "files not found" error (Fashion-MNIST points at Debian's package). */
  protected static missingHint(_root: string): string {
    return '';
  }
}

/**
 * Fashion-MNIST (Zalando Research, MIT licence): 28x28 grey photographs of clothing in 10 classes,
 * in MNIST's exact format and sizes (60,000 training and 10,000 test images, balanced classes).
 *
 * Three sources: any folder ({@link FashionMNIST.load}), Debian's package
 * (`apt-get install dataset-fashion-mnist`, {@link FashionMNIST.debian}), and a stratified sample of
 * 3,000 training and 1,000 test images embedded in this package ({@link FashionMNIST.sample}), which
 * needs no network and no download.
 *
 * @example
 * const train = await FashionMNIST.sample();                 // 3000 images, 300 per class
 * const full = await FashionMNIST.debian({ train: false });  // 10000 images
 * full.classes[full.labels[0]];                              // 'Ankle boot'
 */
export class FashionMNIST extends MNIST {
  /** Class names, as the dataset's authors (and torchvision) give them. */
  static override readonly CLASSES: readonly string[] = Object.freeze([
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ]);
  /** Mean and standard deviation of the 60,000 training images' pixels ([0, 1] scale): 0.2860 and 0.3530. */
  static override readonly STATS: NormStats = Object.freeze({
    mean: Object.freeze([0.286]),
    std: Object.freeze([0.353]),
  });
  /** The sub-folder of a torchvision root that holds this dataset's `raw/` files. */
  static override readonly FOLDER: string = 'FashionMNIST';
  /** Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files. */
  static readonly DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

  /**
   * Loads a split of the full dataset from Debian's package (`apt-get install dataset-fashion-mnist`).
   *
   * @throws DatasetError saying to install the package when its files are absent.
   */
  static async debian(options: MnistOptions = {}): Promise<FashionMNIST> {
    return this.load(platform.debianFashionMnistDir ?? FashionMNIST.DEBIAN_DIR, options);
  }

  /**
   * Loads a split of the embedded sample: 3,000 training images (300 per class) or 1,000 test
   * images (100 per class), chosen from the real dataset by `scripts/make-sample.mjs`. Works offline.
   * In Node the files are read from the installed package. In a browser they are fetched from
   * `options.files`, the map `@cnn/datasets/fashion-mnist-sample` exports (importing it makes your
   * bundler emit the four files as assets, so an app that never loads the sample ships none of it).
   *
   * @throws DatasetUsageError in a browser without `files`, or when `files` lacks a file the split needs.
   */
  static async sample(options: FashionMnistSampleOptions = {}): Promise<FashionMNIST> {
    const prefix = (options.train ?? true) ? 'train' : 't10k';
    const names = [`${prefix}-images-idx3-ubyte.gz`, `${prefix}-labels-idx1-ubyte.gz`] as const;
    const { files } = options;
    if (files !== undefined) {
      const missing =
        typeof files === 'object' && files !== null
          ? names.filter((n) => files[n as FashionMnistSampleFile] === undefined)
          : [...names];
      if (missing.length > 0)
        throw new DatasetUsageError(
          'FashionMNIST.sample',
          `files must map each file name of the split to its URL or path; missing: ${missing.join(', ')} (import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample')`,
        );
    }
    const [images, labels] = names.map((n) => platform.sampleFile(n, files?.[n as FashionMnistSampleFile]));
    return this.fromFiles(images, labels, options);
  }

  protected static override missingHint(root: string): string {
    return root === FashionMNIST.DEBIAN_DIR
      ? "; install Debian's package with `apt-get install dataset-fashion-mnist`, or pass the folder that holds the files"
      : `; Debian's package (\`apt-get install dataset-fashion-mnist\`) puts them in ${FashionMNIST.DEBIAN_DIR}`;
  }
}
