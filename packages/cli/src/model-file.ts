// What a weights file says about its model (the `cnn.model` header entry that `cnn train` writes): the model id,
// classes, input size and normalisation, so that `cnn eval` and `cnn predict` need nothing but the file.
import { readFile } from 'node:fs/promises';
import { jsonPreview, jsonTooDeepAt, loadWeights, readSafetensors } from '@cnn/layers';
import { fileURLToPath } from 'node:url';
import {
  getCard,
  getModel,
  listModels,
  pretrainedModels,
  pretrainedUrl,
  type ImageClassifier,
} from '@cnn/models-efficient';
import { UsageError, quote } from './args';

/** The safetensors header key holding a {@link ModelInfo} as JSON. */
export const MODEL_META_KEY = 'cnn.model';

/** How a model was trained: enough to rebuild it and feed it images. */
export interface ModelInfo {
  /** Registry id (`cnn list`). */
  id: string;
  numClasses: number;
  /** [height, width, channels] of its inputs. */
  inputSize: [number, number, number];
  /** Per-channel normalisation of [0, 1] pixels. */
  mean: number[];
  std: number[];
  /** Class names in label order. */
  classes: string[];
  /** The `--dataset` it was trained on. */
  dataset: string;
  /**
   * Folders: whether its images were resized straight to `inputSize` (a model fine-tuned from small weights) rather
   * than resized and centre-cropped (absent: false).
   */
  exactResize?: boolean;
}

/** Checks a model id against the registry (UsageError naming `cnn list` otherwise). */
export function checkModelId(id: string): void {
  if (!listModels().includes(id)) throw new UsageError(`unknown model ${quote(id)}; run 'cnn list' to see the ids`);
}

/**
 * Builds the registered model `info.id` for `info`'s classes and input; `extra` adds builder options (those a
 * pretrained entry was built with, e.g. GoogLeNet's `transformInput`).
 */
export function buildModel(
  info: Pick<ModelInfo, 'id' | 'numClasses' | 'inputSize'>,
  extra?: Record<string, unknown>,
): ImageClassifier {
  checkModelId(info.id);
  const [h, , c] = info.inputSize;
  const opts: Record<string, unknown> = { ...extra, numClasses: info.numClasses, inChannels: c };
  // LeNet-5 is the one architecture whose layers depend on the input size (28: padded first convolution; 32: none).
  if (getCard(info.id).family === 'lenet') opts.inputSize = h;
  return getModel(info.id, opts);
}

/** The largest image side a weights file may ask for (its `inputSize`): 4096, beyond what any model here is trained at. */
export const MODEL_MAX_INPUT_SIDE = 4096;
/** The most classes a weights file may declare: 100,000 (ImageNet-21k has 21,841). */
export const MODEL_MAX_CLASSES = 100_000;
/** The deepest the {@link MODEL_META_KEY} JSON may nest (it nests 2 deep: the object, its arrays). */
const MODEL_META_MAX_DEPTH = 8;

/**
 * Reads the {@link ModelInfo} of a weights file's header, or undefined when it has none. The entry is checked before
 * anything uses it (its nesting before it is parsed, then each field present: an integer `numClasses` in
 * [1, {@link MODEL_MAX_CLASSES}], `inputSize` [h, w, c] with sides in [1, {@link MODEL_MAX_INPUT_SIDE}] and c 1 or 3,
 * `mean` / `std` of c numbers (std > 0), `classes` of `numClasses` strings): a bad one is a UsageError naming the
 * file and the field, never a crash further on (a transform refusing a size, a model too large to build).
 */
export function modelInfoOf(metadata: Record<string, string>, file: string): ModelInfo | undefined {
  const raw = metadata[MODEL_META_KEY];
  if (raw === undefined) return undefined;
  const entry = `${file}: its '${MODEL_META_KEY}' header entry`;
  if (jsonTooDeepAt(raw, MODEL_META_MAX_DEPTH) >= 0)
    throw new UsageError(`${entry} nests deeper than ${MODEL_META_MAX_DEPTH} levels; it is not one cnn train writes`);
  let info: unknown;
  try {
    info = JSON.parse(raw);
  } catch {
    throw new UsageError(`${entry} is not valid JSON`);
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info))
    throw new UsageError(`${entry} is ${jsonPreview(info)}, not an object`);
  const problem = modelInfoProblem(info as Record<string, unknown>);
  if (problem !== null) throw new UsageError(`${entry} has ${problem}`);
  return info as ModelInfo;
}

/** What is wrong with the fields a stored {@link ModelInfo} has (each is optional), or null. */
function modelInfoProblem(info: Record<string, unknown>): string | null {
  const { id, numClasses, inputSize, mean, std, classes, dataset, exactResize } = info;
  const bad = (field: string, value: unknown, want: string): string => `${field} ${jsonPreview(value)}; want ${want}`;
  const isInt = (v: unknown, lo: number, hi: number): boolean =>
    Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (id !== undefined && typeof id !== 'string') return bad('id', id, 'a model id');
  if (dataset !== undefined && typeof dataset !== 'string') return bad('dataset', dataset, 'a dataset name');
  if (exactResize !== undefined && typeof exactResize !== 'boolean')
    return bad('exactResize', exactResize, 'true or false');
  if (numClasses !== undefined && !isInt(numClasses, 1, MODEL_MAX_CLASSES))
    return bad('numClasses', numClasses, `an integer in [1, ${MODEL_MAX_CLASSES}]`);
  if (inputSize !== undefined) {
    const ok =
      Array.isArray(inputSize) &&
      inputSize.length === 3 &&
      isInt(inputSize[0], 1, MODEL_MAX_INPUT_SIDE) &&
      isInt(inputSize[1], 1, MODEL_MAX_INPUT_SIDE) &&
      (inputSize[2] === 1 || inputSize[2] === 3);
    if (!ok)
      return bad(
        'inputSize',
        inputSize,
        `[height, width, channels] with sides in [1, ${MODEL_MAX_INPUT_SIDE}] and 1 or 3 channels`,
      );
  }
  const channels = Array.isArray(inputSize) ? (inputSize[2] as number) : undefined;
  for (const [field, v, min] of [
    ['mean', mean, -Infinity],
    ['std', std, 0],
  ] as const) {
    if (v === undefined) continue;
    const ok =
      Array.isArray(v) &&
      (channels === undefined ? v.length === 1 || v.length === 3 : v.length === channels) &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > min);
    if (!ok) return bad(field, v, `${channels ?? '1 or 3'} finite numbers${min === 0 ? ' > 0' : ''}, one per channel`);
  }
  if (classes !== undefined) {
    const n = typeof numClasses === 'number' ? numClasses : undefined;
    const ok =
      Array.isArray(classes) &&
      classes.length <= MODEL_MAX_CLASSES &&
      (n === undefined || classes.length === n) &&
      classes.every((c) => typeof c === 'string');
    if (!ok) return bad('classes', classes, `${n ?? 'the'} class names (strings)`);
  }
  return null;
}

/** A weights or checkpoint file opened for inference: the model with its weights, and what it expects. */
export interface OpenedModel {
  model: ImageClassifier;
  info: ModelInfo;
}

/**
 * Reads a weights / checkpoint file written by `cnn train` (or any safetensors file, given `info`) into its model;
 * `flag` names the option the file came from in messages.
 */
export async function openWeights(
  file: string,
  fallback?: Partial<ModelInfo>,
  flag = '--checkpoint',
): Promise<OpenedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new UsageError(
      `${flag} ${quote(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let metadata: Record<string, string> = {};
  try {
    metadata = readSafetensors(bytes).metadata;
  } catch {
    // A PyTorch .pth file: no header; the caller's flags must say what it is.
  }
  const stored = modelInfoOf(metadata, file);
  const info = {
    ...stored,
    ...Object.fromEntries(Object.entries(fallback ?? {}).filter(([, v]) => v !== undefined)),
  } as Partial<ModelInfo>;
  if (info.id === undefined) throw new UsageError(`${file} does not say which model it holds; pass --model <id>`);
  checkModelId(info.id);
  const card = getCard(info.id);
  const full: ModelInfo = {
    id: info.id,
    numClasses: info.numClasses ?? card.numClasses,
    inputSize: info.inputSize ?? (card.inputSize as [number, number, number]),
    mean: info.mean ?? [0.485, 0.456, 0.406].slice(0, (info.inputSize ?? card.inputSize)[2] === 1 ? 1 : 3),
    std: info.std ?? [0.229, 0.224, 0.225].slice(0, (info.inputSize ?? card.inputSize)[2] === 1 ? 1 : 3),
    classes: info.classes ?? Array.from({ length: info.numClasses ?? card.numClasses }, (_, i) => String(i)),
    dataset: info.dataset ?? '',
    ...(info.exactResize ? { exactResize: true } : {}),
  };
  const model = buildModel(full);
  try {
    await loadWeights(model, bytes);
  } catch (e) {
    model.dispose();
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  model.eval();
  return { model, info: full };
}

/** The weights file of `--checkpoint <file>` or `--pretrained <id>` (undefined when neither is given). */
export function weightsFile(values: Record<string, string | boolean | undefined>): string | undefined {
  const ckpt = values.checkpoint;
  const pre = values.pretrained;
  if (typeof ckpt === 'string' && typeof pre === 'string')
    throw new UsageError('give --checkpoint or --pretrained, not both');
  if (typeof pre === 'string') {
    if (!pretrainedModels().includes(pre))
      throw new UsageError(
        `no trained weights ship with ${quote(pre)}; --pretrained takes ${pretrainedModels().join(', ')} here (ImageNet weights: cnn predict --pretrained)`,
      );
    return fileURLToPath(pretrainedUrl(pre));
  }
  return typeof ckpt === 'string' ? ckpt : undefined;
}
