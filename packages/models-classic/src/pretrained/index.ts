// Pretrained weights: the published ImageNet-1k files of the weights table (downloaded, verified, cached) and the
// Fashion-MNIST files shipped inside the package, listed as one kind of thing and loaded by one call.
import { loadWeights } from '@cnn/layers';
import type { ImageClassifier, PretrainedInfo, ShippedWeights } from '../classifier';
import { PretrainedError } from '../errors';
import { getCard, getModel, listModels } from '../registry';
import type { PretrainedProgress } from './download';
import { IMAGENET_CLASSES } from './imagenet-classes';
import { KEY_MAPS } from './keymaps';
import { store } from './platform';
import { readShipped, shippedWeights } from './shipped';
import { PRETRAINED_TABLE } from './table';
import type { PretrainedEntry } from './types';

/** One set of weights a zoo id can load: a row of `listPretrained()`, `cnn list --pretrained` and the docs. */
export interface PretrainedListing {
  /** Zoo id. */
  id: string;
  /** The name `loadPretrained(id, { weights })` takes: the table entry's (`IMAGENET1K_V1`) or the dataset of shipped weights (`fashion-mnist`). */
  name: string;
  /** Who publishes them: torchvision, MMPretrain, or this project (`cnn`, shipped inside the package). */
  source: 'torchvision' | 'mmpretrain' | 'cnn';
  /** Dataset they were trained on. */
  dataset: string;
  /** Classes of their classifier. */
  numClasses: number;
  /** Top-1 accuracy on the dataset's evaluation split, in percent (published, or measured for shipped weights). */
  top1: number;
  /** Top-5 accuracy in percent, when published. */
  top5?: number;
  /** License of the weights. */
  license: string;
  /** File name (the cache key for downloaded weights). */
  file: string;
  /** Where they are downloaded from; absent for shipped weights. */
  url?: string;
  /** False when the key map was rebuilt by hand rather than tested against the upstream layout. */
  verified: boolean;
  /** The table entry, for downloaded weights. */
  entry?: PretrainedEntry;
  /** The card's shipped weights, for weights inside the package. */
  shipped?: ShippedWeights;
}

/** Options of {@link loadPretrained}. */
export interface LoadPretrainedOptions {
  /**
   * Which weights: a table entry's name (`IMAGENET1K_V2`; see `listPretrained(id)`), or `'fashion-mnist'` for the
   * files shipped inside the package. Default: the id's first ImageNet entry (the best published), else its shipped
   * weights.
   */
  weights?: string;
  /** @deprecated Use `weights`; `{ dataset: 'fashion-mnist' }` still means `{ weights: 'fashion-mnist' }`. */
  dataset?: string;
  /**
   * Node: read the weights from this local file instead of the cache or the network (offline machines). Its SHA-256
   * must still start with the published prefix.
   */
  file?: string;
  /**
   * A mirror: the folder URL the file is downloaded from (`baseUrl` + file name) instead of the publisher's. Default:
   * the `CNN_WEIGHTS_URL` environment variable in Node, else the publisher's URL.
   */
  baseUrl?: string;
  /**
   * Node: the cache folder (default `$CNN_HOME/weights`, `$CNN_HOME` defaulting to `~/.cache/cnn`). Browser: the
   * Cache Storage cache name (default `cnn-weights`).
   */
  cacheDir?: string;
  /**
   * Where the weights files shipped inside the package are, by file name: in a browser, the map
   * `@cnn/models-classic/shipped-weights` exports (importing it makes the bundler emit the files, so apps that do not
   * import it ship none of them). Needed there for `'fashion-mnist'` weights; Node reads the installed files without it.
   */
  shippedFiles?: Readonly<Record<string, string | URL>>;
  /** Called as a download progresses (not for cache hits or local files). */
  onProgress?: (progress: PretrainedProgress) => void;
  /** Aborts the download. */
  signal?: AbortSignal;
}

const registered: PretrainedEntry[] = [];

function allEntries(): PretrainedEntry[] {
  return [...PRETRAINED_TABLE, ...registered];
}

const HEX = /^[0-9a-f]{8,64}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** What is wrong with an entry handed to {@link registerPretrained}, or null. */
function entryProblem(e: PretrainedEntry): string | null {
  if (typeof e !== 'object' || e === null) return 'it is not an object';
  if (typeof e.id !== 'string' || !listModels().includes(e.id))
    return `id ${JSON.stringify(e.id)} is not a registered model`;
  if (typeof e.name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(e.name))
    return `name ${JSON.stringify(e.name)} is not 1 to 100 letters, digits, _ . -`;
  if (e.name === 'fashion-mnist' || allEntries().some((x) => x.id === e.id && x.name === e.name))
    return `'${e.id}' already has weights named '${e.name}'`;
  if (typeof e.file !== 'string' || !FILE.test(e.file))
    return `file ${JSON.stringify(e.file)} is not a plain file name (no folders)`;
  if (typeof e.sha256Prefix !== 'string' || !HEX.test(e.sha256Prefix))
    return `sha256Prefix ${JSON.stringify(e.sha256Prefix)} is not 8 to 64 lower-case hex digits`;
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    return `url ${JSON.stringify(e.url)} is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url ${url.href} is not http(s)`;
  if (!(e.keyMap in KEY_MAPS)) return `keyMap '${e.keyMap}' is not one of ${Object.keys(KEY_MAPS).join(', ')}`;
  const p = e.preprocess;
  const side = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4096;
  if (!p || !side(p.resize) || !side(p.crop) || p.crop > p.resize)
    return 'preprocess needs resize and crop, integers from 1 to 4096, crop <= resize';
  if (p.interpolation !== 'bilinear' && p.interpolation !== 'bicubic')
    return 'preprocess.interpolation must be bilinear or bicubic';
  const triple = (v: readonly number[], min: number) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x) && x > min);
  if (!triple(p.mean, -Infinity) || !triple(p.std, 0))
    return 'preprocess.mean and std must be 3 finite numbers (std > 0)';
  return null;
}

/**
 * Adds a weights entry for this process: for a mirror with its own files, weights you publish yourself, or tests.
 * The entry is checked first (a registered id, a unique name, a plain file name, an http(s) URL, 8 to 64 hex digits
 * of SHA-256, a known key map, sane preprocessing): {@link PretrainedError} (kind 'options') otherwise. Returns a
 * function that removes it again.
 */
export function registerPretrained(entry: PretrainedEntry): () => void {
  const problem = entryProblem(entry);
  if (problem !== null) throw new PretrainedError('options', `registerPretrained: ${problem}`);
  const frozen = Object.freeze({ ...entry });
  registered.push(frozen);
  return () => {
    const i = registered.indexOf(frozen);
    if (i >= 0) registered.splice(i, 1);
  };
}

function listingOf(e: PretrainedEntry): PretrainedListing {
  const out: PretrainedListing = {
    id: e.id,
    name: e.name,
    source: e.source,
    dataset: e.dataset,
    numClasses: IMAGENET_CLASSES.length,
    top1: e.top1,
    top5: e.top5,
    license: e.license,
    file: e.file,
    url: e.url,
    verified: e.verified,
    entry: e,
  };
  return out;
}

function shippedListing(id: string, w: ShippedWeights): PretrainedListing {
  return {
    id,
    name: w.dataset,
    source: 'cnn',
    dataset: w.dataset,
    numClasses: w.numClasses,
    top1: Math.round(w.top1 * 1e4) / 100,
    license: 'MIT',
    file: w.file,
    verified: true,
    shipped: w,
  };
}

/** Ids that have any weights, table or shipped, among the registered models. */
function idsWithWeights(): string[] {
  const known = new Set(listModels());
  const ids = new Set(
    allEntries()
      .map((e) => e.id)
      .filter((id) => known.has(id)),
  );
  for (const id of listModels()) if ((getCard(id).weights ?? []).length > 0) ids.add(id);
  return [...ids].sort();
}

/**
 * Every set of weights the zoo can load, or those of one id: the ImageNet-1k entries of the weights table (best
 * first, as published by torchvision or MMPretrain) and the files shipped inside the package (Fashion-MNIST). An id
 * with none gives `[]`; an id that is not a model is a {@link PretrainedError}.
 *
 * @example
 * listPretrained('resnet50').map((w) => `${w.name} ${w.top1}%`);   // ['IMAGENET1K_V2 80.858%', 'IMAGENET1K_V1 76.13%']
 */
export function listPretrained(id?: string): PretrainedListing[] {
  if (id !== undefined && !listModels().includes(id))
    throw new PretrainedError(
      'unknown-weights',
      `unknown model '${id}'; models with weights: ${idsWithWeights().join(', ')}`,
    );
  const ids = id === undefined ? undefined : new Set([id]);
  const known = new Set(listModels());
  const rows = allEntries()
    .filter((e) => (ids ? ids.has(e.id) : known.has(e.id)))
    .map(listingOf);
  for (const m of ids ? [...ids] : listModels())
    for (const w of getCard(m).weights ?? []) rows.push(shippedListing(m, w));
  return rows;
}

/** The weights `opts` picks for `id` (see {@link LoadPretrainedOptions.weights}). */
function pick(id: string, opts: LoadPretrainedOptions): PretrainedListing {
  const all = listPretrained(id);
  const name = opts.weights ?? opts.dataset;
  if (all.length === 0)
    throw new PretrainedError(
      'unknown-weights',
      `no pretrained weights for '${id}' (neither torchvision nor MMPretrain publishes ImageNet-1k weights for it); models with weights: ${idsWithWeights().join(', ')}`,
    );
  if (name === undefined) return all[0]!;
  const hit = all.find((w) => w.name === name);
  if (!hit)
    throw new PretrainedError(
      'unknown-weights',
      `'${id}' has no weights named '${name}'; it has ${all.map((w) => `'${w.name}'`).join(', ')}`,
    );
  return hit;
}

/**
 * Builds `id` with pretrained weights, in eval mode, with what `predict` needs to classify images attached
 * (`net.pretrained`: the weights' listing, class names and preprocessing):
 *
 * - ImageNet-1k weights from the weights table (the default when the id has any): downloaded on first use (progress
 *   through `onProgress`), checked against the published SHA-256 prefix, cached (Node: `$CNN_HOME/weights`, written
 *   atomically, the full SHA-256 recorded and checked on every later hit; browser: Cache Storage, which needs a
 *   secure context), loaded with the entry's key map.
 * - `'fashion-mnist'`: the files shipped inside the package (LeNet-5, ResNet-20).
 *
 * Failures are {@link PretrainedError}s naming the URL, the cache path and what to do; nothing is left in the cache
 * after a failed or mismatching download, and no model or tensor is left behind.
 *
 * @example
 * const net = await loadPretrained('mobilenet_v3_large');
 * net.predict(await loadImage('cat.jpg'), { topk: 5 }).labels;   // [['tabby', 'tiger cat', ...]]
 */
export async function loadPretrained(id: string, opts: LoadPretrainedOptions = {}): Promise<ImageClassifier> {
  const choice = pick(id, opts);
  let bytes: Uint8Array;
  let info: PretrainedInfo;
  let buildOpts: Record<string, unknown>;
  let keyMap: ((key: string) => string | null) | undefined;
  let where: string;
  if (choice.entry) {
    const e = choice.entry;
    keyMap = KEY_MAPS[e.keyMap];
    if (keyMap === undefined)
      throw new PretrainedError(
        'options',
        `the weights '${e.name}' of '${id}' name key map '${e.keyMap}', which does not exist`,
      );
    bytes = await store.fetchWeights({
      file: e.file,
      url: e.url,
      sha256Prefix: e.sha256Prefix,
      localFile: opts.file,
      baseUrl: opts.baseUrl,
      cacheDir: opts.cacheDir,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    where = opts.file ?? e.url;
    buildOpts = { numClasses: IMAGENET_CLASSES.length, ...e.modelOptions };
    info = {
      weights: choice,
      classes: IMAGENET_CLASSES,
      preprocess: {
        resize: e.preprocess.resize,
        crop: e.preprocess.crop,
        interpolation: e.preprocess.interpolation,
        channels: 3,
        mean: e.preprocess.mean,
        std: e.preprocess.std,
      },
    };
  } else {
    const w = shippedWeights(id, choice.name);
    bytes = await readShipped(w, opts.shippedFiles);
    where = w.file;
    const [h, wd, c] = w.inputSize;
    buildOpts = { numClasses: w.numClasses, inChannels: c };
    info = {
      weights: choice,
      classes: w.classes,
      preprocess: { resize: [h, wd], interpolation: 'bilinear', channels: c === 1 ? 1 : 3, mean: w.mean, std: w.std },
    };
  }
  const model = getModel(id, buildOpts);
  try {
    await loadWeights(model, bytes, keyMap ? { keyMap } : {});
  } catch (e) {
    model.dispose();
    throw new PretrainedError(
      'checkpoint',
      `${where}: ${(e as Error).message}`,
      choice.url ? { url: choice.url } : {},
      {
        cause: e,
      },
    );
  }
  model.eval();
  model.pretrained = info;
  return model;
}

export { IMAGENET_CLASSES } from './imagenet-classes';
export { MAX_WEIGHTS_BYTES, type PretrainedProgress } from './download';
export { FASHION_MNIST_CLASSES, pretrainedModels, pretrainedUrl, shippedWeights } from './shipped';
export { PRETRAINED_TABLE } from './table';
export type { PretrainedEntry, PretrainedPreprocess } from './types';
