// The datasets the `cnn` command trains and evaluates on: where each one is found, its natural image size and
// normalisation, and the transforms of the training and test splits.
import {
  CIFAR10,
  CIFAR100,
  CenterCrop,
  ColorJitter,
  Compose,
  DatasetError,
  FashionMNIST,
  IMAGENET_STATS,
  ImageFolder,
  MNIST,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  RandomResizedCrop,
  Resize,
  ToTensor,
  type Dataset,
  type NormStats,
  type Transform,
} from '@cnn/datasets';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, quote } from './args';

/** The `--dataset` names. */
export const DATASETS = ['fashion-mnist', 'fashion-mnist-sample', 'mnist', 'cifar10', 'cifar100', 'folder'] as const;
/** A `--dataset` name. */
export type DatasetName = (typeof DATASETS)[number];

/** What the command needs to know of a dataset before loading it. */
export interface DatasetSpec {
  /** Image side the data comes in (folders: the size images are resized to by default). */
  size: number;
  channels: 1 | 3;
  stats: NormStats;
  /** Whether horizontal flips make sense for it (not for digits). */
  flip: boolean;
}

const SPECS: Record<DatasetName, DatasetSpec> = {
  'fashion-mnist': { size: 28, channels: 1, stats: FashionMNIST.STATS, flip: true },
  'fashion-mnist-sample': { size: 28, channels: 1, stats: FashionMNIST.STATS, flip: true },
  mnist: { size: 28, channels: 1, stats: MNIST.STATS, flip: false },
  cifar10: { size: 32, channels: 3, stats: CIFAR10.STATS, flip: true },
  cifar100: { size: 32, channels: 3, stats: CIFAR100.STATS, flip: true },
  folder: { size: 224, channels: 3, stats: IMAGENET_STATS, flip: true },
};

/** The spec of a dataset name. */
export function datasetSpec(name: DatasetName): DatasetSpec {
  return SPECS[name];
}

/** How to build the transforms of a split. */
export interface SplitOptions {
  /** Side of the images the model sees. */
  size: number;
  /** Random crops (and flips where they make sense) for training. */
  augment: boolean;
  /** Class names in label order (folders: the test split takes the training split's). */
  classes?: readonly string[];
  /** Channels of the images the model takes (folders: decoded as grey or RGB; default the dataset's). */
  channels?: 1 | 3;
  /** Normalisation (default the dataset's): a fine-tuned model keeps the statistics it was trained with. */
  stats?: NormStats;
  /** Folders: resize straight to `size` x `size` (no resize-then-centre-crop), as small checkpoints were trained. */
  exactResize?: boolean;
  /** Training: a ColorJitter of this strength on brightness, contrast and saturation (0: none). */
  colorJitter?: number;
  /** Folders: worker threads that read and decode images (ImageFolder's `workers`). */
  workers?: number | 'auto';
}

function transforms(name: DatasetName, train: boolean, opts: SplitOptions): Transform {
  const spec = SPECS[name];
  const steps: Transform[] = [];
  if (name === 'folder') {
    if (train && opts.augment) steps.push(new RandomResizedCrop(opts.size), new RandomHorizontalFlip());
    else if (opts.exactResize) steps.push(new Resize([opts.size, opts.size]));
    else steps.push(new Resize(Math.round((opts.size * 256) / 224)), new CenterCrop(opts.size));
  } else {
    if (opts.size !== spec.size) steps.push(new Resize([opts.size, opts.size]));
    if (train && opts.augment) {
      steps.push(new RandomCrop(opts.size, { padding: Math.max(2, Math.round(opts.size / 8)) }));
      if (spec.flip) steps.push(new RandomHorizontalFlip());
    }
  }
  const j = train ? (opts.colorJitter ?? 0) : 0;
  if (j > 0) steps.push(new ColorJitter({ brightness: j, contrast: j, saturation: j }));
  const stats = opts.stats ?? spec.stats;
  steps.push(new ToTensor(), new Normalize(stats.mean, stats.std));
  return new Compose(steps);
}

const HINTS: Record<DatasetName, string> = {
  'fashion-mnist': `install Debian's package (apt-get install dataset-fashion-mnist, files in ${FashionMNIST.DEBIAN_DIR}) or pass --data-dir <folder with the four IDX files>`,
  'fashion-mnist-sample': 'the sample ships inside @cnn/datasets; reinstall the package',
  mnist:
    'pass --data-dir <folder with train-images-idx3-ubyte[.gz] and the other three IDX files> (a torchvision root with MNIST/raw works too)',
  cifar10: 'pass --data-dir <cifar-10-batches-bin folder or its parent> (the "binary version" from the CIFAR site)',
  cifar100: 'pass --data-dir <cifar-100-binary folder or its parent> (the "binary version" from the CIFAR site)',
  folder: 'pass --data-dir <root> holding train/<class>/*.jpg and val/<class>/*.jpg (or test/)',
};

/** Loads one split of a dataset; a missing or malformed dataset is a UsageError that says what to do. */
export async function loadSplit(
  name: DatasetName,
  dataDir: string | undefined,
  train: boolean,
  opts: SplitOptions,
): Promise<Dataset> {
  const transform = transforms(name, train, opts);
  const needsDir = name === 'mnist' || name === 'cifar10' || name === 'cifar100' || name === 'folder';
  if (needsDir && dataDir === undefined) throw new UsageError(`--dataset ${name} needs --data-dir: ${HINTS[name]}`);
  if (dataDir !== undefined && !existsSync(dataDir))
    throw new UsageError(`--data-dir ${quote(dataDir)} does not exist; ${HINTS[name]}`);
  try {
    switch (name) {
      case 'fashion-mnist':
        return await FashionMNIST.load(dataDir ?? FashionMNIST.DEBIAN_DIR, { train, transform });
      case 'fashion-mnist-sample':
        return await FashionMNIST.sample({ train, transform });
      case 'mnist':
        return await MNIST.load(dataDir!, { train, transform });
      case 'cifar10':
        return await CIFAR10.load(dataDir!, { train, transform });
      case 'cifar100':
        return await CIFAR100.load(dataDir!, { train, transform });
      case 'folder': {
        const root = dataDir!;
        const sub = train ? 'train' : ['val', 'test'].find((s) => existsSync(join(root, s)));
        if (sub === undefined || !existsSync(join(root, sub)))
          throw new UsageError(
            `--data-dir ${quote(root)} has no ${train ? 'train/' : 'val/ or test/'} folder; ${HINTS.folder}`,
          );
        return await ImageFolder.load(join(root, sub), {
          transform,
          ...(opts.classes ? { classes: opts.classes } : {}),
          ...(opts.channels ? { channels: opts.channels } : {}),
          ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        });
      }
    }
  } catch (e) {
    if (e instanceof DatasetError)
      throw new UsageError(
        `dataset '${name}': ${e.message.split('\n')[0]}${e.message.includes('apt-get') ? '' : `; ${HINTS[name]}`}`,
      );
    throw e;
  }
}
