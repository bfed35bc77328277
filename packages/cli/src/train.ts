// `cnn train`: trains a registered model on a dataset into a run folder, and `--resume` continues a run from its
// last checkpoint. This file reads the flags, builds the model, data and optimizer, and runs the Trainer; the run
// folder and its write protocol are run-folder.ts, the curves and final lines report.ts.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CutMix, DataLoader, Mixup, type BatchTransform } from '@cnn/datasets';
import { getRandomState, manualSeed, readFileBytes, setRandomState, type Module } from '@cnn/layers';
import { backendInfo, setBackend, setThreads, tf, type BackendName, type ImageClassifier } from '@cnn/models-efficient';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  LRScheduler,
  MultiStepLR,
  SGD,
  StepLR,
  Trainer,
  confusionMatrixSvg,
  encodeCheckpoint,
  restoreCheckpoint,
  withWarmup,
  type LRSchedule,
  type Optimizer,
  type ParamGroupRule,
  type ParamsInput,
} from '@cnn/train';
import { BACKEND_CHOICES, UsageError, choice, int, num, parse, quote, str } from './args';
import { DATASETS, datasetSpec, loadSplit, type DatasetName } from './data';
import { MODEL_META_KEY, buildModel, checkModelId, type ModelInfo } from './model-file';
import { curves, finalLines } from './report';
import {
  METRICS_LOG,
  RUN_FILES,
  RunFolder,
  SUMMARY_LOG,
  storedRecord,
  type BestSoFar,
  type StoredRecord,
} from './run-folder';
import {
  applyFreeze,
  backboneGroup,
  fitHead,
  freezeRule,
  initialSource,
  openInitial,
  type InitialSource,
  type InitialWeights,
  type OpenedInitial,
} from './finetune';
import { checkTestHooks, testSubset } from './test-hooks';

export const HELP_TRAIN = `Usage: cnn train --model <id> --dataset <name> [options]
       cnn train (--initial-checkpoint <file> | --pretrained <id|file>) --dataset <name> [options]
       cnn train --resume <run folder>

Trains a model of the zoo, or fine-tunes trained weights, into a run folder: config.json, metrics.jsonl and
summary.csv (one line per epoch), last.safetensors and best.safetensors (model, optimizer, schedule, epoch and random
state), loss.svg, accuracy.svg, confusion-matrix.svg and eval.json (the final test evaluation). Every file is written so that a killed run loses at most the epoch in
progress: --resume puts the folder right and goes on, ending with the same checkpoint bytes.

Options:
  --model <id>             a model id from 'cnn list'
  --dataset <name>         ${DATASETS.join(' | ')}
  --data-dir <dir>         where the dataset is (fashion-mnist: Debian's /usr/share/datasets/fashion-mnist by default;
                           folder: <dir>/train/<class>/* and <dir>/val/<class>/*)
  --epochs <n>             default 10
  --batch-size <n>         default 64
  --optimizer <name>       sgd | adam | adamw (default sgd, with Nesterov momentum)
  --lr <x>                 learning rate (default 0.05 for sgd, 0.002 for adam and adamw)
  --weight-decay <x>       default 5e-4 for sgd, 0 for adam, 0.01 for adamw (never on BatchNorm weights and biases)
  --momentum <x>           sgd only, default 0.9 (Nesterov)
  --schedule <name>        cosine | step | multistep | constant (default cosine, stepped every iteration)
  --warmup <epochs>        linear warm-up epochs before the schedule (default 0)
  --label-smoothing <x>    default 0
  --augment                random crops (and horizontal flips where they make sense) on the training images
  --image-size <n>         side of the images the model sees (default: the dataset's, 224 for folders)
  --seed <n>               seeds the weights and the data order (default 0); same seed, same backend: same result
  --backend <name>         wasm | webgpu | cuda | cpu | auto (default wasm)
  --threads <n|auto>       threads of the wasm backend (default: CNN_THREADS, else every core)
  --workers <n|auto>       folder datasets: threads that read and decode images (default auto)

  --out <dir>              the run folder (default runs/<model>-<dataset>-<time>); never one that holds a run, but
                           the folder of a run killed before its first checkpoint is reused
  --resume <dir|file>      continue a run from its last checkpoint (its own settings; --epochs may raise the total,
                           --backend, --threads, --workers, --data-dir may change);
                           a run killed before its first checkpoint starts again from scratch
  --min-accuracy <x>       exit with code 1 when the final test accuracy is below x
  --quiet                  no progress output, only the final lines

Fine-tuning:
  --initial-checkpoint <f> start from these weights (a cnn run's checkpoint or weights file; the model is the one it
                           names, its input size, channels and normalisation are kept)
  --pretrained <id|file>   start from the zoo's weights for <id> (the shipped Fashion-MNIST ones, or ImageNet's,
                           downloaded on first use; see cnn list --pretrained), or from a file as above
  --weights <name>         with --pretrained <id>: which of its weights (default its first; cnn list --pretrained)
  --num-classes <n>        classes of the new task (default: the dataset's, which must agree); a head with another
                           number of classes is dropped for a new one, with a notice
  --freeze <what>          backbone (every parameter but the classifier head's) or comma-separated parameter name
                           prefixes (conv1,bn1,layer1); frozen parameters never change and frozen BatchNorm layers
                           keep their running statistics; prints how many parameters are frozen
  --backbone-lr-scale <x>  the backbone's learning rate is x times --lr (the head's); default 1

Augmentation:
  --mixup <alpha>          Mixup with Beta(alpha, alpha) mixing ratios (e.g. 0.2)
  --cutmix <alpha>         CutMix with Beta(alpha, alpha) (e.g. 1.0); with --mixup, each batch takes one of the two
  --color-jitter <x>       brightness, contrast and saturation jitter of strength x (e.g. 0.4) on training images`;

/** Everything a run is, as config.json stores it. */
export interface RunConfig {
  model: string;
  dataset: DatasetName;
  dataDir?: string;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  weightDecay: number;
  momentum: number;
  schedule: 'cosine' | 'step' | 'multistep' | 'constant';
  warmup: number;
  labelSmoothing: number;
  augment: boolean;
  imageSize: number;
  seed: number;
  backend: BackendName;
  /** Fine-tuning: the weights the run started from. */
  init?: InitialWeights;
  /** `--freeze`: 'backbone' or parameter name prefixes. */
  freeze?: string;
  /** `--backbone-lr-scale`: the backbone's learning rate over the head's. */
  backboneLrScale?: number;
  /** `--mixup`: the Beta distribution's alpha. */
  mixup?: number;
  /** `--cutmix`: the Beta distribution's alpha. */
  cutmix?: number;
  /** `--color-jitter`: the strength. */
  colorJitter?: number;
}

const TRAIN_OPTIONS = {
  model: { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  'weight-decay': { type: 'string' },
  momentum: { type: 'string' },
  schedule: { type: 'string' },
  warmup: { type: 'string' },
  'label-smoothing': { type: 'string' },
  augment: { type: 'boolean' },
  'image-size': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  'min-accuracy': { type: 'string' },
  quiet: { type: 'boolean' },
  threads: { type: 'string' },
  workers: { type: 'string' },
  'initial-checkpoint': { type: 'string' },
  pretrained: { type: 'string' },
  weights: { type: 'string' },
  'num-classes': { type: 'string' },
  freeze: { type: 'string' },
  'backbone-lr-scale': { type: 'string' },
  mixup: { type: 'string' },
  cutmix: { type: 'string' },
  'color-jitter': { type: 'string' },
} as const;

/** Flags that may accompany --resume (the rest of the run's settings come from its config.json). */
const RESUME_FLAGS = new Set([
  'resume',
  'epochs',
  'backend',
  'quiet',
  'min-accuracy',
  'data-dir',
  'threads',
  'workers',
]);

function configFromFlags(values: Record<string, string | boolean | undefined>, fineTuning: boolean): RunConfig {
  const model = str(values, 'model');
  const dataset = str(values, 'dataset');
  if (model === undefined && !fineTuning)
    throw new UsageError(
      "cnn train needs --model <id> (see 'cnn list'), or --initial-checkpoint <file> / --pretrained <id> to fine-tune",
    );
  if (dataset === undefined) throw new UsageError(`cnn train needs --dataset <${DATASETS.join('|')}>`);
  if (model !== undefined) checkModelId(model);
  const ds = choice(values, 'dataset', DATASETS, 'fashion-mnist');
  const optimizer = choice(values, 'optimizer', ['sgd', 'adam', 'adamw'] as const, 'sgd');
  const epochs = int(values, 'epochs', 10, 1, 100_000);
  const cfg: RunConfig = {
    model: model ?? '',
    dataset: ds,
    epochs,
    batchSize: int(values, 'batch-size', 64, 1, 1 << 16),
    optimizer,
    lr: num(values, 'lr', optimizer === 'sgd' ? 0.05 : 2e-3, { min: 0, exclusiveMin: true }) as number,
    weightDecay: num(
      values,
      'weight-decay',
      optimizer === 'sgd' ? 5e-4 : optimizer === 'adamw' ? 0.01 : 0,
      0,
    ) as number,
    momentum: num(values, 'momentum', 0.9, 0, 1) as number,
    schedule: choice(values, 'schedule', ['cosine', 'step', 'multistep', 'constant'] as const, 'cosine'),
    warmup: int(values, 'warmup', 0, 0, epochs - 1),
    labelSmoothing: num(values, 'label-smoothing', 0, 0, 0.99) as number,
    augment: values.augment === true,
    imageSize: int(values, 'image-size', datasetSpec(ds).size, 8, 1024),
    seed: int(values, 'seed', 0, 0, 2 ** 31 - 1),
    backend: choice(values, 'backend', BACKEND_CHOICES, 'wasm'),
  };
  const dir = str(values, 'data-dir');
  if (dir !== undefined) cfg.dataDir = resolve(dir);
  const freeze = str(values, 'freeze');
  if (freeze !== undefined) {
    if (freeze.trim() === '') throw new UsageError("--freeze needs 'backbone' or parameter name prefixes");
    cfg.freeze = freeze.trim();
  }
  const scale = num(values, 'backbone-lr-scale', undefined, { min: 0, max: 100, exclusiveMin: true });
  if (scale !== undefined) cfg.backboneLrScale = scale;
  const mixup = num(values, 'mixup', undefined, { min: 0, max: 100, exclusiveMin: true });
  if (mixup !== undefined) cfg.mixup = mixup;
  const cutmix = num(values, 'cutmix', undefined, { min: 0, max: 100, exclusiveMin: true });
  if (cutmix !== undefined) cfg.cutmix = cutmix;
  const jitter = num(values, 'color-jitter', undefined, 0, 1);
  if (jitter !== undefined && jitter > 0) cfg.colorJitter = jitter;
  return cfg;
}

/** `--threads <n|auto>` (undefined when absent). */
function threadsFlag(values: Record<string, string | boolean | undefined>): number | 'auto' | undefined {
  if (str(values, 'threads') === 'auto') return 'auto';
  const n = int(values, 'threads', 0, 1, 1024);
  return n === 0 ? undefined : n;
}

/** `--workers <n|auto>` (undefined when absent). */
function workersFlag(values: Record<string, string | boolean | undefined>): number | 'auto' | undefined {
  if (str(values, 'workers') === 'auto') return 'auto';
  const n = int(values, 'workers', -1, 0, 64);
  return n === -1 ? undefined : n;
}

/** The batch transform of `--mixup` / `--cutmix` (both: each batch takes one of the two, as timm switches). */
function mixing(cfg: RunConfig): BatchTransform | null {
  const mix = cfg.mixup !== undefined ? new Mixup({ alpha: cfg.mixup }) : undefined;
  const cut = cfg.cutmix !== undefined ? new CutMix({ alpha: cfg.cutmix }) : undefined;
  if (mix && cut)
    return {
      name: `${mix.name} or ${cut.name}`,
      apply: (batch, rng) => (rng.next() < 0.5 ? mix.apply(batch, rng) : cut.apply(batch, rng)),
    };
  return mix ?? cut ?? null;
}

function makeOptimizer(cfg: RunConfig, model: ParamsInput, groups: ParamGroupRule[]): Optimizer {
  const common = { lr: cfg.lr, weightDecay: cfg.weightDecay, noDecayOn: 'bn_bias' as const, groups };
  if (cfg.optimizer === 'sgd') return new SGD(model, { ...common, momentum: cfg.momentum, nesterov: cfg.momentum > 0 });
  if (cfg.optimizer === 'adam') return new Adam(model, common);
  return new AdamW(model, common);
}

function makeSchedule(cfg: RunConfig, stepsPerEpoch: number): LRSchedule | undefined {
  const warm = cfg.warmup * stepsPerEpoch;
  const total = cfg.epochs * stepsPerEpoch - warm;
  let main: LRSchedule | undefined;
  if (cfg.schedule === 'cosine') main = new CosineAnnealingLR({ tMax: Math.max(1, total) });
  else if (cfg.schedule === 'step') main = new StepLR({ stepSize: Math.max(1, Math.round(total / 3)), gamma: 0.1 });
  else if (cfg.schedule === 'multistep')
    main = new MultiStepLR({ milestones: [Math.round(total * 0.5), Math.round(total * 0.75)], gamma: 0.1 });
  if (!main) main = { lrAt: (_t, base) => base };
  return warm > 0 ? withWarmup(main, { length: warm }) : main;
}

/** The folder of a new run (`--out`, or runs/<model>-<dataset>-<time>), checked as {@link RunFolder.checkNew} does. */
function newRunDir(cfg: RunConfig, out: string | undefined): string {
  const dir = resolve(out ?? join('runs', `${cfg.model}-${cfg.dataset}-${stamp()}`));
  RunFolder.checkNew(dir);
  return dir;
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** What the flags ask for: a new run into a folder, or the continuation of one. */
interface RunPlan {
  cfg: RunConfig;
  /** The run folder (undefined until a fine-tuning run without --model and --out knows its model). */
  dir: string | undefined;
  /** A new fine-tuning run: the weights to start from. */
  initial?: InitialSource;
  /** For --resume: the checkpoint to go on from (undefined: the run was killed before its first one). */
  resume?: { checkpoint: string | undefined };
}

/** Reads the flags into a plan, checking everything that can be checked before any file is touched. */
function planRun(values: Record<string, string | boolean | undefined>): RunPlan {
  const resumeArg = str(values, 'resume');
  if (resumeArg === undefined) {
    const initial = initialSource(values);
    const cfg = configFromFlags(values, initial !== undefined);
    const out = str(values, 'out');
    if (out === '') throw new UsageError('--out needs a folder, got an empty string');
    const dir = out === undefined && cfg.model === '' ? undefined : newRunDir(cfg, out);
    return initial ? { cfg, dir, initial } : { cfg, dir };
  }
  const extra = Object.keys(values).filter((k) => values[k] !== undefined && !RESUME_FLAGS.has(k));
  if (extra.length)
    throw new UsageError(
      `--resume continues a run with its own settings; --${extra[0]} cannot change them (allowed with it: --epochs, --backend, --data-dir, --quiet, --min-accuracy)`,
    );
  const { dir, checkpoint } = RunFolder.locate(resumeArg);
  const file = join(dir, RUN_FILES.config);
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as RunConfig;
  } catch (e) {
    throw new UsageError(
      `--resume ${quote(resumeArg)}: ${file} cannot be read as JSON (${(e as Error).message.split('\n')[0]})`,
    );
  }
  if (
    cfg === null ||
    typeof cfg !== 'object' ||
    typeof cfg.model !== 'string' ||
    !(DATASETS as readonly string[]).includes(cfg.dataset)
  ) {
    throw new UsageError(
      `--resume ${quote(resumeArg)}: ${file} is not the config.json of a cnn run (no model or dataset)`,
    );
  }
  if (values.epochs !== undefined) cfg.epochs = int(values, 'epochs', cfg.epochs, 1, 100_000);
  if (values.backend !== undefined) cfg.backend = choice(values, 'backend', BACKEND_CHOICES, 'wasm');
  const dd = str(values, 'data-dir');
  if (dd !== undefined) cfg.dataDir = resolve(dd);
  return { cfg, dir, resume: { checkpoint } };
}

/** A checkpoint's extras as `cnn train` writes them: the best epoch and every epoch's record, without timing. */
interface RunExtras {
  best: BestSoFar;
  history: StoredRecord[];
}

function runExtras(extra: Record<string, unknown>): RunExtras {
  const b = extra.best as Partial<BestSoFar> | undefined;
  const best =
    b && typeof b.top1 === 'number' && Number.isInteger(b.epoch)
      ? { top1: b.top1, epoch: b.epoch! }
      : { top1: -1, epoch: 0 };
  const history = Array.isArray(extra.history)
    ? (extra.history as unknown[]).filter(
        (r): r is StoredRecord => r !== null && typeof r === 'object' && Number.isInteger((r as StoredRecord).epoch),
      )
    : [];
  return { best, history };
}

/** Where a run starts: its epoch and step, and the extras of its checkpoint. */
interface StartingPoint {
  initialEpoch: number;
  globalStep: number;
  extras: RunExtras;
}

/**
 * Gets the run folder ready and says where training starts: a new folder (`--out`), a resumed checkpoint restored
 * into the model, optimizer, scheduler and random state, or from scratch for a run killed before its first
 * checkpoint. The folder is put right (see RunFolder.recover) only after the checkpoint restored without error.
 */
async function startRun(
  folder: RunFolder,
  plan: RunPlan,
  targets: { model: Module; optimizer: Optimizer; scheduler: LRScheduler },
  notice: (s: string) => void,
): Promise<StartingPoint> {
  const fresh: StartingPoint = {
    initialEpoch: 0,
    globalStep: 0,
    extras: { best: { top1: -1, epoch: 0 }, history: [] },
  };
  if (!plan.resume) {
    await folder.prepareNew(plan.cfg);
    return fresh;
  }
  const file = plan.resume.checkpoint;
  if (file === undefined) {
    notice(
      `no checkpoint in ${plan.dir} yet (the run was killed before its first epoch ended): starting it from scratch with its ${RUN_FILES.config}`,
    );
    await folder.recover(undefined);
    await folder.writeConfig(plan.cfg);
    return fresh;
  }
  let bytes: Uint8Array;
  let ck: Awaited<ReturnType<typeof restoreCheckpoint>>;
  try {
    bytes = await readFileBytes(file); // a regular file only: a FIFO or a device is refused, never read forever
    ck = await restoreCheckpoint(bytes, targets);
  } catch (e) {
    throw new Error(`cannot resume from ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (ck.randomState !== undefined) setRandomState(ck.randomState);
  const extras = runExtras(ck.extra);
  const logged = await folder.recover({ file, bytes, epoch: ck.epoch, ...extras });
  // Checkpoints keep every epoch's record; one made before they did gets them from metrics.jsonl.
  if (!sameEpochs(extras.history, ck.epoch)) extras.history = logged.map(storedRecord);
  await folder.writeConfig(plan.cfg);
  return { initialEpoch: ck.epoch, globalStep: ck.globalStep, extras };
}

/** Runs `cnn train`; returns the exit code. */
export async function cmdTrain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, TRAIN_OPTIONS, 'train');
  if (values.help) {
    console.log(HELP_TRAIN);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `cnn train takes no positional arguments, got ${quote(positionals[0]!)} (see cnn train --help)`,
    );
  checkTestHooks();
  const plan = planRun(values);
  const { cfg, resume } = plan;
  const minAccuracy = num(values, 'min-accuracy', undefined, 0, 1);
  const threads = threadsFlag(values);
  const workers = workersFlag(values);
  const quiet = values.quiet === true;
  const say = (s: string) => {
    if (!quiet) console.log(s);
  };
  const notice = (s: string) => console.error(`cnn train: ${s}`);
  if (workers !== undefined && cfg.dataset !== 'folder')
    notice(`--workers only matters for --dataset folder (${cfg.dataset} is held in memory)`);

  if (threads !== undefined) await setThreads(threads);
  await setBackend(cfg.backend);
  // The initial weights: a new fine-tuning run, or one killed before its first checkpoint (it starts again from them).
  let opened: OpenedInitial | undefined;
  const reopen = cfg.init && resume && resume.checkpoint === undefined ? cfg.init : undefined;
  const initial =
    plan.initial ??
    (reopen
      ? { kind: reopen.kind, source: reopen.source, ...(reopen.weights ? { weights: reopen.weights } : {}) }
      : undefined);
  if (initial) opened = await openInitial(initial, cfg.model === '' ? undefined : cfg.model);
  let model: ImageClassifier | undefined = opened?.model;
  try {
    if (opened && plan.initial) {
      cfg.init = opened.init;
      cfg.model = opened.init.id;
      if (values['image-size'] === undefined) cfg.imageSize = opened.init.inputSize[0];
    }
    const dir = plan.dir ?? newRunDir(cfg, undefined);
    const init = cfg.init;
    const spec = datasetSpec(cfg.dataset);
    const channels = init?.inputSize[2] ?? spec.channels;
    if (channels !== spec.channels && cfg.dataset !== 'folder')
      throw new UsageError(
        `${init!.source} takes ${channels}-channel images, --dataset ${cfg.dataset} has ${spec.channels}; fine-tune it on a folder dataset (decoded to ${channels} channels)`,
      );
    const stats = init ? { mean: init.mean, std: init.std } : spec.stats;
    const common = {
      size: cfg.imageSize,
      ...(init ? { channels: init.inputSize[2] as 1 | 3, stats, exactResize: init.exactResize } : {}),
      ...(workers !== undefined ? { workers } : {}),
    };
    const train = testSubset(
      await loadSplit(cfg.dataset, cfg.dataDir, true, {
        ...common,
        augment: cfg.augment,
        ...(cfg.colorJitter ? { colorJitter: cfg.colorJitter } : {}),
      }),
      true,
    );
    const test = testSubset(
      await loadSplit(cfg.dataset, cfg.dataDir, false, { ...common, augment: false, classes: train.classes }),
      false,
    );
    const numClasses = int(values, 'num-classes', train.classes.length, 1, 100_000);
    if (numClasses !== train.classes.length)
      throw new UsageError(
        `--num-classes ${numClasses}, but --dataset ${cfg.dataset} has ${train.classes.length} classes (${train.classes.slice(0, 5).join(', ')}${train.classes.length > 5 ? ', ...' : ''})`,
      );
    const info: ModelInfo = {
      id: cfg.model,
      numClasses,
      inputSize: [cfg.imageSize, cfg.imageSize, channels],
      mean: [...stats.mean],
      std: [...stats.std],
      classes: [...train.classes],
      dataset: cfg.dataset,
      ...(init?.exactResize && cfg.dataset === 'folder' ? { exactResize: true } : {}),
    };
    // A --freeze that names no parameter is refused before anything else is said (the head keeps its name).
    if (opened && cfg.freeze !== undefined) freezeRule(opened.model, cfg.freeze);
    manualSeed(cfg.seed);
    if (opened)
      fitHead(
        opened.model,
        numClasses,
        init!.kind === 'pretrained' ? `--pretrained ${init!.source}` : init!.source,
        notice,
      );
    else model = buildModel(info, init?.modelOptions);
    const net = model!;
    try {
      tf.tidy(() => {
        net.eval();
        net.call(tf.zeros([1, ...info.inputSize]));
      });
    } catch (e) {
      throw new UsageError(
        `model ${quote(cfg.model)} cannot take ${info.inputSize.join('x')} images (${(e as Error).message.split('\n')[0]}); try a larger --image-size, e.g. ${datasetSpec('folder').size}`,
      );
    }
    if (cfg.freeze !== undefined) say(`cnn train: ${applyFreeze(net, cfg.freeze).line}`);
    const groups = cfg.backboneLrScale !== undefined ? [backboneGroup(net, cfg.lr, cfg.backboneLrScale)] : [];
    return await trainRun({ plan, cfg, dir, model: net, groups, info, train, test, minAccuracy, quiet, say, notice });
  } finally {
    model?.dispose();
  }
}

/** Everything {@link trainRun} needs: the plan, the model built and its data. */
interface RunParts {
  plan: RunPlan;
  cfg: RunConfig;
  dir: string;
  model: ImageClassifier;
  groups: ParamGroupRule[];
  info: ModelInfo;
  train: Awaited<ReturnType<typeof loadSplit>>;
  test: Awaited<ReturnType<typeof loadSplit>>;
  minAccuracy: number | undefined;
  quiet: boolean;
  say: (s: string) => void;
  notice: (s: string) => void;
}

/** Trains the run into its folder and evaluates it; returns the exit code. */
async function trainRun(parts: RunParts): Promise<number> {
  const { plan, cfg, dir, model, groups, info, train, test, minAccuracy, quiet, say, notice } = parts;
  const { resume } = plan;
  plan.dir = dir;
  const trainLoader = new DataLoader(train, {
    batchSize: cfg.batchSize,
    shuffle: true,
    seed: cfg.seed,
    batchTransform: mixing(cfg),
  });
  const testLoader = new DataLoader(test, { batchSize: Math.max(cfg.batchSize, 256) });
  const optimizer = makeOptimizer(cfg, model, groups);
  try {
    const scheduler = new LRScheduler(optimizer, makeSchedule(cfg, trainLoader.length)!, { by: 'iter' });
    const meta = { [MODEL_META_KEY]: JSON.stringify(info) };
    const folder = new RunFolder(dir, { notice, pictures: curves, logs: [METRICS_LOG, SUMMARY_LOG] });

    const { initialEpoch, globalStep, extras } = await startRun(folder, plan, { model, optimizer, scheduler }, notice);
    if (initialEpoch >= cfg.epochs)
      say(`the run in ${dir} already has ${initialEpoch} of ${cfg.epochs} epochs; pass a larger --epochs to train on`);
    let best = extras.best;
    const stored = extras.history;

    const bi = backendInfo();
    say(
      `cnn train: ${cfg.model} on ${cfg.dataset} (${train.length} training / ${test.length} test images, ${info.inputSize.join('x')}), ` +
        `${cfg.optimizer} lr ${cfg.lr}${cfg.backboneLrScale !== undefined ? ` (backbone x${cfg.backboneLrScale})` : ''} ${cfg.schedule}, batch ${cfg.batchSize}, ${cfg.epochs} epochs, seed ${cfg.seed}; ` +
        `backend ${bi.backend}${bi.simd ? ' SIMD' : ''}, ${bi.threads} thread${bi.threads === 1 ? '' : 's'}`,
    );
    if (cfg.init)
      say(
        `fine-tuning from ${cfg.init.kind === 'pretrained' ? `--pretrained ${cfg.init.source}${cfg.init.weights ? ` (${cfg.init.weights})` : ''}` : cfg.init.source}`,
      );
    if (resume?.checkpoint) say(`resuming from ${resume.checkpoint} after epoch ${initialEpoch}`);
    say(`run folder: ${dir}`);

    const trainer = new Trainer({
      model,
      optimizer,
      scheduler,
      numClasses: info.numClasses,
      classNames: info.classes,
      labelSmoothing: cfg.labelSmoothing,
      log: quiet ? 'quiet' : undefined,
      callbacks: {
        onEpochEnd: async (record) => {
          const improved = (record.valTop1 ?? -1) > best.top1;
          if (improved) best = { top1: record.valTop1!, epoch: record.epoch };
          stored.push(storedRecord(record));
          const checkpoint = encodeCheckpoint({
            model,
            optimizer,
            scheduler,
            epoch: record.epoch,
            globalStep: trainer.globalStep,
            randomState: getRandomState(),
            extra: { best, history: stored } satisfies RunExtras,
            metadata: meta,
          });
          await folder.commitEpoch(record, checkpoint, improved);
        },
      },
    });
    trainer.globalStep = globalStep;
    if (initialEpoch < cfg.epochs)
      await trainer.fit(trainLoader, { epochs: cfg.epochs, initialEpoch, valLoader: testLoader });
    const result = await trainer.evaluate(testLoader);
    const epoch = Math.max(initialEpoch, folder.history.at(-1)?.epoch ?? 0);
    await folder.writeEvaluation(
      { epoch, ...result },
      confusionMatrixSvg(result.matrix, info.classes, `${cfg.model} on ${cfg.dataset}: confusion matrix (test)`),
    );
    for (const line of finalLines(result, folder.history, epoch, best, dir, info.numClasses)) console.log(line);
    if (minAccuracy !== undefined && result.top1 < minAccuracy) {
      console.error(`cnn train: test accuracy ${result.top1.toFixed(4)} is below --min-accuracy ${minAccuracy}`);
      return 1;
    }
    return 0;
  } finally {
    optimizer.dispose();
  }
}

/** Whether `history` holds exactly the records of epochs 1..k, in order. */
function sameEpochs(history: readonly StoredRecord[], k: number): boolean {
  return history.length === k && history.every((r, i) => r.epoch === i + 1);
}
