// Fine-tuning for `cnn train`, the timm / torchvision way: the initial weights (`--initial-checkpoint <file>`,
// `--pretrained <id|file>`), a new classifier head when the number of classes differs (the old head dropped with a
// notice), `--freeze backbone|<prefix>` and the backbone's learning rate (`--backbone-lr-scale`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { listModels, listPretrained, type ImageClassifier } from '@cnn/models-efficient';
import { freeze, type FreezeResult, type ParamGroupRule } from '@cnn/train';
import { UsageError, fmt, quote } from './args';
import { readSafetensors } from '@cnn/layers';
import { modelInfoOf, openWeights } from './model-file';
import { openPretrained } from './pretrained';

/** Where a fine-tuned run's weights started, as its config.json stores it (enough to rebuild the model on resume). */
export interface InitialWeights {
  /** `--initial-checkpoint <file>` or `--pretrained <id>` (a `--pretrained <file>` is stored as a checkpoint). */
  kind: 'checkpoint' | 'pretrained';
  /** The file (absolute) or the model id. */
  source: string;
  /** `--weights`: which of the id's weights (default: its first). */
  weights?: string;
  /** The model id. */
  id: string;
  /** Classes of the head the weights came with. */
  classes: number;
  /** [height, width, channels] the weights were trained at. */
  inputSize: [number, number, number];
  /** Their normalisation, which the run keeps. */
  mean: number[];
  std: number[];
  /** Whether their images were resized straight to the input size (no resize-then-centre-crop). */
  exactResize: boolean;
  /** Options the model was built with for these weights beyond classes and channels (GoogLeNet's `transformInput`). */
  modelOptions?: Record<string, unknown>;
}

/** The model with the initial weights loaded, in evaluation mode, with its original head. */
export interface OpenedInitial {
  model: ImageClassifier;
  init: InitialWeights;
}

/** Which initial weights the flags ask for (checked, nothing read), or undefined for a run from scratch. */
export function initialSource(values: Record<string, string | boolean | undefined>): InitialSource | undefined {
  const file = values['initial-checkpoint'];
  const pre = values.pretrained;
  const weights = values.weights;
  if (typeof file === 'string' && typeof pre === 'string')
    throw new UsageError('give --initial-checkpoint or --pretrained, not both');
  if (typeof weights === 'string' && !(typeof pre === 'string' && listModels().includes(pre)))
    throw new UsageError('--weights <name> picks the weights of --pretrained <id> (see cnn list --pretrained)');
  if (typeof pre === 'string') {
    if (listModels().includes(pre)) {
      const have = listPretrained(pre);
      if (have.length === 0)
        throw new UsageError(
          `no pretrained weights for ${quote(pre)}; --pretrained takes ${[...new Set(listPretrained().map((w) => w.id))].sort().join(', ')} or a weights file (see cnn list --pretrained)`,
        );
      if (typeof weights === 'string' && !have.some((w) => w.name === weights))
        throw new UsageError(
          `--weights ${quote(weights)}: ${quote(pre)} has ${have.map((w) => w.name).join(', ')} (see cnn list --pretrained)`,
        );
      return typeof weights === 'string'
        ? { kind: 'pretrained', source: pre, weights }
        : { kind: 'pretrained', source: pre };
    }
    if (!existsSync(pre))
      throw new UsageError(
        `--pretrained ${quote(pre)} is neither a model id with weights (see cnn list --pretrained) nor a file`,
      );
    return checkedFile('--pretrained', pre);
  }
  if (typeof file === 'string') {
    if (!existsSync(file)) throw new UsageError(`--initial-checkpoint ${quote(file)} does not exist`);
    return checkedFile('--initial-checkpoint', file);
  }
  return undefined;
}

/** Where the initial weights come from, as the flags say. */
export interface InitialSource {
  kind: 'checkpoint' | 'pretrained';
  source: string;
  weights?: string;
}

function checkedFile(flag: string, file: string): InitialSource {
  if (!statSync(file).isFile()) throw new UsageError(`${flag} ${quote(file)} is not a file`);
  return { kind: 'checkpoint', source: resolve(file) };
}

/** Loads the initial weights into their model (its own head); `model` is `--model`, which must agree with them. */
export async function openInitial(src: InitialSource, model: string | undefined): Promise<OpenedInitial> {
  if (src.kind === 'pretrained') {
    if (model !== undefined && model !== src.source)
      throw new UsageError(`--model ${quote(model)} and --pretrained ${quote(src.source)} name different models`);
    const m = await openPretrained(src.source, src.weights);
    const p = m.pretrained!.preprocess;
    const c = p.channels ?? 3;
    const exact = Array.isArray(p.resize);
    const [h, w] = Array.isArray(p.resize) ? p.resize : [p.crop ?? p.resize, p.crop ?? p.resize];
    return {
      model: m,
      init: {
        kind: 'pretrained',
        source: src.source,
        weights: m.pretrained!.weights.name,
        id: src.source,
        classes: m.classifier.outFeatures,
        inputSize: [h as number, w as number, c],
        mean: [...p.mean].slice(0, c),
        std: [...p.std].slice(0, c),
        exactResize: exact,
        ...extraOptions(m.pretrained!.weights.entry?.modelOptions),
      },
    };
  }
  // --model fills in a file that does not say its model (a .pth); one that does must agree with it.
  const named = storedModelId(src.source);
  if (model !== undefined && named !== undefined && named !== model)
    throw new UsageError(`--model ${quote(model)}: ${src.source} holds ${quote(named)}`);
  const { model: m, info } = await openWeights(src.source, { id: model }, '--initial-checkpoint');
  return {
    model: m,
    init: {
      kind: 'checkpoint',
      source: src.source,
      id: info.id,
      classes: info.numClasses,
      inputSize: info.inputSize,
      mean: info.mean,
      std: info.std,
      exactResize: info.dataset !== 'folder',
    },
  };
}

/** The model id a weights file's header names (undefined for a file without one, or not a safetensors file). */
function storedModelId(file: string): string | undefined {
  let metadata: Record<string, string>;
  try {
    metadata = readSafetensors(readFileSync(file)).metadata;
  } catch {
    return undefined;
  }
  return modelInfoOf(metadata, file)?.id;
}

/** A weights entry's model options beyond those the run sets itself (classes, channels), if any. */
function extraOptions(options: Readonly<Record<string, unknown>> | undefined): {
  modelOptions?: Record<string, unknown>;
} {
  const rest = Object.fromEntries(
    Object.entries(options ?? {}).filter(([k]) => k !== 'numClasses' && k !== 'inChannels'),
  );
  return Object.keys(rest).length > 0 ? { modelOptions: rest } : {};
}

/** The dotted name of the model's final Linear layer (`fc`, `classifier.1`). */
export function headName(model: ImageClassifier): string {
  const head = model.classifier;
  const found = model.namedModules().find(([, m]) => m === head);
  if (!found) throw new Error(`${model.typeName}: its classifier is not among its modules`);
  return found[0];
}

/** The names of the head's parameters. */
export function headParams(model: ImageClassifier): Set<string> {
  const name = headName(model);
  return new Set(
    model
      .namedParameters()
      .map(([n]) => n)
      .filter((n) => n.startsWith(`${name}.`)),
  );
}

/**
 * Gives the model a new head for `numClasses` when its head has another number of classes (the old one is dropped
 * and disposed; `notice` says so in one line). Draws the new head from the current random state.
 */
export function fitHead(model: ImageClassifier, numClasses: number, from: string, notice: (s: string) => void): void {
  const old = model.classifier.outFeatures;
  if (old === numClasses) return;
  const name = headName(model);
  model.resetClassifier(numClasses);
  notice(
    `the ${old}-class head of ${from} (${name}) was dropped for a new ${numClasses}-class head, trained from scratch`,
  );
}

/** Whether `name` lies under `prefix` on a dotted boundary (`layer1` takes `layer1.0.conv1.weight`, not `layer10.x`). */
function under(name: string, prefix: string): boolean {
  const p = prefix.endsWith('.') ? prefix.slice(0, -1) : prefix;
  return name === p || name.startsWith(`${p}.`);
}

/**
 * What `--freeze <spec>` freezes: `backbone` (every parameter but the head's) or comma-separated name prefixes
 * (`conv1,bn1,layer1`). A prefix no parameter has, or a spec that leaves nothing to train, is a UsageError.
 */
export function freezeRule(model: ImageClassifier, spec: string): (name: string) => boolean {
  const names = model.namedParameters().map(([n]) => n);
  let rule: (name: string) => boolean;
  if (spec === 'backbone') {
    const head = headParams(model);
    rule = (n) => !head.has(n);
  } else {
    const prefixes = spec.split(',').map((s) => s.trim());
    if (prefixes.some((p) => p === '' || p === '.'))
      throw new UsageError(`--freeze takes 'backbone' or comma-separated parameter name prefixes, got ${quote(spec)}`);
    for (const p of prefixes) {
      if (!names.some((n) => under(n, p))) {
        const top = [...new Set(names.map((n) => n.split('.')[0]!))];
        throw new UsageError(
          `--freeze ${quote(p)}: no parameter of ${model.typeName} is named so or under it; its top-level names are ${top.slice(0, 12).join(', ')}${top.length > 12 ? ', ...' : ''} (or use --freeze backbone)`,
        );
      }
    }
    rule = (n) => prefixes.some((p) => under(n.endsWith('.') ? n.slice(0, -1) : n, p));
  }
  if (names.every((n) => rule(n)))
    throw new UsageError(`--freeze ${quote(spec)} freezes every parameter; nothing would train`);
  return rule;
}

/** Freezes by `--freeze <spec>` and describes it in one line. */
export function applyFreeze(model: ImageClassifier, spec: string): { result: FreezeResult; line: string } {
  const result = freeze(model, freezeRule(model, spec));
  const total = model.numParameters();
  const line = `--freeze ${spec}: ${fmt(result.count)} of ${fmt(total)} parameters frozen (${result.names.length} tensors), ${fmt(total - result.count)} train; ${result.norms.length} normalisation layer${result.norms.length === 1 ? '' : 's'} keep their running statistics`;
  return { result, line };
}

/** The optimizer's group rule for `--backbone-lr-scale`: every parameter but the head's at `lr * scale`. */
export function backboneGroup(model: ImageClassifier, lr: number, scale: number): ParamGroupRule {
  const head = headParams(model);
  return { match: (name) => !head.has(name), lr: lr * scale };
}
