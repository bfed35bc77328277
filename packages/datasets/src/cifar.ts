// CIFAR-10 and CIFAR-100, "binary version": fixed-size records of label byte(s) followed by a
// 32x32 image stored as three 1024-byte planes (red, green, blue). Converted to HWC on load.
import { InMemoryDataset } from './dataset';
import { DatasetError } from './errors';
import type { NormStats } from './image';
import { platform } from './io/platform';
import type { Transform } from './transforms/transform';
import { allInOrder } from './util';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;

/** Options of {@link CIFAR10.load}. */
export interface CifarOptions {
  /** The training split (50,000 images) when true (the default), else the test split (10,000). */
  train?: boolean;
  /** Applied to every item by `get`. */
  transform?: Transform | null;
}

/** Options of {@link CIFAR100.load}. */
export interface Cifar100Options extends CifarOptions {
  /** Which label `get` returns: the 100 `'fine'` classes (the default) or the 20 `'coarse'` superclasses. */
  labelType?: 'fine' | 'coarse';
}

/** The records of one file, converted: HWC pixels and each label byte. */
interface Records {
  images: Uint8Array;
  labels: Uint8Array[];
}

/**
 * Parses the records of one CIFAR binary file.
 *
 * @param labelBytes - 1 for CIFAR-10 (label), 2 for CIFAR-100 (coarse, fine).
 * @param limits - the number of classes of each label byte, to check every label against.
 */
function parseRecords(bytes: Uint8Array, file: string, labelBytes: number, limits: number[], names: string[]): Records {
  const record = labelBytes + PIXELS;
  if (bytes.length === 0) throw new DatasetError(file, 'is empty');
  if (bytes.length % record !== 0) {
    throw new DatasetError(
      file,
      `truncated or not a CIFAR binary file: ${bytes.length} bytes is not a whole number of ${record}-byte records ` +
        `(${Math.floor(bytes.length / record)} records and ${bytes.length % record} bytes left over)`,
    );
  }
  const n = bytes.length / record;
  const images = new Uint8Array(n * PIXELS);
  const labels = limits.map(() => new Uint8Array(n));
  for (let i = 0; i < n; i++) {
    const at = i * record;
    for (let k = 0; k < labelBytes; k++) {
      const v = bytes[at + k];
      if (v >= limits[k]) {
        throw new DatasetError(
          file,
          `record ${i} has ${names[k]} label ${v}, outside 0..${limits[k] - 1}: not a ${labelBytes === 1 ? 'CIFAR-10' : 'CIFAR-100'} file`,
        );
      }
      labels[k][i] = v;
    }
    // Planar RGB (three 32x32 planes) to interleaved HWC.
    const src = at + labelBytes;
    const dst = i * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      images[dst + 3 * p] = bytes[src + p];
      images[dst + 3 * p + 1] = bytes[src + PLANE + p];
      images[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p];
    }
  }
  return { images, labels };
}

/** The first of `dirs` that holds `marker`, or a DatasetError listing what was looked for. */
async function findDir(root: string, dirs: string[], marker: string): Promise<string> {
  for (const dir of dirs) if (await platform.exists(platform.join(dir, marker))) return dir;
  throw new DatasetError(
    root,
    `no ${marker} here nor in ${dirs
      .slice(1)
      .map((d) => `${d.slice(root.length).replace(/^[/\\]/, '')}/`)
      .join(' or ')}`,
  );
}

/** Class names from an optional text file (one per line), checked against the expected count. */
async function readNames(dir: string, file: string, fallback: readonly string[]): Promise<readonly string[]> {
  const path = platform.join(dir, file);
  if (!(await platform.exists(path))) return fallback;
  const text = new TextDecoder().decode(await platform.readFile(path));
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== fallback.length) {
    throw new DatasetError(path, `lists ${names.length} class names where ${fallback.length} were expected`);
  }
  return Object.freeze(names);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * CIFAR-10: 32x32 colour images in 10 classes, 50,000 for training (`data_batch_1.bin` to
 * `data_batch_5.bin`) and 10,000 for test (`test_batch.bin`), from the "binary version" of the
 * dataset (`cifar-10-binary.tar.gz`, unpacked).
 *
 * `root` may be the `cifar-10-batches-bin` folder or the folder containing it. Class names come from
 * `batches.meta.txt` when present. Every record is checked: a file that is not a whole number of
 * 3,073-byte records, or a label above 9, throws a {@link DatasetError} naming the file.
 *
 * @example
 * const train = await CIFAR10.load('data', { transform: new Compose([new RandomCrop(32, { padding: 4 }), new RandomHorizontalFlip()]) });
 * train.length;   // 50000
 * train.classes;  // ['airplane', 'automobile', 'bird', ...]
 */
export class CIFAR10 extends InMemoryDataset {
  /** The 10 class names, in label order. */
  static readonly CLASSES: readonly string[] = Object.freeze([
    'airplane',
    'automobile',
    'bird',
    'cat',
    'deer',
    'dog',
    'frog',
    'horse',
    'ship',
    'truck',
  ]);
  /** Per-channel (RGB) mean and standard deviation of the 50,000 training images, [0, 1] scale. */
  static readonly STATS: NormStats = Object.freeze({
    mean: Object.freeze([0.4914, 0.4822, 0.4465]),
    std: Object.freeze([0.247, 0.2435, 0.2616]),
  });

  /**
   * Loads a split.
   *
   * @param root - `cifar-10-batches-bin/` or its parent.
   * @throws DatasetError naming a missing or malformed file.
   */
  static async load(root: string, options: CifarOptions = {}): Promise<CIFAR10> {
    const train = options.train ?? true;
    const dir = await findDir(
      root,
      [root, platform.join(root, 'cifar-10-batches-bin')],
      train ? 'data_batch_1.bin' : 'test_batch.bin',
    );
    const names = train ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
    const files = names.map((n) => platform.join(dir, n));
    const parsed = await allInOrder(
      files.map(async (file) => {
        if (!(await platform.exists(file))) {
          throw new DatasetError(
            file,
            `is missing: the ${train ? 'training set is data_batch_1.bin to data_batch_5.bin' : 'test set is test_batch.bin'}`,
          );
        }
        return parseRecords(await platform.readFile(file), file, 1, [10], ['class']);
      }),
    );
    const classes = await readNames(dir, 'batches.meta.txt', CIFAR10.CLASSES);
    const parts = {
      images: concat(parsed.map((p) => p.images)),
      labels: concat(parsed.map((p) => p.labels[0])),
      imageShape: [SIDE, SIDE, 3] as const,
      classes,
      stats: CIFAR10.STATS,
      files,
    };
    return new CIFAR10(parts, options.transform ?? null);
  }
}

const FINE = `apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle
caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish forest
fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse
mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon
ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table
tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm`;
const COARSE = `aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture
insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores
medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2`;

/**
 * CIFAR-100: 32x32 colour images in 100 fine classes grouped into 20 coarse superclasses, 50,000 for
 * training (`train.bin`) and 10,000 for test (`test.bin`), from the binary version
 * (`cifar-100-binary.tar.gz`, unpacked). Each record carries both labels: `fineLabels` and
 * `coarseLabels` hold them all, and `labelType` picks the one `get` returns.
 *
 * @example
 * const test = await CIFAR100.load('data/cifar-100-binary', { train: false, labelType: 'coarse' });
 * test.classes.length; // 20
 */
export class CIFAR100 extends InMemoryDataset {
  /** The 100 fine class names, in label order. */
  static readonly FINE_CLASSES: readonly string[] = Object.freeze(FINE.split(/\s+/));
  /** The 20 coarse superclass names, in label order. */
  static readonly COARSE_CLASSES: readonly string[] = Object.freeze(COARSE.split(/\s+/));
  /** Per-channel (RGB) mean and standard deviation of the 50,000 training images, [0, 1] scale. */
  static readonly STATS: NormStats = Object.freeze({
    mean: Object.freeze([0.5071, 0.4865, 0.4409]),
    std: Object.freeze([0.2673, 0.2564, 0.2762]),
  });

  /** Every record's fine label (0-99). */
  readonly fineLabels: Uint8Array;
  /** Every record's coarse label (0-19). */
  readonly coarseLabels: Uint8Array;
  /** The names of both label sets. */
  readonly fineClasses: readonly string[];
  /** The coarse class names. */
  readonly coarseClasses: readonly string[];

  private constructor(
    parts: ConstructorParameters<typeof InMemoryDataset>[0],
    transform: Transform | null,
    extra: { fine: Uint8Array; coarse: Uint8Array; fineClasses: readonly string[]; coarseClasses: readonly string[] },
  ) {
    super(parts, transform);
    this.fineLabels = extra.fine;
    this.coarseLabels = extra.coarse;
    this.fineClasses = extra.fineClasses;
    this.coarseClasses = extra.coarseClasses;
  }

  /**
   * Loads a split.
   *
   * @param root - `cifar-100-binary/` or its parent.
   * @throws DatasetError naming a missing or malformed file.
   */
  static async load(root: string, options: Cifar100Options = {}): Promise<CIFAR100> {
    const train = options.train ?? true;
    const name = train ? 'train.bin' : 'test.bin';
    const dir = await findDir(root, [root, platform.join(root, 'cifar-100-binary')], name);
    const file = platform.join(dir, name);
    const { images, labels } = parseRecords(await platform.readFile(file), file, 2, [20, 100], ['coarse', 'fine']);
    const [coarse, fine] = labels;
    const fineClasses = await readNames(dir, 'fine_label_names.txt', CIFAR100.FINE_CLASSES);
    const coarseClasses = await readNames(dir, 'coarse_label_names.txt', CIFAR100.COARSE_CLASSES);
    const useCoarse = options.labelType === 'coarse';
    const parts = {
      images,
      labels: useCoarse ? coarse : fine,
      imageShape: [SIDE, SIDE, 3] as const,
      classes: useCoarse ? coarseClasses : fineClasses,
      stats: CIFAR100.STATS,
      files: [file],
    };
    return new CIFAR100(parts, options.transform ?? null, { fine, coarse, fineClasses, coarseClasses });
  }
}
