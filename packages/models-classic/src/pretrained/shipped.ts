// Weights this project trained and ships inside the package (`weights/`), listed in the model cards (the family
// files: lenet.ts, resnet.ts): LeNet-5 and ResNet-20 on Fashion-MNIST. Read from the installed package in Node,
// fetched next to the module in a browser (the weights store of the platform, platform.ts).
import { FashionMNIST } from '@cnn/datasets';
import type { ShippedWeights } from '../classifier';
import { PretrainedError } from '../errors';
import { getCard, listModels } from '../registry';
import { store } from './platform';
import { weightsUrl } from '../weights-url-node';

/** Fashion-MNIST's class names in label order (the dataset reader's own list): the `classes` of the weights trained on it. */
export const FASHION_MNIST_CLASSES: readonly string[] = FashionMNIST.CLASSES;

/** The shipped weights of a model, optionally those trained on `dataset`; throws naming what there is. */
export function shippedWeights(id: string, dataset?: string): ShippedWeights {
  const list = getCard(id).weights ?? [];
  if (list.length === 0) {
    throw new PretrainedError(
      'unknown-weights',
      `no trained weights ship with '${id}'; models with weights: ${pretrainedModels().join(', ')} (or load your own with loadWeights)`,
    );
  }
  const w = dataset === undefined ? list[0] : list.find((x) => x.dataset === dataset);
  if (!w)
    throw new PretrainedError(
      'unknown-weights',
      `'${id}' ships weights for ${list.map((x) => `'${x.dataset}'`).join(', ')}, not '${dataset}'`,
    );
  return w;
}

/** Ids of the models that ship trained weights (inside the package; `listPretrained` lists downloadable ones too). */
export function pretrainedModels(): string[] {
  return listModels().filter((id) => (getCard(id).weights ?? []).length > 0);
}

/**
 * Where a shipped weights file is: a `file:` URL in Node; in a browser the URL `shippedFiles` gives for it (the map
 * `@cnn/models-classic/shipped-weights` exports), a {@link PretrainedError} without it.
 *
 * @param shippedFiles URLs of the shipped files by file name (see `LoadPretrainedOptions.shippedFiles`).
 */
export function pretrainedUrl(
  id: string,
  dataset?: string,
  shippedFiles?: Readonly<Record<string, string | URL>>,
): URL {
  const { file } = shippedWeights(id, dataset);
  return weightsUrl(file, shippedFiles?.[file]);
}

/** The bytes of a shipped weights file, from `shippedFiles` when it names the file. */
export function readShipped(
  w: ShippedWeights,
  shippedFiles?: Readonly<Record<string, string | URL>>,
): Promise<Uint8Array> {
  return store.readShipped(weightsUrl(w.file, shippedFiles?.[w.file]));
}
