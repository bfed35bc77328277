// ImageFolder: one sub-folder per class (root/<class>/**/<image>), as torchvision lays it out, or a
// file list. Images stay on disk and are decoded when an item is asked for.
import { checkIndex, defaultRng, type Dataset } from './dataset';
import { decodeSettings } from './decode';
import { DatasetError, DatasetUsageError } from './errors';
import { IMAGENET_STATS, type NormStats, type Sample } from './image';
import { platform } from './io/platform';
import type { Rng } from './rng';
import type { Transform } from './transforms/transform';
import { compareCodePoints, mapLimit } from './util';

/** A file that {@link ImageFolder.load} left out under `skipInvalid`, and why. */
export interface SkippedFile {
  /** The file or folder left out. */
  file: string;
  /** What is wrong with it. */
  reason: string;
}

/** Options of {@link ImageFolder.load}. */
export interface ImageFolderOptions {
  /** Applied to every decoded image by `get` (e.g. `new Compose([new RandomResizedCrop(224), new RandomHorizontalFlip()])`). */
  transform?: Transform | null;
  /** File name endings that count as images, compared case-insensitively. Default `['.jpg', '.jpeg', '.png']`. */
  extensions?: readonly string[];
  /**
   * The class names, in label order. Default: the sub-folders of `root`, sorted by code point (as
   * torchvision sorts them). Given explicitly, a sub-folder that is not among them is an error
   * ("unknown class folder"), or is skipped under `skipInvalid`; use it to give a validation split
   * the training split's classes.
   */
  classes?: readonly string[];
  /**
   * A file list instead of a folder scan: the path of a text file, or the entries themselves. Each
   * entry (line) is `path` or `path label`, the path relative to `root`; without a label the path's
   * first folder names the class. Empty lines and lines starting with `#` are ignored. A path must
   * stay inside `root`: an absolute path, a NUL character, or `..` segments that climb above `root`
   * (`cat/../../secret/x.jpg`) make `load` throw a {@link DatasetError} naming the list and the line
   * before any image is read, even under `skipInvalid`. (Only the path's text is checked: symbolic
   * links inside `root` are followed, as a folder scan follows them.)
   */
  files?: string | readonly string[];
  /** 3 (RGB, the default) or 1 (grey). */
  channels?: 1 | 3;
  /**
   * The decoded-pixel budget per image: an image whose header announces more pixels (width x height)
   * is refused with a {@link DatasetError} naming it and both sizes before it is decoded, by `get`
   * (in a worker or not) and by `skipInvalid`'s checks (which then skip it). Default
   * {@link DEFAULT_MAX_PIXELS}, 2^26 = 67,108,864 (64 megapixels, 8192 x 8192).
   */
  maxPixels?: number;
  /** Leave out unreadable images and unknown class folders, listing them in `skipped`, instead of failing. */
  skipInvalid?: boolean;
  /**
   * How `skipInvalid` checks each image: `'header'` (read the header: fast, catches files that are
   * not images) or `'decode'` (decode everything: slow, also catches truncated and corrupt data).
   * Default `'header'`. Without `skipInvalid`, nothing is decoded up front, and an image that cannot
   * be decoded makes `get` throw a {@link DatasetError} naming it.
   */
  verify?: 'header' | 'decode';
  /** Called with the list of skipped files when there are any (default: one warning on the console). */
  onSkip?: (skipped: readonly SkippedFile[]) => void;
  /** Allow class folders without images (default false: an empty class is an error, as in torchvision). A file list may always leave classes out. */
  allowEmpty?: boolean;
  /** The statistics to normalise with; default ImageNet's ({@link IMAGENET_STATS}). See {@link computeStats}. */
  stats?: NormStats;
  /**
   * Worker threads that read, decode and transform images (Node): `'auto'` (the default) is one per
   * core, at most 4; 0 keeps the transform on the calling thread (decoding still runs on libuv's
   * threads). Results are identical either way. A transform that is not built from this package's
   * classes (a `Lambda`, your own) runs on the calling thread after the worker has decoded.
   */
  workers?: number | 'auto';
}

const DEFAULT_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
/** Files checked at once by `skipInvalid` and by file-list existence checks. */
const CHECK_CONCURRENCY = 16;

interface Entry {
  path: string;
  label: number;
}

/**
 * Images sorted into one folder per class, decoded on demand (sharp in Node, the browser's decoders
 * in a browser) to HWC uint8 RGB (or grey), then transformed.
 *
 * Classes are the sub-folders of `root`, sorted by code point; images are found recursively in each
 * and taken in torchvision's order, so labels and indices agree with `torchvision.datasets.ImageFolder`
 * on the same folder. `get` is asynchronous; the {@link DataLoader} runs many at once. In Node,
 * reading, decoding and the transform run in worker threads (see `workers`), off the thread that trains.
 *
 * @example
 * const train = await ImageFolder.load('photos/train', {
 *   transform: new Compose([new RandomResizedCrop(224), new RandomHorizontalFlip(), new ToTensor(), new Normalize(IMAGENET_STATS.mean, IMAGENET_STATS.std)]),
 * });
 * train.classes;                 // ['cat', 'dog']
 * (await train.get(0)).image;    // { data: Float32Array(150528), height: 224, width: 224, channels: 3 }
 */
export class ImageFolder implements Dataset<Sample> {
  /** The folder the images are under. */
  readonly root: string;
  /** Class names, in label order. */
  readonly classes: readonly string[];
  /** `classToIndex[name]` is the label of class `name`. */
  readonly classToIndex: Readonly<Record<string, number>>;
  /** Every image's path and label, in index order (torchvision's `samples`). */
  readonly samples: readonly Readonly<Entry>[];
  /** Every image's label. */
  readonly labels: Int32Array;
  /** The files and folders left out under `skipInvalid`. */
  readonly skipped: readonly SkippedFile[];
  /** The statistics to normalise with. */
  readonly stats: NormStats;
  /** The transform `get` applies, or null. */
  readonly transform: Transform | null;
  /** Channels decoded: 3 (RGB) or 1 (grey). */
  readonly channels: 1 | 3;
  /** Worker threads used by `get` (0: none). */
  readonly workers: number;
  /** The decoded-pixel budget per image (see {@link ImageFolderOptions.maxPixels}). */
  readonly maxPixels: number;

  private constructor(
    root: string,
    classes: readonly string[],
    samples: Entry[],
    skipped: SkippedFile[],
    options: ImageFolderOptions,
    settings: { channels: 1 | 3; maxPixels: number; workers: number },
  ) {
    this.root = root;
    this.classes = Object.freeze([...classes]);
    this.classToIndex = Object.freeze(Object.fromEntries(classes.map((c, i) => [c, i])));
    this.samples = Object.freeze(samples.map((s) => Object.freeze(s)));
    this.labels = Int32Array.from(samples, (s) => s.label);
    this.skipped = Object.freeze(skipped);
    this.stats = options.stats ?? IMAGENET_STATS;
    this.transform = options.transform ?? null;
    this.channels = settings.channels;
    this.maxPixels = settings.maxPixels;
    this.workers = settings.workers;
  }

  /**
   * Finds the classes and images under `root` (or in a file list) and checks them as asked.
   *
   * @throws DatasetError for a missing root, an unknown class folder or listed class, a listed file
   *   that does not exist, or an empty class (unless `skipInvalid` / `allowEmpty` say otherwise); for a
   *   file-list path that leads outside `root` (always).
   * @throws DatasetUsageError for bad options (checked before anything is read): `channels` not 1 or 3,
   *   `workers` or `maxPixels` out of range, a class name that repeats or is not a folder inside `root`.
   */
  static async load(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const { channels, maxPixels } = decodeSettings('ImageFolder', options.channels ?? 3, options);
    const w = options.workers ?? 'auto';
    if (w !== 'auto' && !(Number.isInteger(w) && w >= 0))
      throw new DatasetUsageError('ImageFolder', `workers must be 'auto' or a non-negative integer, got ${String(w)}`);
    const workers = w === 'auto' ? platform.autoWorkers() : w;
    if (options.classes) checkClassNames(options.classes);
    const extensions = (options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase());
    const isImage = (name: string) => extensions.some((e) => name.toLowerCase().endsWith(e));
    const skipped: SkippedFile[] = [];
    const skip = options.skipInvalid ?? false;

    let classes: readonly string[];
    let entries: Entry[];
    if (options.files !== undefined) {
      ({ classes, entries } = await fromList(root, options, skip, skipped));
    } else {
      const folders = await classFolders(root);
      classes = options.classes ?? folders;
      const known = new Set(classes);
      for (const f of folders) {
        if (known.has(f)) continue;
        const file = platform.join(root, f);
        const reason = `unknown class folder '${f}': the classes are ${quoteList(classes)}`;
        if (!skip) throw new DatasetError(file, reason);
        skipped.push({ file, reason });
      }
      const present = new Set(folders);
      entries = [];
      for (const [label, name] of classes.entries()) {
        if (!present.has(name)) continue;
        for (const path of await walk(platform.join(root, name))) if (isImage(path)) entries.push({ path, label });
      }
    }
    checkSeparateClasses(classes);

    if (skip) entries = await verify(entries, options.verify ?? 'header', skipped, maxPixels);

    if (options.files === undefined && !(options.allowEmpty ?? false)) {
      const counts = new Array<number>(classes.length).fill(0);
      for (const e of entries) counts[e.label]++;
      const empty = classes.filter((_, i) => counts[i] === 0);
      if (empty.length > 0) {
        throw new DatasetError(
          root,
          `no images (${extensions.join(', ')}) for class${empty.length > 1 ? 'es' : ''} ${quoteList(empty)}${skipped.length ? ` after skipping ${skipped.length} invalid files` : ''}; pass allowEmpty: true to accept that`,
        );
      }
    }
    if (skipped.length > 0) {
      if (options.onSkip) options.onSkip(skipped);
      else
        console.warn(
          `ImageFolder: skipped ${skipped.length} file(s) under ${root}, e.g. ${skipped[0].file}: ${skipped[0].reason} (see .skipped)`,
        );
    }
    return new ImageFolder(root, classes, entries, skipped, options, { channels, maxPixels, workers });
  }

  /** The number of images. */
  get length(): number {
    return this.samples.length;
  }

  /** Reads, decodes and transforms the image at `index`; a file that cannot be decoded rejects with a {@link DatasetError} naming it. */
  async get(index: number, rng?: Rng): Promise<Sample> {
    checkIndex(index, this.length, 'ImageFolder');
    const { path, label } = this.samples[index];
    const r = rng ?? defaultRng();
    if (this.workers > 0) {
      // The worker continues the caller's generator and hands back its final state, so the result
      // and the generator afterwards are what this thread would have produced.
      const spec = this.transform?.spec ?? null;
      const job = platform.runInWorker(
        { path, channels: this.channels, maxPixels: this.maxPixels, spec, rng: spec ? r.state() : null },
        this.workers,
      );
      if (job) {
        const { image, rng: state } = await job;
        if (spec) {
          r.setState(state!);
          return { image, label };
        }
        return { image: this.transform ? this.transform.apply(image, r) : image, label };
      }
    }
    const bytes = await platform.readFile(path);
    const image = await platform.decodeImage(bytes, path, this.channels, this.maxPixels);
    return { image: this.transform ? this.transform.apply(image, r) : image, label };
  }

  /** The same images with another transform (or none); nothing is rescanned. */
  withTransform(transform: Transform | null): ImageFolder {
    const copy = Object.create(ImageFolder.prototype) as ImageFolder;
    Object.assign(copy, this, { transform });
    return copy;
  }

  /** How many images each class has. */
  labelCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const l of this.labels) counts[l]++;
    return counts;
  }
}

/** At most the first 120 characters of a name or line from the input, for messages. */
function short(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}... (${text.length} characters)` : text;
}

function quoteList(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((n) => `'${short(n)}'`);
  return shown.join(', ') + (names.length > 8 ? `, ... (${names.length} in all)` : '');
}

function checkSeparateClasses(classes: readonly string[]): void {
  if (new Set(classes).size !== classes.length)
    throw new DatasetUsageError('ImageFolder', `class names repeat: ${quoteList(classes)}`);
}

/** A path segment that means the parent folder: `..`, also percent-encoded as a URL may write it. */
const PARENT = /^(\.|%2e){2}$/i;

/**
 * Why a path relative to the root (a file-list line, a class name) does not stay inside it: it is
 * absolute (`/x`, `\\x`, `C:x`, `http://x`), holds a NUL character, or its `..` segments climb
 * above the root at some point (`/` and `\` both count as separators). Null when it stays inside.
 */
function leavesRoot(rel: string): string | null {
  if (rel.includes('\0')) return 'holds a NUL character';
  if (/^[/\\]/.test(rel) || /^[A-Za-z]:/.test(rel) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(rel))
    return 'is an absolute path';
  let depth = 0;
  for (const seg of rel.split(/[/\\]/)) {
    if (PARENT.test(seg)) {
      if (--depth < 0) return 'leads outside the root (through ..)';
    } else if (seg !== '' && seg !== '.' && seg.toLowerCase() !== '%2e') depth++;
  }
  return null;
}

/** Class names must be strings naming folders inside the root. */
function checkClassNames(classes: readonly string[]): void {
  for (const [i, name] of classes.entries()) {
    if (typeof name !== 'string' || name === '')
      throw new DatasetUsageError(
        'ImageFolder',
        `classes[${i}] must be a non-empty string, got ${typeof name === 'string' ? "''" : typeof name}`,
      );
    const why = leavesRoot(name);
    if (why)
      throw new DatasetUsageError(
        'ImageFolder',
        `class '${short(name)}' (classes[${i}]) ${why}: a class names a folder inside the root`,
      );
  }
  checkSeparateClasses(classes);
}

/** The sub-folders of root, sorted by code point. */
async function classFolders(root: string): Promise<string[]> {
  const entries = await platform.listDir(root);
  const dirs = entries.filter((e) => e.isDirectory).map((e) => e.name);
  if (dirs.length === 0) throw new DatasetError(root, 'has no class sub-folders (expected root/<class>/<image>)');
  return dirs.sort(compareCodePoints);
}

/** Every file under dir, in the order torchvision's sorted(os.walk(dir)) visits them. */
async function walk(dir: string): Promise<string[]> {
  const groups: { dir: string; files: string[] }[] = [];
  const visit = async (d: string, depth: number) => {
    if (depth > 32) throw new DatasetError(d, 'folders nested more than 32 deep (a symbolic link loop?)');
    const entries = await platform.listDir(d);
    groups.push({
      dir: d,
      files: entries
        .filter((e) => e.isFile)
        .map((e) => e.name)
        .sort(compareCodePoints),
    });
    for (const e of entries) if (e.isDirectory) await visit(platform.join(d, e.name), depth + 1);
  };
  await visit(dir, 0);
  groups.sort((a, b) => compareCodePoints(a.dir, b.dir));
  return groups.flatMap((g) => g.files.map((f) => platform.join(g.dir, f)));
}

/** Parses a file list into entries. */
async function fromList(
  root: string,
  options: ImageFolderOptions,
  skip: boolean,
  skipped: SkippedFile[],
): Promise<{ classes: readonly string[]; entries: Entry[] }> {
  const listName = typeof options.files === 'string' ? options.files : 'the file list';
  const lines =
    typeof options.files === 'string'
      ? new TextDecoder().decode(await platform.readFile(options.files)).split(/\r?\n/)
      : [...(options.files as readonly string[])];
  const parsed: { line: number; rel: string; label: number | null }[] = [];
  for (const [i, raw] of lines.entries()) {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    const m = /^(.*\S)\s+(-?\d+)$/.exec(text);
    const entry = m ? { line: i + 1, rel: m[1], label: Number(m[2]) } : { line: i + 1, rel: text, label: null };
    // Before anything is read: a path that leaves the root is refused, skipInvalid or not.
    const why = leavesRoot(entry.rel);
    if (why)
      throw new DatasetError(
        listName,
        `line ${entry.line}: '${short(entry.rel)}' ${why}: a file list's paths must stay inside the root ${short(root)}`,
      );
    parsed.push(entry);
  }
  let classes = options.classes;
  if (!classes) {
    if (platform.name === 'node') classes = await classFolders(root);
    else {
      if (parsed.some((p) => p.label !== null))
        throw new DatasetError(listName, 'has label numbers: give the class names with the `classes` option');
      classes = [...new Set(parsed.map((p) => p.rel.split('/')[0]))].sort(compareCodePoints);
    }
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const entries: Entry[] = [];
  for (const p of parsed) {
    let label = p.label;
    let reason: string | null = null;
    if (label === null) {
      const folder = p.rel.split(/[/\\]/)[0];
      const found = index.get(folder);
      if (found === undefined)
        reason = `line ${p.line}: '${short(p.rel)}' is in unknown class folder '${short(folder)}': the classes are ${quoteList(classes)}`;
      else label = found;
    } else if (!(label >= 0 && label < classes.length)) {
      reason = `line ${p.line}: label ${label} of '${short(p.rel)}' is outside 0..${classes.length - 1}`;
    }
    if (reason !== null || label === null) {
      if (!skip) throw new DatasetError(listName, reason!);
      skipped.push({ file: platform.join(root, p.rel), reason: `${listName} ${reason}` });
      continue;
    }
    entries.push({ path: platform.join(root, p.rel), label });
  }
  if (platform.name === 'node') {
    const exists = await mapLimit(entries, CHECK_CONCURRENCY, (e) => platform.exists(e.path));
    const missing = entries.filter((_, i) => !exists[i]);
    if (missing.length > 0 && !skip) {
      throw new DatasetError(
        missing[0].path,
        `is listed in ${listName} but does not exist${missing.length > 1 ? ` (nor do ${missing.length - 1} other listed files)` : ''}`,
      );
    }
    for (const e of missing) skipped.push({ file: e.path, reason: `listed in ${listName} but does not exist` });
    return { classes, entries: entries.filter((_, i) => exists[i]) };
  }
  return { classes, entries };
}

/** The entries whose images pass the check; the others are added to `skipped`. */
async function verify(
  entries: Entry[],
  how: 'header' | 'decode',
  skipped: SkippedFile[],
  maxPixels: number,
): Promise<Entry[]> {
  const problems = await mapLimit(entries, CHECK_CONCURRENCY, async (e) => {
    try {
      const bytes = await platform.readFile(e.path);
      if (how === 'decode') await platform.decodeImage(bytes, e.path, 3, maxPixels);
      else await platform.probeImage(bytes, e.path, maxPixels);
      return null;
    } catch (err) {
      return err instanceof DatasetError ? err.reason : String(err);
    }
  });
  entries.forEach((e, i) => {
    const reason = problems[i];
    if (reason !== null) skipped.push({ file: e.path, reason });
  });
  return entries.filter((_, i) => problems[i] === null);
}
