// The Trainer: LeNet-5 learns on a subset of the embedded Fashion-MNIST sample, the history and evaluate's
// confusion matrix add up, a NaN loss stops training naming the step, the live tensor count stays flat across
// epochs, seeded runs end with bit-identical weights, the progress output, callbacks in order, schedules.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import { AvgPool2d, Conv2d, Flatten, Linear, manualSeed, Sequential, Tanh } from '@cnn/layers';
import { Compose, DataLoader, FashionMNIST, Normalize, ToTensor, type Dataset, type Sample } from '@cnn/datasets';
import {
  Adam,
  LRScheduler,
  SGD,
  StepLR,
  Trainer,
  crossEntropy,
  formatBar,
  type EpochRecord,
  type TrainerBatch,
} from '../src/index';

/** LeNet-5 for 28x28 inputs, as `@cnn/models-classic`'s `lenet5({ inputSize: 28 })`. */
function lenet5(): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2 }),
    new Tanh(),
    new AvgPool2d(2),
    new Conv2d(6, 16, 5),
    new Tanh(),
    new AvgPool2d(2),
    new Conv2d(16, 120, 5),
    new Tanh(),
    new Flatten(),
    new Linear(120, 84),
    new Tanh(),
    new Linear(84, 10),
  );
}

/** `n` items spread evenly over `ds` (the sample is grouped by class, so every class is represented). */
function subset(ds: Dataset<Sample>, n: number): Dataset<Sample> {
  const stride = ds.length / n;
  return {
    length: n,
    classes: ds.classes,
    stats: ds.stats,
    get: (i, rng) => ds.get(Math.floor(i * stride), rng),
  };
}

let train: Dataset<Sample>;
let test: Dataset<Sample>;

beforeAll(async () => {
  await setBackend('wasm');
  const { mean, std } = FashionMNIST.STATS;
  const transform = new Compose([new ToTensor(), new Normalize(mean, std)]);
  train = subset(await FashionMNIST.sample({ train: true, transform }), 512);
  test = subset(await FashionMNIST.sample({ train: false, transform }), 500);
});

/** A tiny linearly separable problem: 4 features, 3 classes, batches of 8 (the tensors stay the test's). */
function tinyBatches(count: number): TrainerBatch[] {
  const out: TrainerBatch[] = [];
  for (let b = 0; b < count; b++) {
    const y = Array.from({ length: 8 }, (_, i) => (b + i) % 3);
    const x = y.flatMap((c, i) => [c === 0 ? 2 : -1, c === 1 ? 2 : -1, c === 2 ? 2 : -1, ((b * 8 + i) % 5) / 5]);
    out.push({ x: tf.tensor2d(x, [8, 4]), y: tf.tensor1d(y, 'int32') });
  }
  return out;
}

function tinyModel(): Sequential {
  manualSeed(3);
  return new Sequential(new Linear(4, 8), new Tanh(), new Linear(8, 3));
}

describe('Trainer on LeNet-5 and the Fashion-MNIST sample', () => {
  it('learns: val top-1 well above chance after 2 short epochs; history and evaluate add up; one line per epoch', async () => {
    manualSeed(0);
    const model = lenet5();
    const optimizer = new Adam(model, { lr: 2e-3 });
    const out: string[] = [];
    const trainer = new Trainer({
      model,
      optimizer,
      numClasses: 10,
      log: 'lines',
      write: (s) => out.push(s),
      classNames: [...train.classes],
    });
    const trainLoader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1 });
    const valLoader = new DataLoader(test, { batchSize: 250 });
    const history = await trainer.fit(trainLoader, { epochs: 2, valLoader });

    expect(history).toHaveLength(2);
    for (const [i, r] of history.entries()) {
      expect(r.epoch).toBe(i + 1);
      expect(r.steps).toBe(16);
      expect(r.images).toBe(512);
      expect(Number.isFinite(r.trainLoss)).toBe(true);
      expect(r.trainAcc).toBeGreaterThanOrEqual(0);
      expect(r.trainAcc).toBeLessThanOrEqual(1);
      expect(r.lr).toBe(2e-3);
      expect(r.imagesPerSecond).toBeGreaterThan(0);
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.valTop5!).toBeGreaterThanOrEqual(r.valTop1!);
      expect(Number.isFinite(r.valLoss!)).toBe(true);
    }
    expect(history[1].trainLoss).toBeLessThan(history[0].trainLoss);
    expect(history[1].valTop1!).toBeGreaterThan(0.5);
    expect(trainer.globalStep).toBe(32);

    const ev = await trainer.evaluate(valLoader);
    expect(ev.total).toBe(500);
    expect(ev.matrix.flat().reduce((a, b) => a + b, 0)).toBe(500);
    expect(ev.confusion.total).toBe(500);
    expect(ev.confusion.perClass.map((c) => c.name)).toEqual([...train.classes]);
    expect(ev.confusion.perClass.reduce((a, c) => a + c.support, 0)).toBe(500);
    expect(ev.top1).toBeCloseTo(history[1].valTop1!, 12);
    expect(ev.confusion.accuracy).toBeCloseTo(ev.top1, 12);
    const f1s = ev.confusion.perClass.map((c) => c.f1);
    expect(ev.confusion.macro.f1).toBeCloseTo(f1s.reduce((a, b) => a + b, 0) / 10, 12);
    expect(model.training).toBe(true);

    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /^epoch 1\/2 {2}loss \d+\.\d{4} {2}acc \d\.\d{4} {2}val_loss \d+\.\d{4} {2}val_top1 \d\.\d{4} {2}val_top5 \d\.\d{4} {2}lr 2\.00e-3 {2}\d+ img\/s {2}\d+\.\ds\n$/,
    );
    expect(out[1]).toMatch(/^epoch 2\/2 /);
    optimizer.dispose();
    model.dispose();
  });

  it('repeats exactly: two seeded runs end with bit-identical weights', async () => {
    const run = async (loaderSeed = 7): Promise<Uint8Array> => {
      manualSeed(42);
      const model = lenet5();
      const optimizer = new SGD(model, { lr: 0.05, momentum: 0.9 });
      const trainer = new Trainer({ model, optimizer, numClasses: 10, log: 'quiet', clipGradNorm: 5 });
      await trainer.fit(new DataLoader(train, { batchSize: 64, shuffle: true, seed: loaderSeed }), { epochs: 1 });
      const bytes = model.saveWeights();
      optimizer.dispose();
      model.dispose();
      return bytes;
    };
    const a = await run();
    const b = await run();
    expect(a.length).toBeGreaterThan(0);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const other = await run(8); // another order: the comparison is not vacuous
    expect(Buffer.from(a).equals(Buffer.from(other))).toBe(false);
  });
});

describe('Trainer on a tiny problem', () => {
  it('keeps the live tensor count flat across epochs (clipping, per-iteration schedule, validation)', async () => {
    const batches = tinyBatches(4);
    const model = tinyModel();
    const optimizer = new Adam(model, { lr: 0.01 });
    const scheduler = new LRScheduler(optimizer, new StepLR({ stepSize: 3, gamma: 0.5 }), { by: 'iter' });
    const counts: number[] = [];
    const trainer = new Trainer({
      model,
      optimizer,
      scheduler,
      numClasses: 3,
      clipGradNorm: 0.1,
      labelSmoothing: 0.1,
      log: 'quiet',
      callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) },
    });
    const history = await trainer.fit(batches, { epochs: 4, valLoader: batches });
    expect(counts).toHaveLength(4);
    expect(counts.every((c) => c === counts[0])).toBe(true);
    // lr of each epoch's last step: the schedule steps after every one of the 4 steps per epoch (at steps 3, 6, ...).
    expect(history.map((r) => r.lr)).toEqual([0.01 * 0.5, 0.01 * 0.5 ** 2, 0.01 * 0.5 ** 3, 0.01 * 0.5 ** 5]);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });

  it('reads each step synchronously on wasm and cpu: no data() per step, the same history as before', async () => {
    const histories: number[][] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await setBackend(backend);
      const onBackend = tinyBatches(3);
      const model = tinyModel();
      const optimizer = new SGD(model, { lr: 0.1, momentum: 0.9 });
      const trainer = new Trainer({ model, optimizer, numClasses: 3, log: 'quiet' });
      const data = tf.Tensor.prototype.data;
      let asyncReads = 0;
      tf.Tensor.prototype.data = function (this: Tensor, ...args: []) {
        asyncReads++;
        return data.apply(this, args);
      } as typeof data;
      try {
        const history = await trainer.fit(onBackend, { epochs: 2, valLoader: onBackend });
        histories.push(history.flatMap((r) => [r.trainLoss, r.trainAcc, r.valLoss ?? NaN, r.valTop1 ?? NaN]));
      } finally {
        tf.Tensor.prototype.data = data;
      }
      expect(asyncReads, backend).toBe(0);
      expect(histories.at(-1)?.every(Number.isFinite), backend).toBe(true);
      tf.dispose(onBackend.flatMap((b) => [b.x, b.y]));
      optimizer.dispose();
      model.dispose();
    }
    await setBackend('wasm');
    // The same losses and accuracies on both backends (tiny float32 model: equal to 1e-5).
    histories[0].forEach((v, i) => expect(Math.abs(v - histories[1][i]), `value ${i}`).toBeLessThan(1e-5));
  });

  it('stops on a NaN or infinite loss with an error naming the epoch and step, before that step updates', async () => {
    for (const bad of [NaN, Infinity]) {
      const batches = tinyBatches(4);
      const model = tinyModel();
      const optimizer = new SGD(model, { lr: 0.1 });
      let calls = 0;
      const loss = (logits: Tensor, y: Tensor): Tensor => {
        calls++;
        const l = crossEntropy(logits, y);
        return calls === 7 ? tf.mul(l, bad) : l; // epoch 2, step 3
      };
      const steps: string[] = [];
      const trainer = new Trainer({
        model,
        optimizer,
        loss,
        numClasses: 3,
        log: 'quiet',
        callbacks: { onStepEnd: (s) => void steps.push(`${s.epoch}:${s.step}`) },
      });
      const before = tf.memory().numTensors;
      await expect(trainer.fit(batches, { epochs: 3 })).rejects.toThrow(
        new RegExp(`loss is ${String(bad)} at epoch 2, step 3 \\(global step 7\\)`),
      );
      expect(steps).toEqual(['1:1', '1:2', '1:3', '1:4', '2:1', '2:2']);
      expect(trainer.globalStep).toBe(6);
      expect(optimizer.stateDict().steps).toBe(6);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(batches.flatMap((b) => [b.x, b.y]));
      optimizer.dispose();
      model.dispose();
    }
  });

  it('calls the callbacks in order, awaiting async ones, and stop() ends after the epoch', async () => {
    const batches = tinyBatches(2);
    const model = tinyModel();
    const optimizer = new SGD(model, { lr: 0.1 });
    const events: string[] = [];
    const trainer: Trainer = new Trainer({
      model,
      optimizer,
      numClasses: 3,
      log: 'quiet',
      callbacks: {
        onTrainBegin: ({ epochs }) => void events.push(`trainBegin ${epochs}`),
        onEpochBegin: ({ epoch }) => void events.push(`epochBegin ${epoch}`),
        onStepEnd: async (s) => {
          await new Promise((r) => setTimeout(r, 1));
          events.push(`step ${s.epoch}.${s.step} #${s.globalStep} n=${s.batchSize}`);
        },
        onEpochEnd: (r: EpochRecord) => {
          events.push(`epochEnd ${r.epoch}`);
          if (r.epoch === 2) trainer.stop();
        },
        onTrainEnd: (h) => void events.push(`trainEnd ${h.length}`),
      },
    });
    const history = await trainer.fit(batches, { epochs: 5 });
    expect(history).toHaveLength(2);
    expect(events).toEqual([
      'trainBegin 5',
      'epochBegin 1',
      'step 1.1 #1 n=8',
      'step 1.2 #2 n=8',
      'epochEnd 1',
      'epochBegin 2',
      'step 2.1 #3 n=8',
      'step 2.2 #4 n=8',
      'epochEnd 2',
      'trainEnd 2',
    ]);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });

  it('steps a per-epoch schedule once per epoch and records the lr each epoch used', async () => {
    const batches = tinyBatches(3);
    const model = tinyModel();
    const optimizer = new SGD(model, { lr: 0.1 });
    const scheduler = new LRScheduler(optimizer, new StepLR({ stepSize: 1, gamma: 0.5 }), { by: 'epoch' });
    const trainer = new Trainer({ model, optimizer, scheduler, numClasses: 3, log: 'quiet' });
    const history = await trainer.fit(batches, { epochs: 3 });
    expect(history.map((r) => r.lr)).toEqual([0.1, 0.05, 0.025]);
    expect(optimizer.lr).toBe(0.0125);
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });

  it("draws a '\\r' progress bar with ETA in 'bar' mode, and prints nothing in 'quiet' mode", async () => {
    const batches = tinyBatches(3);
    const model = tinyModel();
    const optimizer = new SGD(model, { lr: 0.1 });
    const source = Object.assign(batches.slice(), { length: 3 });
    let out = '';
    await new Trainer({ model, optimizer, numClasses: 3, log: 'bar', write: (s) => (out += s) }).fit(source, {
      epochs: 2,
    });
    expect(out.startsWith('\repoch 1/2 [')).toBe(true);
    expect(out).toMatch(/\repoch 1\/2 \[=+\] 3\/3 {2}loss \d\.\d{4} {2}acc \d\.\d{4} {2}\d+ img\/s {2}ETA 0:00/);
    expect(out).toMatch(/\repoch 1\/2 {2}loss .* {2}\d+\.\ds *\n\repoch 2\/2 \[/);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(3);

    let quiet = '';
    await new Trainer({ model, optimizer, numClasses: 3, log: 'quiet', write: (s) => (quiet += s) }).fit(batches, {
      epochs: 1,
    });
    expect(quiet).toBe('');
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });

  it('ends a half-drawn bar with a newline when training fails', async () => {
    const batches = tinyBatches(2);
    const model = tinyModel();
    const optimizer = new SGD(model, { lr: 0.1 });
    let calls = 0;
    const loss = (logits: Tensor, y: Tensor): Tensor =>
      ++calls === 2 ? tf.mul(crossEntropy(logits, y), NaN) : crossEntropy(logits, y);
    let out = '';
    const trainer = new Trainer({ model, optimizer, loss, numClasses: 3, log: 'bar', write: (s) => (out += s) });
    await expect(trainer.fit(batches, { epochs: 1 })).rejects.toThrow(/epoch 1, step 2/);
    expect(out).toMatch(/^\repoch 1\/1 \[=+> +\] 1\/2 {2}loss .*ETA \d+:\d\d\n$/); // an array's length is the total
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });

  it('formats the bar without a known length, and half-way with an ETA', () => {
    expect(formatBar({ epoch: 1, epochs: 3, step: 5, loss: 1, acc: 0.5, imagesPerSecond: 100.4, elapsed: 2 })).toBe(
      'epoch 1/3 step 5  loss 1.0000  acc 0.5000  100 img/s',
    );
    const half = formatBar({
      epoch: 2,
      epochs: 3,
      step: 10,
      total: 20,
      loss: 0.5,
      acc: 0.75,
      imagesPerSecond: 64,
      elapsed: 30,
    });
    expect(half).toBe(
      `epoch 2/3 [${'='.repeat(11)}>${' '.repeat(12)}] 10/20  loss 0.5000  acc 0.7500  64 img/s  ETA 0:30`,
    );
  });

  it('rejects bad options', () => {
    const model = tinyModel();
    const optimizer = new SGD(model, { lr: 0.1 });
    expect(() => new Trainer({ model, optimizer, numClasses: 0 })).toThrow(/numClasses/);
    expect(() => new Trainer({ model, optimizer, numClasses: 3, clipGradNorm: -1 })).toThrow(/clipGradNorm/);
    expect(() => new Trainer({ model, optimizer, numClasses: 3, log: 'loud' as 'bar' })).toThrow(/log/);
    const trainer = new Trainer({ model, optimizer, numClasses: 3, log: 'quiet' });
    return expect(trainer.fit([], { epochs: 0 })).rejects.toThrow(/epochs/);
  });
});
