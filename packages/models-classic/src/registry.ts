// The registry: every model of this package by id, with its card. Cards are data; the registry test builds every
// model and compares its card with the real parameter and MAC counts.
import type { ImageClassifier, ModelCard } from './classifier';

/** Builds a model; options are the family's (numClasses, inChannels, ...). */
export type ModelBuilder = (opts: Record<string, unknown>) => ImageClassifier;

interface Entry {
  card: ModelCard;
  build: ModelBuilder;
}

const entries = new Map<string, Entry>();

/** Adds a model to the registry (other packages add theirs: @cnn/models-efficient registers the efficient families). */
export function registerModel(card: ModelCard, build: ModelBuilder): void {
  if (entries.has(card.id)) throw new Error(`registerModel: '${card.id}' is already registered`);
  entries.set(card.id, { card, build });
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * Ids of the registered models, sorted, optionally filtered by a glob (`'resnet*'`, `'*_cifar'`, `'vgg1?_bn'`).
 *
 * @example
 * listModels('resnext*');   // ['resnext101_32x8d', 'resnext50_32x4d']
 */
export function listModels(pattern?: string): string[] {
  const ids = [...entries.keys()].sort();
  return pattern ? ids.filter((id) => globToRegExp(pattern).test(id)) : ids;
}

function unknown(id: string): Error {
  const near = [...entries.keys()].filter((k) => k.includes(id) || id.includes(k.split('_')[0])).slice(0, 5);
  return new Error(`unknown model '${id}'${near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : ''} (listModels() lists all ${entries.size})`);
}

/** The card of a registered model. */
export function getCard(id: string): ModelCard {
  const e = entries.get(id);
  if (!e) throw unknown(id);
  return e.card;
}

/**
 * Builds a registered model with random (seedable, see `manualSeed`) weights.
 *
 * @example
 * const net = getModel('resnet18', { numClasses: 10 });
 */
export function getModel(id: string, opts: Record<string, unknown> = {}): ImageClassifier {
  const e = entries.get(id);
  if (!e) throw unknown(id);
  return e.build(opts);
}
