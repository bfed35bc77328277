// `cnn train`: trains a registered model on a dataset into a run folder (configuration, metrics log, atomic best
// and last checkpoints, pictures), and `--resume` continues a run from its last checkpoint.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DataLoader } from '@cnn/datasets';
import { getRandomState, manualSeed, setRandomState } from '@cnn/layers';
import { backendInfo, setBackend, tf, type BackendName } from '@cnn/models-efficient';
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
  lineChartSvg,
  restoreCheckpoint,
  saveCheckpoint,
  withWarmup,
  writeFileAtomic,
  type EpochRecord,
  type LRSchedule,
  type Optimizer,
  type ParamsInput,
} from '@cnn/train';
import { UsageError, choice, int, num, parse, str } from './args';
import { DATASETS, datasetSpec, loadSplit, type DatasetName } from './data';
import { MODEL_META_KEY, buildModel, checkModelId, type ModelInfo } from './model-file';

export const HELP_TRAIN = `Usage: cnn train --model <id> --dataset <name> [options]
       cnn train --resume <run folder>

Trains a model of the zoo into a run folder: config.json, metrics.jsonl (one line per epoch), last.safetensors and
best.safetensors (model, optimizer, schedule, epoch and random state; written atomically), loss.svg, accuracy.svg,
confusion-matrix.svg and eval.json (the final test evaluation).

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
  --backend <name>         wasm | cuda | cpu | auto (default wasm)
  --out <dir>              the run folder (default runs/<model>-<dataset>-<time>)
  --resume <dir|file>      continue a run from its last checkpoint (its own settings; --epochs may raise the total)
  --min-accuracy <x>       exit with code 1 when the final test accuracy is below x
  --quiet                  no progress output, only the final lines`;

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
} as const;

/** Flags that may accompany --resume (the rest of the run's settings come from its config.json). */
const RESUME_FLAGS = new Set(['resume', 'epochs', 'backend', 'quiet', 'min-accuracy', 'data-dir']);
const BACKENDS = ['wasm', 'cuda', 'cpu', 'auto'] as const;

function configFromFlags(values: Record<string, string | boolean | undefined>): RunConfig {
  const model = str(values, 'model');
  const dataset = str(values, 'dataset');
  if (model === undefined) throw new UsageError("cnn train needs --model <id> (see 'cnn list')");
  if (dataset === undefined) throw new UsageError(`cnn train needs --dataset <${DATASETS.join('|')}>`);
  checkModelId(model);
  const ds = choice(values, 'dataset', DATASETS, 'fashion-mnist');
  const optimizer = choice(values, 'optimizer', ['sgd', 'adam', 'adamw'] as const, 'sgd');
  const epochs = int(values, 'epochs', 10, 1, 100_000);
  const cfg: RunConfig = {
    model,
    dataset: ds,
    epochs,
    batchSize: int(values, 'batch-size', 64, 1, 1 << 16),
    optimizer,
    lr: num(values, 'lr', optimizer === 'sgd' ? 0.05 : 2e-3, 0) as number,
    weightDecay: num(values, 'weight-decay', optimizer === 'sgd' ? 5e-4 : optimizer === 'adamw' ? 0.01 : 0, 0) as number,
    momentum: num(values, 'momentum', 0.9, 0, 1) as number,
    schedule: choice(values, 'schedule', ['cosine', 'step', 'multistep', 'constant'] as const, 'cosine'),
    warmup: int(values, 'warmup', 0, 0, epochs - 1),
    labelSmoothing: num(values, 'label-smoothing', 0, 0, 0.99) as number,
    augment: values.augment === true,
    imageSize: int(values, 'image-size', datasetSpec(ds).size, 8, 1024),
    seed: int(values, 'seed', 0, 0, 2 ** 31 - 1),
    backend: choice(values, 'backend', BACKENDS, 'wasm'),
  };
  if (!(cfg.lr > 0)) throw new UsageError(`--lr must be > 0, got ${cfg.lr}`);
  const dir = str(values, 'data-dir');
  if (dir !== undefined) cfg.dataDir = resolve(dir);
  return cfg;
}

function makeOptimizer(cfg: RunConfig, model: ParamsInput): Optimizer {
  const common = { lr: cfg.lr, weightDecay: cfg.weightDecay, noDecayOn: 'bn_bias' as const };
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
  else if (cfg.schedule === 'multistep') main = new MultiStepLR({ milestones: [Math.round(total * 0.5), Math.round(total * 0.75)], gamma: 0.1 });
  if (!main) main = { lrAt: (_t, base) => base };
  return warm > 0 ? withWarmup(main, { length: warm }) : main;
}

/** Where a --resume points: a run folder, or a checkpoint inside one. */
function resumeTarget(arg: string): { dir: string; checkpoint: string } {
  const p = resolve(arg);
  if (!existsSync(p)) throw new UsageError(`--resume '${arg}' does not exist`);
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  const checkpoint = statSync(p).isDirectory() ? join(p, 'last.safetensors') : p;
  if (!existsSync(checkpoint)) throw new UsageError(`--resume '${arg}': no checkpoint there yet (${checkpoint} is missing; the run ended before its first epoch)`);
  if (!existsSync(join(dir, 'config.json'))) throw new UsageError(`--resume '${arg}': ${join(dir, 'config.json')} is missing; is this a cnn run folder?`);
  return { dir, checkpoint };
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function readMetrics(dir: string, upToEpoch: number): EpochRecord[] {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EpochRecord)
    .filter((r) => r.epoch <= upToEpoch);
}

async function drawCurves(dir: string, history: EpochRecord[]): Promise<void> {
  const xs = (f: (r: EpochRecord) => number | undefined): Array<[number, number]> => history.map((r) => [r.epoch, f(r) ?? NaN]);
  await writeFileAtomic(join(dir, 'loss.svg'), lineChartSvg([
    { name: 'train loss', points: xs((r) => r.trainLoss) },
    { name: 'test loss', points: xs((r) => r.valLoss) },
  ], { title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy' }));
  await writeFileAtomic(join(dir, 'accuracy.svg'), lineChartSvg([
    { name: 'train top-1', points: xs((r) => r.trainAcc) },
    { name: 'test top-1', points: xs((r) => r.valTop1) },
  ], { title: 'Accuracy', xLabel: 'epoch', yLabel: 'top-1 accuracy' }));
}

/** Runs `cnn train`; returns the exit code. */
export async function cmdTrain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, TRAIN_OPTIONS, 'train');
  if (values.help) {
    console.log(HELP_TRAIN);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`cnn train takes no positional arguments, got '${positionals[0]}' (see cnn train --help)`);
  const resumeArg = str(values, 'resume');
  let cfg: RunConfig;
  let dir: string;
  let resumeFrom: string | undefined;
  if (resumeArg !== undefined) {
    const extra = Object.keys(values).filter((k) => values[k] !== undefined && !RESUME_FLAGS.has(k));
    if (extra.length) throw new UsageError(`--resume continues a run with its own settings; --${extra[0]} cannot change them (allowed with it: --epochs, --backend, --data-dir, --quiet, --min-accuracy)`);
    const t = resumeTarget(resumeArg);
    dir = t.dir;
    resumeFrom = t.checkpoint;
    cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig;
    if (values.epochs !== undefined) cfg.epochs = int(values, 'epochs', cfg.epochs, 1, 100_000);
    if (values.backend !== undefined) cfg.backend = choice(values, 'backend', BACKENDS, 'wasm');
    const dd = str(values, 'data-dir');
    if (dd !== undefined) cfg.dataDir = resolve(dd);
  } else {
    cfg = configFromFlags(values);
    dir = resolve(str(values, 'out') ?? join('runs', `${cfg.model}-${cfg.dataset}-${stamp()}`));
    if (existsSync(join(dir, 'config.json'))) throw new UsageError(`--out '${dir}' already holds a run; pick another folder, or continue it with --resume ${dir}`);
  }
  const minAccuracy = num(values, 'min-accuracy', undefined, 0, 1);
  const quiet = values.quiet === true;
  const say = (s: string) => {
    if (!quiet) console.log(s);
  };

  const spec = datasetSpec(cfg.dataset);
  const train = await loadSplit(cfg.dataset, cfg.dataDir, true, { size: cfg.imageSize, augment: cfg.augment });
  const test = await loadSplit(cfg.dataset, cfg.dataDir, false, { size: cfg.imageSize, augment: false, classes: train.classes });
  await setBackend(cfg.backend);
  const info: ModelInfo = {
    id: cfg.model,
    numClasses: train.classes.length,
    inputSize: [cfg.imageSize, cfg.imageSize, spec.channels],
    mean: [...spec.stats.mean],
    std: [...spec.stats.std],
    classes: [...train.classes],
    dataset: cfg.dataset,
  };
  manualSeed(cfg.seed);
  const model = buildModel(info);
  try {
    tf.tidy(() => {
      model.eval();
      model.call(tf.zeros([1, ...info.inputSize]));
    });
  } catch (e) {
    model.dispose();
    throw new UsageError(`model '${cfg.model}' cannot take ${info.inputSize.join('x')} images (${(e as Error).message.split('\n')[0]}); try a larger --image-size, e.g. ${datasetSpec('folder').size}`);
  }
  const trainLoader = new DataLoader(train, { batchSize: cfg.batchSize, shuffle: true, seed: cfg.seed });
  const testLoader = new DataLoader(test, { batchSize: Math.max(cfg.batchSize, 256) });
  const optimizer = makeOptimizer(cfg, model);
  const scheduler = new LRScheduler(optimizer, makeSchedule(cfg, trainLoader.length)!, { by: 'iter' });
  const meta = { [MODEL_META_KEY]: JSON.stringify(info) };

  let initialEpoch = 0;
  let globalStep = 0;
  let best = { top1: -1, epoch: 0 };
  if (resumeFrom) {
    // A run killed while writing leaves a hidden temporary file beside the intact checkpoint: clear those away.
    for (const f of readdirSync(dir)) if (/^\..+\.\d+\.\d+\.tmp$/.test(f)) rmSync(join(dir, f), { force: true });
    let ck: Awaited<ReturnType<typeof restoreCheckpoint>>;
    try {
      ck = await restoreCheckpoint(readFileSync(resumeFrom), { model, optimizer, scheduler });
    } catch (e) {
      throw new Error(`cannot resume from ${resumeFrom}: ${(e as Error).message}`);
    }
    if (ck.randomState !== undefined) setRandomState(ck.randomState);
    initialEpoch = ck.epoch;
    globalStep = ck.globalStep;
    const b = ck.extra.best as { top1: number; epoch: number } | undefined;
    if (b) best = b;
    if (initialEpoch >= cfg.epochs) {
      say(`the run in ${dir} already has ${initialEpoch} of ${cfg.epochs} epochs; pass a larger --epochs to train on`);
    }
  } else {
    mkdirSync(dir, { recursive: true });
  }
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  const history = readMetrics(dir, initialEpoch);
  await writeFileAtomic(join(dir, 'metrics.jsonl'), history.map((r) => JSON.stringify(r) + '\n').join(''));

  const bi = backendInfo();
  say(`cnn train: ${cfg.model} on ${cfg.dataset} (${train.length} training / ${test.length} test images, ${info.inputSize.join('x')}), ` +
    `${cfg.optimizer} lr ${cfg.lr} ${cfg.schedule}, batch ${cfg.batchSize}, ${cfg.epochs} epochs, seed ${cfg.seed}; ` +
    `backend ${bi.backend}${bi.simd ? ' SIMD' : ''}, ${bi.threads} thread${bi.threads === 1 ? '' : 's'}`);
  if (resumeFrom) say(`resuming from ${resumeFrom} after epoch ${initialEpoch}`);
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
        const parts = {
          model,
          optimizer,
          scheduler,
          epoch: record.epoch,
          globalStep: trainer.globalStep,
          randomState: getRandomState(),
          extra: { best, record },
          metadata: meta,
        };
        await saveCheckpoint(join(dir, 'last.safetensors'), parts);
        if (improved) await saveCheckpoint(join(dir, 'best.safetensors'), parts);
        history.push(record);
        await appendFile(join(dir, 'metrics.jsonl'), JSON.stringify(record) + '\n');
        await drawCurves(dir, history);
      },
    },
  });
  trainer.globalStep = globalStep;
  try {
    if (initialEpoch < cfg.epochs) await trainer.fit(trainLoader, { epochs: cfg.epochs, initialEpoch, valLoader: testLoader });
    const result = await trainer.evaluate(testLoader);
    await writeFileAtomic(join(dir, 'confusion-matrix.svg'), confusionMatrixSvg(result.matrix, info.classes, `${cfg.model} on ${cfg.dataset}: confusion matrix (test)`));
    await writeFileAtomic(join(dir, 'eval.json'), JSON.stringify({ epoch: Math.max(initialEpoch, history.at(-1)?.epoch ?? 0), ...result }, null, 2) + '\n');
    const seconds = history.reduce((a, r) => a + r.seconds, 0);
    const ips = history.length ? history.reduce((a, r) => a + r.images, 0) / history.reduce((a, r) => a + r.images / r.imagesPerSecond, 0) : 0;
    console.log(`test accuracy: ${result.top1.toFixed(4)} (top-5 ${result.top5.toFixed(4)}, loss ${result.loss.toFixed(4)}) after ${history.at(-1)?.epoch ?? initialEpoch} epochs; best ${best.top1.toFixed(4)} at epoch ${best.epoch}`);
    console.log(`training: ${seconds.toFixed(1)} s in all epochs, ${ips.toFixed(0)} images/s; run folder: ${dir}`);
    if (minAccuracy !== undefined && result.top1 < minAccuracy) {
      console.error(`cnn train: test accuracy ${result.top1.toFixed(4)} is below --min-accuracy ${minAccuracy}`);
      return 1;
    }
    return 0;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
