// What a weights file says about its model (the `cnn.model` header entry that `cnn train` writes): the model id,
// classes, input size and normalisation, so that `cnn eval` and `cnn predict` need nothing but the file.
import { readFile } from 'node:fs/promises';
import { loadWeights, readSafetensors } from '@cnn/layers';
import { fileURLToPath } from 'node:url';
import { getCard, getModel, listModels, pretrainedModels, pretrainedUrl, type ImageClassifier } from '@cnn/models-efficient';
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
}

/** Checks a model id against the registry (UsageError naming `cnn list` otherwise). */
export function checkModelId(id: string): void {
  if (!listModels().includes(id)) throw new UsageError(`unknown model ${quote(id)}; run 'cnn list' to see the ids`);
}

/** Builds the registered model `info.id` for `info`'s classes and input. */
export function buildModel(info: Pick<ModelInfo, 'id' | 'numClasses' | 'inputSize'>): ImageClassifier {
  checkModelId(info.id);
  const [h, , c] = info.inputSize;
  const opts: Record<string, unknown> = { numClasses: info.numClasses, inChannels: c };
  // LeNet-5 is the one architecture whose layers depend on the input size (28: padded first convolution; 32: none).
  if (getCard(info.id).family === 'lenet') opts.inputSize = h;
  return getModel(info.id, opts);
}

/** Reads the {@link ModelInfo} of a weights file's header, or undefined when it has none. */
export function modelInfoOf(metadata: Record<string, string>, file: string): ModelInfo | undefined {
  const raw = metadata[MODEL_META_KEY];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as ModelInfo;
  } catch {
    throw new UsageError(`${file}: its '${MODEL_META_KEY}' header entry is not valid JSON`);
  }
}

/** A weights or checkpoint file opened for inference: the model with its weights, and what it expects. */
export interface OpenedModel {
  model: ImageClassifier;
  info: ModelInfo;
}

/** Reads a weights / checkpoint file written by `cnn train` (or any safetensors file, given `info`) into its model. */
export async function openWeights(file: string, fallback?: Partial<ModelInfo>): Promise<OpenedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new UsageError(`--checkpoint ${quote(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let metadata: Record<string, string> = {};
  try {
    metadata = readSafetensors(bytes).metadata;
  } catch {
    // A PyTorch .pth file: no header; the caller's flags must say what it is.
  }
  const stored = modelInfoOf(metadata, file);
  const info = { ...stored, ...Object.fromEntries(Object.entries(fallback ?? {}).filter(([, v]) => v !== undefined)) } as Partial<ModelInfo>;
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
  if (typeof ckpt === 'string' && typeof pre === 'string') throw new UsageError('give --checkpoint or --pretrained, not both');
  if (typeof pre === 'string') {
    if (!pretrainedModels().includes(pre)) throw new UsageError(`no trained weights ship with ${quote(pre)}; --pretrained takes ${pretrainedModels().join(', ')}`);
    return fileURLToPath(pretrainedUrl(pre));
  }
  return typeof ckpt === 'string' ? ckpt : undefined;
}
