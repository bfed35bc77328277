// Weights this project trained and ships inside the package (`weights/`), listed in the model cards (the family
// files: lenet.ts, resnet.ts): LeNet-5 and ResNet-20 on Fashion-MNIST. Read from the installed package in Node,
// fetched next to the module in a browser.
import { loadWeights } from '@cnn/layers';
import type { ImageClassifier, ShippedWeights } from './classifier';
import { getCard, getModel, listModels } from './registry';

/** Fashion-MNIST's class names in label order: the `classes` of the weights trained on it. */
export const FASHION_MNIST_CLASSES = [
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
];

/** The shipped weights of a model, optionally those trained on `dataset`; throws naming what there is. */
export function shippedWeights(id: string, dataset?: string): ShippedWeights {
  const list = getCard(id).weights ?? [];
  if (list.length === 0) {
    throw new Error(
      `no trained weights ship with '${id}'; models with weights: ${pretrainedModels().join(', ')} (or load your own with loadWeights)`,
    );
  }
  const w = dataset === undefined ? list[0] : list.find((x) => x.dataset === dataset);
  if (!w)
    throw new Error(`'${id}' ships weights for ${list.map((x) => `'${x.dataset}'`).join(', ')}, not '${dataset}'`);
  return w;
}

/** Ids of the models that ship trained weights. */
export function pretrainedModels(): string[] {
  return listModels().filter((id) => (getCard(id).weights ?? []).length > 0);
}

// One literal URL per file, so that bundlers (Vite, webpack, esbuild) see each asset and an app that never loads a
// file does not carry it.
function weightsUrl(file: string): URL {
  switch (file) {
    case 'lenet5-fashion-mnist.safetensors':
      return new URL('../weights/lenet5-fashion-mnist.safetensors', import.meta.url);
    case 'resnet20_cifar-fashion-mnist.safetensors':
      return new URL('../weights/resnet20_cifar-fashion-mnist.safetensors', import.meta.url);
    default:
      throw new Error(`no weights file '${file}' in @cnn/models-classic (weights/)`);
  }
}

/** Where a shipped weights file is: a `file:` URL in Node, a URL beside the module in a browser. */
export function pretrainedUrl(id: string, dataset?: string): URL {
  return weightsUrl(shippedWeights(id, dataset).file);
}

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return fs.readFile(url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url.href} failed: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Builds `id` with the trained weights that ship with this package (see the card's `weights`: dataset, input size,
 * classes, normalisation and measured test accuracy), in eval mode.
 *
 * @example
 * const net = await loadPretrained('lenet5');                  // Fashion-MNIST, 28x28x1, top-1 on the test split in the card
 * const { indices } = net.predict(x, { classNames: shippedWeights('lenet5').classes });
 */
export async function loadPretrained(id: string, opts: { dataset?: string } = {}): Promise<ImageClassifier> {
  const w = shippedWeights(id, opts.dataset);
  const url = pretrainedUrl(id, opts.dataset);
  const bytes = await readBytes(url);
  const buildOpts: Record<string, unknown> = { numClasses: w.numClasses, inChannels: w.inputSize[2] };
  const model = getModel(id, buildOpts);
  try {
    await loadWeights(model, bytes);
  } catch (e) {
    model.dispose();
    throw new Error(`${url.href}: ${(e as Error).message}`);
  }
  model.eval();
  return model;
}
