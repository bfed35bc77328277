// The registry: every model by id, with its card and the options it takes. Each family file registers its models
// where it defines them (`export const resnet50 = registerModel(card, build, options)`), and what registerModel
// returns is the family's typed builder; `getModel(id)` is the lookup for ids chosen at run time. Cards are data; the
// registry test builds every model and compares its card with the real parameter and MAC counts.
import { tf } from '@cnn/tensor';
import type { ImageClassifier, ModelCard } from './classifier';
import { ModelError } from './errors';
import { CLASSIFIER_OPTIONS, checkOptions, describeValue, type OptionSpecs } from './options';

/** Builds a model; options are the family's (numClasses, inChannels, ...). */
export type ModelBuilder = (opts: Record<string, unknown>) => ImageClassifier;

/**
 * A typed builder, as {@link registerModel} returns it (`resnet50(opts): ResNet`): it checks `opts` as `getModel` does
 * (a {@link ModelOptionsError} before anything is built), then builds; should the build fail, whatever it had built
 * is disposed.
 */
export type TypedBuilder<O extends object, M extends ImageClassifier> = (opts?: O) => M;

interface Entry {
  card: ModelCard;
  build: ModelBuilder;
  options?: OptionSpecs;
}

const entries = new Map<string, Entry>();

/**
 * Adds a model to the registry under its card's id and returns its typed builder, which checks options exactly as
 * `getModel(card.id, opts)` does. A family file registers each of its models where it defines them:
 *
 * ```ts
 * export const resnet50 = registerModel(card, (o: ResNetOptions) => new ResNet(50, o), RESNET_OPTIONS);
 * ```
 *
 * `options` lists every option the builder takes, with its type and limits: the builders then refuse unknown names
 * and bad values before building. Without it, only `numClasses` and `inChannels` are checked and other names are
 * passed through unchecked. An id can be registered once.
 */
export function registerModel<O extends object = Record<string, unknown>, M extends ImageClassifier = ImageClassifier>(
  card: ModelCard,
  build: (opts: O) => M,
  options?: OptionSpecs,
): TypedBuilder<O, M> {
  if (entries.has(card.id)) throw new Error(`registerModel: '${card.id}' is already registered`);
  const entry: Entry = options
    ? { card, build: build as unknown as ModelBuilder, options }
    : { card, build: build as unknown as ModelBuilder };
  entries.set(card.id, entry);
  return (opts?: O) => buildEntry(card.id, entry, opts === undefined ? {} : opts) as M;
}

/** The options a registered model takes (names and limits), or undefined when it was registered without them. */
export function modelOptions(id: string): OptionSpecs | undefined {
  const e = entries.get(id);
  if (!e) throw unknown(id);
  return e.options;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
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

function unknown(id: unknown): ModelError {
  if (typeof id !== 'string') return new ModelError(`model id must be a string, got ${describeValue(id)}`);
  const near =
    id.length > 64 ? [] : [...entries.keys()].filter((k) => k.includes(id) || id.includes(k.split('_')[0])).slice(0, 5);
  const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
  return new ModelError(
    `unknown model '${shown}'${near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : ''} (listModels() lists all ${entries.size})`,
  );
}

/**
 * Runs a builder; if it throws, disposes every variable it had created (a model that fails half-way through its
 * constructor would otherwise keep its first layers' weights alive, unreachable).
 */
function buildOrDispose(build: () => ImageClassifier): ImageClassifier {
  const before = new Set(Object.keys(tf.engine().state.registeredVariables));
  try {
    return build();
  } catch (err) {
    for (const [name, v] of Object.entries(tf.engine().state.registeredVariables)) if (!before.has(name)) v.dispose();
    throw err;
  }
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
 * The options are checked before anything is built ({@link ModelOptionsError}: an unknown name, naming the ones the
 * model takes; a value of the wrong type; `numClasses` outside 1..100,000, `inChannels` outside 1..4096, and the
 * family's own limits: the package README's "Options, inputs and limits"). Should a builder still fail, whatever it had built is disposed.
 *
 * @example
 * const net = getModel('resnet18', { numClasses: 10 });
 */
export function getModel(id: string, opts: Record<string, unknown> = {}): ImageClassifier {
  const e = typeof id === 'string' ? entries.get(id) : undefined;
  if (!e) throw unknown(id);
  return buildEntry(id, e, opts);
}

/** Checks `opts` against the entry's option specs, then builds (disposing what a failed build had made). */
function buildEntry(id: string, e: Entry, opts: unknown): ImageClassifier {
  checkOptions(id, opts, e.options ?? CLASSIFIER_OPTIONS, { otherNames: e.options ? 'refuse' : 'pass' });
  return buildOrDispose(() => e.build(opts as Record<string, unknown>));
}
