// A training loop for image classifiers: fit / evaluate on a Module and batches from any (async) iterable, with
// callbacks, a terminal progress bar or one line per epoch, top-1 / top-5 accuracy, a confusion matrix, a stop on
// non-finite loss that names the step, optional gradient clipping, and no tensor left behind.
import { tf, type Tensor } from '@cnn/tensor';
import type { Module } from '@cnn/layers';
import { crossEntropy } from './loss';
import { clipGradNorm } from './clip';
import { keepFrozenNormsInEval } from './freeze';
import { ConfusionMatrix, topkCorrect } from './metrics';
import type { Optimizer } from './optim/optimizer';
import type { LRScheduler } from './schedule';
import { ProgressPrinter, type TrainerLog } from './trainer-progress';

export type { TrainerLog } from './trainer-progress';

/**
 * One batch as the {@link Trainer} consumes it: images `x` and labels `y` (int32 class indices `[n]`, or float32
 * soft targets `[n, c]`). `@cnn/datasets`' `DataLoader` batches have this shape. When `dispose` is present the
 * trainer calls it once it is done with the batch; without it the tensors stay the caller's.
 */
export interface TrainerBatch {
  /** Images, NHWC. */
  x: Tensor;
  /** Labels: int32 class indices `[n]` or float32 soft targets `[n, c]`. */
  y: Tensor;
  /** Frees the batch's tensors; the trainer calls it once the step is done. */
  dispose?: () => void;
}

/**
 * Where batches come from: any async or sync iterable of {@link TrainerBatch}, iterated once per epoch. A numeric
 * `length` (batches per epoch), when present, lets the progress bar show the total and an ETA. A source with an
 * `epoch(index)` method (`@cnn/datasets`' `DataLoader` has one) is asked for epoch `e - 1`'s batches in epoch `e`,
 * so every epoch sees its own seeded order whether the run started at epoch 1 or resumed later
 * ({@link FitOptions.initialEpoch}).
 */
export type BatchSource = (AsyncIterable<TrainerBatch> | Iterable<TrainerBatch>) & {
  /** Batches per epoch, when known (for the progress bar). */
  readonly length?: number;
  /** The batches of one epoch (0-based), when the source can replay any epoch (the `DataLoader` can). */
  epoch?: (index: number) => AsyncIterable<TrainerBatch> | Iterable<TrainerBatch>;
};

/** A loss on a batch: logits `[n, c]` and the batch's labels to a scalar. */
export type TrainerLoss = (logits: Tensor, y: Tensor) => Tensor;

/** What {@link TrainerCallbacks.onStepEnd} receives after every optimizer step. */
export interface StepInfo {
  /** Epoch of this fit, from 1. */
  epoch: number;
  /** Step within the epoch, from 1. */
  step: number;
  /** Steps since this trainer was built, from 1. */
  globalStep: number;
  /** Loss of the batch. */
  loss: number;
  /** Top-1 accuracy of the batch (before the step). */
  acc: number;
  /** Images in the batch. */
  batchSize: number;
  /** Learning rate the step used (group 0). */
  lr: number;
  /** Total gradient norm before clipping, when `clipGradNorm` is set. */
  gradNorm?: number;
}

/** One epoch of {@link Trainer.fit}'s history. */
export interface EpochRecord {
  /** Epoch of this fit, from 1. */
  epoch: number;
  /** Mean training loss over the epoch's images. */
  trainLoss: number;
  /** Training top-1 accuracy over the epoch (measured in train mode, before each step). */
  trainAcc: number;
  /** Validation loss (when a `valLoader` was given). */
  valLoss?: number;
  /** Validation top-1 accuracy (when a `valLoader` was given). */
  valTop1?: number;
  /** Validation top-5 accuracy (when a `valLoader` was given). */
  valTop5?: number;
  /** Learning rate of the epoch's last step (group 0), before any per-epoch scheduler step. */
  lr: number;
  /** Training images per second (the training pass only). */
  imagesPerSecond: number;
  /** Wall-clock seconds of the epoch, validation included. */
  seconds: number;
  /** Optimizer steps in the epoch. */
  steps: number;
  /** Training images in the epoch. */
  images: number;
}

/** What {@link Trainer.evaluate} returns. */
export interface EvaluateResult {
  /** Mean loss over the images. */
  loss: number;
  /** Top-1 accuracy. */
  top1: number;
  /** Top-5 accuracy (counts every sample when there are at most 5 classes; the progress line calls it top-k, k = min(5, classes)). */
  top5: number;
  /** Number of images. */
  total: number;
  /** The confusion matrix's report: accuracy, macro and per-class precision, recall, F1 and support. */
  confusion: ReturnType<ConfusionMatrix['report']>;
  /** The counts, rows true class, columns predicted. */
  matrix: number[][];
}

/**
 * Hooks into {@link Trainer.fit}, called in this order: `onTrainBegin`, then per epoch `onEpochBegin`,
 * `onStepEnd` after each step, `onEpochEnd` (after validation); finally `onTrainEnd`. Each may be async; the
 * trainer awaits it. A callback may call {@link Trainer.stop} to end training after the current epoch.
 */
export interface TrainerCallbacks {
  /** Before the first epoch. */
  onTrainBegin?: (info: { epochs: number }) => void | Promise<void>;
  /** At the start of every epoch (`epoch` counts from 1). */
  onEpochBegin?: (info: { epoch: number; epochs: number }) => void | Promise<void>;
  /** After every optimizer step. */
  onStepEnd?: (info: StepInfo) => void | Promise<void>;
  /** After every epoch and its validation, with the epoch's record. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** After the last epoch (or an early stop), with the whole history. */
  onTrainEnd?: (history: EpochRecord[]) => void | Promise<void>;
}

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /** The model: `call(x)` gives logits `[n, numClasses]`. */
  model: Module;
  /** Steps the model's parameters (SGD, Adam, AdamW, ...). */
  optimizer: Optimizer;
  /** Applied after every step (`by: 'iter'`) or every epoch (`by: 'epoch'`). */
  scheduler?: LRScheduler;
  /** The loss (default {@link crossEntropy} with `labelSmoothing`). */
  loss?: TrainerLoss;
  /** Label smoothing of the default loss (default 0). Ignored with a custom `loss`. */
  labelSmoothing?: number;
  /** Number of classes, for the confusion matrix. */
  numClasses: number;
  /** Class names, for the confusion matrix report. */
  classNames?: string[];
  /** Clip the gradients' total 2-norm to this value before each step ({@link clipGradNorm}). */
  clipGradNorm?: number;
  /**
   * Progress output: `'bar'` (a single line redrawn with `\r`), `'lines'` (one line per epoch) or `'quiet'`.
   * Default `'bar'` when `process.stdout` is a TTY, else `'lines'`.
   */
  log?: TrainerLog;
  /** Where progress goes (default `process.stdout.write`). */
  write?: (s: string) => void;
  /** Hooks, see {@link TrainerCallbacks}. */
  callbacks?: TrainerCallbacks;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** The last epoch to run (a positive integer): the fit runs epochs `initialEpoch + 1` to `epochs`. */
  epochs: number;
  /**
   * Epochs already done, when resuming from a checkpoint (default 0). Epoch numbers in the history, the callbacks
   * and the progress output continue from it.
   */
  initialEpoch?: number;
  /** Evaluated after every epoch; its results go in the history as `valLoss`, `valTop1`, `valTop5`. */
  valLoader?: BatchSource;
}

/**
 * Trains and evaluates a classifier.
 *
 * Each step runs the model in train mode (normalisation layers frozen by {@link freeze} stay in evaluation mode and
 * keep their running statistics), the loss, the gradients (`tf.variableGrads` over the trainable
 * parameters), optional clipping, `optimizer.step`, then the scheduler if it runs per iteration; every tensor of the
 * step is disposed, and so is each batch (its `dispose()`). A NaN or infinite loss throws, before the step, an
 * error naming the epoch, the step and the value. With the same seeds (`manualSeed` before building the model, the
 * loader's `seed`) two runs on the same backend end with bit-identical weights: the trainer draws no random numbers.
 *
 * @example
 * const trainer = new Trainer({ model, optimizer: new AdamW(model, { lr: 2e-3 }), numClasses: 10 });
 * const history = await trainer.fit(trainLoader, { epochs: 5, valLoader: testLoader });
 * const { top1, top5, confusion } = await trainer.evaluate(testLoader);
 */
export class Trainer {
  /** The model being trained. */
  readonly model: Module;
  /** Its optimizer. */
  readonly optimizer: Optimizer;
  /** Its scheduler, if any. */
  readonly scheduler?: LRScheduler;
  /** Number of classes. */
  readonly numClasses: number;
  /** Optimizer steps taken by this trainer. */
  globalStep = 0;
  private readonly lossFn: TrainerLoss;
  private readonly maxNorm?: number;
  private readonly classNames?: string[];
  private readonly callbacks: TrainerCallbacks;
  private readonly printer: ProgressPrinter;
  private stopRequested = false;

  /** A trainer; nothing runs until {@link Trainer.fit} or {@link Trainer.evaluate}. */
  constructor(opts: TrainerOptions) {
    if (!opts?.model || typeof opts.model.call !== 'function') throw new Error('Trainer: model must be a Module');
    if (!opts.optimizer || typeof opts.optimizer.step !== 'function')
      throw new Error('Trainer: optimizer must be an Optimizer');
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) {
      throw new Error(`Trainer: numClasses must be a positive integer, got ${String(opts.numClasses)}`);
    }
    if (opts.clipGradNorm !== undefined && !(typeof opts.clipGradNorm === 'number' && opts.clipGradNorm > 0)) {
      throw new Error(`Trainer: clipGradNorm must be a number > 0, got ${String(opts.clipGradNorm)}`);
    }
    const log = opts.log ?? defaultLog();
    if (log !== 'bar' && log !== 'lines' && log !== 'quiet')
      throw new Error(`Trainer: log must be 'bar', 'lines' or 'quiet', got ${String(log)}`);
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.scheduler = opts.scheduler;
    this.numClasses = opts.numClasses;
    this.classNames = opts.classNames;
    this.maxNorm = opts.clipGradNorm;
    this.callbacks = opts.callbacks ?? {};
    const smoothing = opts.labelSmoothing ?? 0;
    this.lossFn = opts.loss ?? ((logits, y) => crossEntropy(logits, y, { labelSmoothing: smoothing }));
    this.printer = new ProgressPrinter(log, opts.write ?? defaultWrite, Math.min(5, opts.numClasses));
  }

  /** Asks {@link Trainer.fit} to stop after the current epoch (for callbacks: early stopping and the like). */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Trains for `epochs` epochs over `trainLoader`, evaluating `valLoader` after each one.
   *
   * @returns the history, one {@link EpochRecord} per epoch run.
   * @throws when the loss is NaN or infinite (naming the epoch and step), or when the model, loss or optimizer throw.
   */
  async fit(trainLoader: BatchSource, opts: FitOptions): Promise<EpochRecord[]> {
    const epochs = opts?.epochs;
    if (!Number.isInteger(epochs) || epochs < 1)
      throw new Error(`Trainer.fit: epochs must be a positive integer, got ${String(epochs)}`);
    const initialEpoch = opts.initialEpoch ?? 0;
    if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch > epochs) {
      throw new Error(
        `Trainer.fit: initialEpoch must be an integer in [0, epochs = ${epochs}], got ${String(opts.initialEpoch)}`,
      );
    }
    const history: EpochRecord[] = [];
    this.stopRequested = false;
    await this.callbacks.onTrainBegin?.({ epochs });
    for (let epoch = initialEpoch + 1; epoch <= epochs; epoch++) {
      await this.callbacks.onEpochBegin?.({ epoch, epochs });
      const t0 = now();
      let train: Awaited<ReturnType<Trainer['trainEpoch']>>;
      try {
        train = await this.trainEpoch(trainLoader, epoch, epochs);
      } catch (err) {
        this.printer.abort();
        throw err;
      }
      const trainSeconds = (now() - t0) / 1000;
      const record: EpochRecord = {
        epoch,
        trainLoss: train.images === 0 ? NaN : train.lossSum / train.images,
        trainAcc: train.images === 0 ? 0 : train.correct / train.images,
        lr: train.lr,
        imagesPerSecond: trainSeconds > 0 ? train.images / trainSeconds : 0,
        seconds: 0,
        steps: train.steps,
        images: train.images,
      };
      if (opts.valLoader) {
        const val = await this.evaluate(opts.valLoader);
        record.valLoss = val.loss;
        record.valTop1 = val.top1;
        record.valTop5 = val.top5;
      }
      this.scheduler?.onEpochEnd();
      record.seconds = (now() - t0) / 1000;
      history.push(record);
      this.printer.epochEnd(record, epochs);
      await this.callbacks.onEpochEnd?.(record);
      if (this.stopRequested) break;
    }
    await this.callbacks.onTrainEnd?.(history);
    return history;
  }

  /**
   * Runs the model in eval mode over `loader` (its training mode is restored after) and measures the mean loss,
   * top-1 and top-5 accuracy and the confusion matrix.
   */
  async evaluate(loader: BatchSource): Promise<EvaluateResult> {
    const wasTraining = this.model.training;
    this.model.eval();
    const cm = new ConfusionMatrix(this.numClasses, this.classNames ? { classNames: this.classNames } : {});
    let lossSum = 0;
    let top1 = 0;
    let top5 = 0;
    let total = 0;
    try {
      for await (const batch of loader as AsyncIterable<TrainerBatch>) {
        try {
          const [logits, loss] = tf.tidy(() => {
            const out = this.model.call(batch.x);
            return [out, this.lossFn(out, batch.y)];
          });
          try {
            const reading = readToHost(logits, loss, batch.y);
            if (reading) await reading;
            const n = logits.shape[0];
            lossSum += loss.dataSync()[0] * n;
            const [c1, c5] = topkCorrect(logits, batch.y, [1, 5]);
            top1 += c1;
            top5 += c5;
            cm.update(logits, batch.y);
            total += n;
          } finally {
            tf.dispose([logits, loss]);
          }
        } finally {
          batch.dispose?.();
        }
      }
    } finally {
      this.model.train(wasTraining);
    }
    return {
      loss: total === 0 ? NaN : lossSum / total,
      top1: total === 0 ? 0 : top1 / total,
      top5: total === 0 ? 0 : top5 / total,
      total,
      confusion: cm.report(),
      matrix: cm.toArray(),
    };
  }

  private async trainEpoch(loader: BatchSource, epoch: number, epochs: number) {
    this.model.train();
    keepFrozenNormsInEval(this.model);
    const vars = this.model.parameters().filter((v) => v.trainable);
    const total = typeof loader.length === 'number' ? loader.length : undefined;
    let lossSum = 0;
    let correct = 0;
    let images = 0;
    let steps = 0;
    let lr = this.optimizer.lr;
    const t0 = now();
    this.printer.epochBegin();
    const source = typeof loader.epoch === 'function' ? loader.epoch(epoch - 1) : loader;
    for await (const batch of source as AsyncIterable<TrainerBatch>) {
      const step = steps + 1;
      let info: StepInfo;
      try {
        let batchCorrect = 0;
        let n = 0;
        let logits: Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          logits = tf.keep(this.model.call(batch.x));
          n = logits.shape[0];
          return this.lossFn(logits, batch.y) as tf.Scalar;
        }, vars);
        let lossValue: number;
        let gradNorm: number | undefined;
        try {
          const reading = readToHost(value, logits!, batch.y);
          if (reading) await reading;
          batchCorrect = topkCorrect(logits!, batch.y, [1])[0];
          lossValue = value.dataSync()[0];
          if (!Number.isFinite(lossValue)) {
            throw new Error(
              `Trainer.fit: the loss is ${lossValue} at epoch ${epoch}, step ${step} (global step ${this.globalStep + 1}); training stopped before this step's update`,
            );
          }
          if (this.maxNorm !== undefined) gradNorm = clipGradNorm(grads, this.maxNorm);
          lr = this.optimizer.lr;
          this.optimizer.step(grads);
        } finally {
          value.dispose();
          logits?.dispose();
          tf.dispose(Object.values(grads).filter((g): g is Tensor => g !== null));
        }
        this.globalStep += 1;
        this.scheduler?.onIterationEnd();
        steps = step;
        images += n;
        lossSum += lossValue * n;
        correct += batchCorrect;
        info = {
          epoch,
          step,
          globalStep: this.globalStep,
          loss: lossValue,
          acc: n === 0 ? 0 : batchCorrect / n,
          batchSize: n,
          lr,
        };
        if (gradNorm !== undefined) info.gradNorm = gradNorm;
      } finally {
        batch.dispose?.();
      }
      this.printer.step({
        epoch,
        epochs,
        step,
        total,
        loss: lossSum / images,
        acc: correct / images,
        imagesPerSecond: images / Math.max((now() - t0) / 1000, 1e-9),
        elapsed: (now() - t0) / 1000,
      });
      await this.callbacks.onStepEnd?.(info);
    }
    return { lossSum, correct, images, steps, lr };
  }
}

/** Backends whose synchronous reads (`dataSync()`) are plain copies out of memory the host already holds. */
const SYNC_READ_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * On a backend that is not in {@link SYNC_READ_BACKENDS} (WebGPU), reads tensors to the host with `await data()`, so
 * that the synchronous reads after it (`dataSync()` in the loss value and the metrics) find their values already
 * there: on WebGPU a synchronous read is a canvas round trip that some adapters answer with zeros, or lose the device
 * over (Chromium's SwiftShader); the asynchronous read maps a buffer and is right everywhere. On wasm and cpu it does
 * nothing (nothing to await, no second copy per step): the synchronous reads after it are the only reads.
 */
function readToHost(...tensors: Array<Tensor | unknown>): Promise<unknown> | undefined {
  if (SYNC_READ_BACKENDS.has(tf.getBackend())) return undefined;
  return Promise.all(tensors.filter((t): t is Tensor => t instanceof tf.Tensor).map((t) => t.data()));
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

function defaultLog(): TrainerLog {
  return typeof process !== 'undefined' && process.stdout?.isTTY ? 'bar' : 'lines';
}

function defaultWrite(s: string): void {
  if (typeof process !== 'undefined' && process.stdout) process.stdout.write(s);
  else console.log(s.replace(/^\r|\n$/g, ''));
}
