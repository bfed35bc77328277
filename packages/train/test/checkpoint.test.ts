// Checkpoints: a run stopped after epoch 1 and resumed from its checkpoint ends bit-identical to an uninterrupted
// one (model, BatchNorm statistics, optimizer buffers); the file loads as plain weights; mismatches are named before
// anything changes; atomic writes leave the old file whole when a write fails. Also the SVG pictures.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import {
  BatchNorm2d,
  CheckpointError,
  Conv2d,
  Flatten,
  Linear,
  ReLU,
  Sequential,
  AdaptiveAvgPool2d,
  getRandomState,
  loadWeights,
  manualSeed,
  readSafetensors,
  setRandomState,
  writeSafetensors,
  type RawTensor,
} from '@cnn/layers';
import { Compose, DataLoader, FashionMNIST, Normalize, ToTensor, type Dataset, type Sample } from '@cnn/datasets';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  LRScheduler,
  SGD,
  Trainer,
  checkpointInfo,
  confusionMatrixSvg,
  encodeCheckpoint,
  lineChartSvg,
  loadCheckpoint,
  niceTicks,
  restoreCheckpoint,
  saveCheckpoint,
  writeFileAtomic,
  removeTempFiles,
  isTempFileName,
  OPTIMIZER_PREFIX,
  CHECKPOINT_MAX_STATE_DEPTH,
  CheckpointError as TrainCheckpointError,
} from '../src/index';

/** A small conv net with BatchNorm (running statistics and a step counter: buffers a resume must carry). */
function net(): Sequential {
  return new Sequential(
    new Conv2d(1, 8, 3, { stride: 2 }),
    new BatchNorm2d(8),
    new ReLU(),
    new Conv2d(8, 16, 3, { stride: 2 }),
    new BatchNorm2d(16),
    new ReLU(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(16, 10),
  );
}

let train: Dataset<Sample>;

beforeAll(async () => {
  await setBackend('wasm');
  const { mean, std } = FashionMNIST.STATS;
  const full = await FashionMNIST.sample({
    train: true,
    transform: new Compose([new ToTensor(), new Normalize(mean, std)]),
  });
  train = {
    length: 384,
    classes: full.classes,
    stats: full.stats,
    get: (i, rng) => full.get(Math.floor((i * full.length) / 384), rng),
  };
});

function setup(kind: 'sgd' | 'adamw') {
  manualSeed(5);
  const model = net();
  const optimizer =
    kind === 'sgd'
      ? new SGD(model, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayOn: 'bn_bias' })
      : new AdamW(model, { lr: 3e-3 });
  const loader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 11 });
  const scheduler = new LRScheduler(optimizer, new CosineAnnealingLR({ tMax: 3 * loader.length }), { by: 'iter' });
  const trainer = new Trainer({ model, optimizer, scheduler, numClasses: 10, log: 'quiet' });
  return { model, optimizer, scheduler, loader, trainer };
}

function tensorsOf(bytes: Uint8Array): Map<string, Uint8Array> {
  const f = readSafetensors(bytes);
  return new Map(
    [...f.tensors].map(([k, t]) => [k, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]),
  );
}

describe('training checkpoints', () => {
  for (const kind of ['sgd', 'adamw'] as const) {
    it(`resuming after epoch 1 of 3 ends bit-identical to an uninterrupted run (${kind}, BatchNorm, cosine per iteration)`, async () => {
      const a = setup(kind);
      await a.trainer.fit(a.loader, { epochs: 3 });
      const straight = encodeCheckpoint({
        model: a.model,
        optimizer: a.optimizer,
        scheduler: a.scheduler,
        epoch: 3,
        globalStep: a.trainer.globalStep,
      });

      const b = setup(kind);
      await b.trainer.fit(b.loader, { epochs: 1 });
      const after1 = encodeCheckpoint({
        model: b.model,
        optimizer: b.optimizer,
        scheduler: b.scheduler,
        epoch: 1,
        globalStep: b.trainer.globalStep,
        randomState: getRandomState(),
        extra: { note: 'x' },
      });
      b.optimizer.dispose();
      b.model.dispose();

      manualSeed(999); // different initial weights: the checkpoint must overwrite all of them
      const c = setup(kind);
      const info = await restoreCheckpoint(after1, { model: c.model, optimizer: c.optimizer, scheduler: c.scheduler });
      expect(info).toMatchObject({
        version: 1,
        epoch: 1,
        globalStep: 12,
        extra: { note: 'x' },
        optimizer: kind === 'sgd' ? 'SGD' : 'AdamW',
      });
      c.trainer.globalStep = info.globalStep;
      const history = await c.trainer.fit(c.loader, { epochs: 3, initialEpoch: info.epoch });
      expect(history.map((r) => r.epoch)).toEqual([2, 3]);
      const resumed = encodeCheckpoint({
        model: c.model,
        optimizer: c.optimizer,
        scheduler: c.scheduler,
        epoch: 3,
        globalStep: c.trainer.globalStep,
      });

      const x = tensorsOf(straight);
      const y = tensorsOf(resumed);
      expect([...y.keys()]).toEqual([...x.keys()]);
      expect([...x.keys()].some((k) => k.startsWith(OPTIMIZER_PREFIX))).toBe(true);
      expect([...x.keys()]).toContain('1.running_var');
      for (const [k, v] of x) expect(Buffer.from(y.get(k)!).equals(Buffer.from(v)), k).toBe(true);
      expect(checkpointInfo(resumed).scheduler).toEqual(checkpointInfo(straight).scheduler);
      // The whole files too: the header holds nothing that differs between the two runs.
      expect(Buffer.from(resumed).equals(Buffer.from(straight))).toBe(true);
      // Not vacuous: one epoch fewer differs.
      expect(Buffer.from(tensorsOf(after1).get('0.weight')!).equals(Buffer.from(x.get('0.weight')!))).toBe(false);
      for (const s of [a, c]) {
        s.optimizer.dispose();
        s.model.dispose();
      }
    });
  }

  it('is plain weights to loadWeights (the optimizer buffers are left out)', async () => {
    const s = setup('sgd');
    await s.optimizer.minimize(() => tf.tidy(() => tf.mean(tf.square(s.model.call(tf.ones([2, 28, 28, 1]))))) as never);
    const bytes = encodeCheckpoint({ model: s.model, optimizer: s.optimizer, epoch: 0 });
    manualSeed(1);
    const other = net();
    const r = await loadWeights(other, bytes);
    expect(r.missing ?? []).toEqual([]);
    const w0 = s.model.stateDict().get('0.weight')!.dataSync();
    expect(Array.from(other.stateDict().get('0.weight')!.dataSync())).toEqual(Array.from(w0));
    other.dispose();
    s.optimizer.dispose();
    s.model.dispose();
  });

  it('names mismatches before changing anything', async () => {
    const s = setup('sgd');
    const bytes = encodeCheckpoint({ model: s.model, optimizer: s.optimizer, scheduler: s.scheduler, epoch: 0 });
    manualSeed(2);
    const model = net();
    const before = Array.from(model.stateDict().get('0.weight')!.dataSync());
    const adam = new Adam(model, { lr: 1e-3 });
    await expect(restoreCheckpoint(bytes, { model, optimizer: adam })).rejects.toThrow(
      /state is from SGD, this optimizer is Adam/,
    );
    expect(Array.from(model.stateDict().get('0.weight')!.dataSync())).toEqual(before);
    const epochSched = new LRScheduler(new SGD(model, { lr: 0.1 }), new CosineAnnealingLR({ tMax: 3 }), {
      by: 'epoch',
    });
    await expect(restoreCheckpoint(bytes, { model, scheduler: epochSched })).rejects.toThrow(
      /steps by 'iter', this scheduler by 'epoch'/,
    );
    expect(() => checkpointInfo(model.saveWeights())).toThrow(/not a training checkpoint/);
    expect(() => encodeCheckpoint({ model, epoch: -1 })).toThrow(/epoch must be a non-negative integer/);
    adam.dispose();
    model.dispose();
    s.optimizer.dispose();
    s.model.dispose();
  });

  it('saves and loads files atomically; a failed write leaves the old file whole and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-ckpt-'));
    const s = setup('adamw');
    const file = join(dir, 'last.safetensors');
    await saveCheckpoint(file, { model: s.model, optimizer: s.optimizer, epoch: 4, randomState: 1234 });
    const good = readFileSync(file);
    // A write that fails half-way (the data cannot be written): the old file stays, no temporary file is left.
    await expect(writeFileAtomic(file, { length: 5 } as unknown as Uint8Array)).rejects.toThrow();
    expect(Buffer.from(readFileSync(file)).equals(good)).toBe(true);
    expect(readdirSync(dir)).toEqual(['last.safetensors']);
    const info = await loadCheckpoint(file, { model: s.model, optimizer: s.optimizer });
    expect(info.epoch).toBe(4);
    expect(info.randomState).toBe(1234);
    setRandomState(info.randomState!);
    expect(getRandomState()).toBe(1234);
    writeFileSync(join(dir, 'torn.safetensors'), good.subarray(0, 100));
    await expect(loadCheckpoint(join(dir, 'torn.safetensors'), { model: s.model })).rejects.toThrow(
      /torn\.safetensors/,
    );
    await expect(loadCheckpoint(join(dir, 'torn.safetensors'), { model: s.model })).rejects.toBeInstanceOf(
      CheckpointError,
    );
    // Only regular files are read: a device would be read forever.
    await expect(loadCheckpoint('/dev/zero', { model: s.model })).rejects.toThrow(
      /cannot read '\/dev\/zero': it is a character device/,
    );
    await expect(loadCheckpoint(join(dir, 'nope.safetensors'), { model: s.model })).rejects.toThrow(
      /cannot read .*nope\.safetensors.*ENOENT/,
    );
    s.optimizer.dispose();
    s.model.dispose();
  });

  it('reports the moments of an atomic write; removeTempFiles clears what a killed write leaves, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-atomic-'));
    const file = join(dir, 'config.json');
    await writeFileAtomic(file, 'old\n');
    const seen: string[] = [];
    // Stopped once the temporary file is complete (where a kill would stop it): the old file stays as it was.
    await expect(
      writeFileAtomic(file, 'new\n', {
        onStage: (stage, tmp) => {
          seen.push(
            `${stage} ${isTempFileName(tmp.slice(dir.length + 1))} ${JSON.stringify(readFileSync(tmp, 'utf8'))}`,
          );
          if (stage === 'flushed') throw new Error('stopped here');
        },
      }),
    ).rejects.toThrow('stopped here');
    expect(seen).toEqual(['opened true ""', 'flushed true "new\\n"']);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    // What kills leave behind: an empty and a whole temporary file; beside them files that are not ours.
    writeFileSync(join(dir, '.config.json.4242.1.tmp'), '');
    writeFileSync(join(dir, '.last.safetensors.4242.7.tmp'), 'x'.repeat(100));
    for (const other of ['notes.tmp', '.hidden', '.config.json.tmp', 'x.1.2.tmp'])
      writeFileSync(join(dir, other), 'keep');
    expect(await removeTempFiles(dir)).toEqual(['.config.json.4242.1.tmp', '.last.safetensors.4242.7.tmp']);
    expect(readdirSync(dir).sort()).toEqual(['.config.json.tmp', '.hidden', 'config.json', 'notes.tmp', 'x.1.2.tmp']);
    expect(await removeTempFiles(dir)).toEqual([]);
  });

  /** Everything a restore may change: every weight, the optimizer's state dict and lrs, the scheduler's state. */
  function snapshot(s: ReturnType<typeof setup>) {
    return {
      weights: [...s.model.stateDict()].map(([k, v]) => [k, Array.from(v.dataSync())]),
      optimizer: s.optimizer.stateDict(),
      lrs: s.optimizer.paramGroups.map((g) => [g.lr, g.weightDecay]),
      scheduler: s.scheduler.state(),
    };
  }

  /** Takes one optimizer step (so the optimizer has buffers) and one scheduler step. */
  function oneStep(s: ReturnType<typeof setup>, value: number): void {
    s.optimizer.minimize(() =>
      tf.tidy(() => tf.mean(tf.square(tf.sub(s.model.call(tf.fill([2, 28, 28, 1], value)), 1)))),
    );
    s.scheduler.step();
  }

  /** The checkpoint with its tensors and training state edited (a file as a buggy or hostile writer makes it). */
  function edited(
    bytes: Uint8Array,
    edit: (tensors: Map<string, RawTensor>, state: Record<string, any>) => void,
  ): Uint8Array {
    const f = readSafetensors(bytes);
    const state = JSON.parse(f.metadata['cnn.training']!);
    edit(f.tensors, state);
    return writeSafetensors(f.tensors, { ...f.metadata, 'cnn.training': JSON.stringify(state) });
  }

  it('a refused restore changes nothing: not the weights, the optimizer or the scheduler, and leaks no tensor', async () => {
    const src = setup('sgd');
    oneStep(src, 0.5);
    oneStep(src, -0.25);
    const good = encodeCheckpoint({
      model: src.model,
      optimizer: src.optimizer,
      scheduler: src.scheduler,
      epoch: 1,
      globalStep: 2,
    });
    const weightKeys = [...readSafetensors(good).tensors.keys()].filter((k) => !k.startsWith(OPTIMIZER_PREFIX));
    const bufferKeys = [...readSafetensors(good).tensors.keys()].filter((k) => k.startsWith(OPTIMIZER_PREFIX));
    const lastWeight = weightKeys[weightKeys.length - 1]!;
    const lastBuffer = bufferKeys[bufferKeys.length - 1]!;
    expect(lastWeight).toBe('8.bias');
    expect(lastBuffer).toBe(`${OPTIMIZER_PREFIX}8.bias/momentum_buffer`);

    manualSeed(77);
    const dst = setup('sgd');
    oneStep(dst, 2); // the target has state of its own, which a failed restore must keep
    const cases: Array<[string, Uint8Array, RegExp]> = [
      [
        'last weight mis-shaped',
        edited(good, (t) => t.set(lastWeight, { dtype: 'float32', shape: [11], data: new Float32Array(11) })),
        /shape mismatch \(1\): 8\.bias: checkpoint \[11\], model \[10\]/,
      ],
      ['last weight missing', edited(good, (t) => t.delete(lastWeight)), /missing keys \(1\): 8\.bias/],
      [
        'optimizer buffer mis-shaped',
        edited(good, (t) => t.set(lastBuffer, { dtype: 'float32', shape: [2, 5], data: new Float32Array(10) })),
        /'8\.bias'\.momentum_buffer has shape \[2, 5\] \(10 values\), the parameter \[10\]/,
      ],
      [
        'optimizer buffer missing',
        edited(good, (t) => t.delete(lastBuffer)),
        /optimizer buffer '8\.bias'\.momentum_buffer is missing/,
      ],
      [
        'optimizer hyperparameter out of range',
        edited(good, (_t, st) => {
          st.optimizer.options.momentum = -1;
        }),
        /options: momentum must be a number >= 0, got -1/,
      ],
      [
        'optimizer step count negative',
        edited(good, (_t, st) => {
          st.optimizer.state['8.bias'].step = -3;
        }),
        /'8\.bias' has step -3, not a non-negative integer/,
      ],
      [
        "optimizer state for a parameter named '__proto__'",
        edited(good, (_t, st) => {
          Object.defineProperty(st.optimizer.state, '__proto__', {
            value: { step: 1, buffers: [] },
            enumerable: true,
          });
        }),
        /__proto__/,
      ],
      [
        'schedule step negative',
        edited(good, (_t, st) => {
          st.scheduler.t = -1;
        }),
        /scheduler state that is not one: t must be a non-negative integer, got -1/,
      ],
      [
        'schedule with too few base lrs',
        edited(good, (_t, st) => {
          st.scheduler.baseLrs = [0.05];
        }),
        /LRScheduler\.check: state has 1 base learning rates, the optimizer 2 groups/,
      ],
      [
        'schedule of another unit',
        edited(good, (_t, st) => {
          st.scheduler.by = 'epoch';
        }),
        /state steps by 'epoch', this scheduler by 'iter'/,
      ],
    ];
    const before = snapshot(dst);
    const tensors = tf.memory().numTensors;
    for (const [what, bytes, message] of cases) {
      const err = await restoreCheckpoint(bytes, {
        model: dst.model,
        optimizer: dst.optimizer,
        scheduler: dst.scheduler,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(CheckpointError);
      expect((err as Error).message, what).toMatch(message);
      expect(snapshot(dst), what).toEqual(before);
      expect(tf.memory().numTensors, what).toBe(tensors);
    }
    // Not vacuous: the good checkpoint does change all three, and then takes the same step as the source.
    await restoreCheckpoint(good, { model: dst.model, optimizer: dst.optimizer, scheduler: dst.scheduler });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(snapshot(dst)).toEqual(snapshot(src));
    expect(snapshot(dst)).not.toEqual(before);
    oneStep(src, 1);
    oneStep(dst, 1);
    expect(snapshot(dst)).toEqual(snapshot(src));
    for (const s of [src, dst]) {
      s.optimizer.dispose();
      s.model.dispose();
    }
  });

  it('refuses a training state nested 200,000 deep before parsing it, and names malformed fields', async () => {
    const s = setup('sgd');
    const good = encodeCheckpoint({ model: s.model, epoch: 0 });
    const withState = (json: string): Uint8Array => {
      const f = readSafetensors(good);
      return writeSafetensors(f.tensors, { ...f.metadata, 'cnn.training': json });
    };
    const depth = 200_000;
    const deep = withState(
      `{"version":1,"epoch":0,"globalStep":0,"extra":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
    );
    for (const run of [() => checkpointInfo(deep), () => restoreCheckpoint(deep, { model: s.model })]) {
      const t0 = performance.now();
      const err = await Promise.resolve()
        .then(run)
        .then(
          () => null,
          (e: unknown) => e,
        );
      const ms = performance.now() - t0;
      console.log(`training state nested ${depth} deep: refused in ${ms.toFixed(1)} ms`);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `'cnn\\.training' header entry nests deeper than ${CHECKPOINT_MAX_STATE_DEPTH} levels \\(at character \\d+\\), the CHECKPOINT_MAX_STATE_DEPTH limit`,
        ),
      );
      expect(ms).toBeLessThan(20_000);
    }
    // The limit is not in the way of real extras: nesting up to it reads back; encodeCheckpoint refuses deeper.
    const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });
    const ok = encodeCheckpoint({ model: s.model, epoch: 0, extra: { v: nest(CHECKPOINT_MAX_STATE_DEPTH - 3) } });
    expect(JSON.stringify(checkpointInfo(ok).extra).length).toBeGreaterThan(CHECKPOINT_MAX_STATE_DEPTH * 5);
    expect(() =>
      encodeCheckpoint({ model: s.model, epoch: 0, extra: { v: nest(CHECKPOINT_MAX_STATE_DEPTH) } }),
    ).toThrow(CheckpointError);
    // The class @cnn/train re-exports is @cnn/layers' own, so one import is enough to catch any checkpoint refusal.
    expect(TrainCheckpointError).toBe(CheckpointError);
    expect(() =>
      encodeCheckpoint({ model: s.model, epoch: 0, extra: { v: nest(CHECKPOINT_MAX_STATE_DEPTH) } }),
    ).toThrow(/nests deeper than 64 levels/);
    const refused: Array<[string, RegExp]> = [
      ['[1, 2]', /'cnn\.training' header entry is \[1,2\], not a JSON object/],
      ['{"version":1', /'cnn\.training' header entry is not valid JSON/],
      ['{"version":2,"epoch":0,"globalStep":0}', /checkpoint format version 2 is not supported/],
      ['{"version":1,"epoch":"3","globalStep":0}', /has epoch "3", not a non-negative integer/],
      ['{"version":1,"epoch":0,"globalStep":-1}', /has globalStep -1, not a non-negative integer/],
      ['{"version":1,"epoch":0,"globalStep":0,"randomState":"x"}', /has randomState "x", not an integer/],
      ['{"version":1,"epoch":0,"globalStep":0,"extra":[1]}', /has extra \[1\], not an object/],
      [
        '{"version":1,"epoch":0,"globalStep":0,"scheduler":{"by":"batch","t":0,"baseLrs":[]}}',
        /scheduler state that is not one: by must be 'epoch' or 'iter', got "batch"/,
      ],
      [
        '{"version":1,"epoch":0,"globalStep":0,"optimizer":{"optimizer":"SGD"}}',
        /has optimizer \{"optimizer":"SGD"\}, not an optimizer's state/,
      ],
      [
        '{"version":1,"epoch":0,"globalStep":0,"optimizer":{"optimizer":"SGD","state":{"w":{"step":1,"buffers":"m"}}}}',
        /optimizer state \{"step":1,"buffers":"m"\} for 'w', not \{ step, buffers: \[names\] \}/,
      ],
    ];
    for (const [json, message] of refused) {
      expect(() => checkpointInfo(withState(json)), json).toThrow(message);
      expect(() => checkpointInfo(withState(json)), json).toThrow(CheckpointError);
    }
    s.optimizer.dispose();
    s.model.dispose();
  });

  it('rejects an initialEpoch outside [0, epochs]', async () => {
    const s = setup('sgd');
    await expect(s.trainer.fit(s.loader, { epochs: 2, initialEpoch: 3 })).rejects.toThrow(
      /initialEpoch must be an integer in \[0, epochs = 2\], got 3/,
    );
    s.optimizer.dispose();
    s.model.dispose();
  });
});

describe('SVG pictures', () => {
  it('draws line charts with one polyline per series, leaving out non-finite points', () => {
    const svg = lineChartSvg(
      [
        {
          name: 'train',
          points: [
            [1, 0.9],
            [2, 0.5],
            [3, 0.3],
          ],
        },
        {
          name: 'test <val>',
          points: [
            [1, NaN],
            [2, 0.6],
            [3, 0.4],
          ],
        },
      ],
      { title: 'Loss', xLabel: 'epoch' },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(5);
    expect(svg).toContain('test &lt;val&gt;');
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.31, 0.92, 5)).toEqual([0.4, 0.6, 0.8]);
  });

  it('draws a confusion matrix with counts and per-row recall, and rejects a ragged matrix', () => {
    const svg = confusionMatrixSvg(
      [
        [8, 2],
        [1, 9],
      ],
      ['cat', 'dog'],
    );
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    expect(svg).toContain('>0.800<');
    expect(svg).toContain('>0.900<');
    expect(svg).toContain('true dog, predicted cat: 1');
    expect(() => confusionMatrixSvg([[1, 2], [3]])).toThrow(/square/);
    expect(() => confusionMatrixSvg([[1]], ['a', 'b'])).toThrow(/2 class names for 1 classes/);
  });
});
