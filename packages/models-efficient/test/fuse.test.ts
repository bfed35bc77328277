// Fused inference (Module.fuse, the FusedConv / FusedLinear plans of @cnn/layers): for every registered id, eval-mode
// logits with BatchNorm folded and bias + activation fused equal the unfused (module by module) logits within 1e-4 of
// the largest logit, at the smallest input the architecture takes, with BatchNorm statistics and affine parameters
// set to random values (with PyTorch's initial ones the fold would be the identity). Then the folded tensors as
// derived state: every way a weight can change (train, loadWeights, loadStateDict, an optimizer step, replaceHead, a
// direct assign, a backend switch) leaves no stale copy; the state dict keeps PyTorch's layout; nothing leaks; and the
// in-place mode folds once, frees the BatchNorms and then refuses, by name, what it can no longer do.
import { afterAll, describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, FusedInPlaceError, type Module } from '@cnn/layers';
import { SGD, crossEntropy } from '@cnn/train';
import { tf, setBackend, manualSeed, getModel, getCard, listModels, type ImageClassifier } from '../src/index';
import { relErr } from '../../../test-support/fixtures';
import { randomise, smallestInput } from './zoo-inputs';

/** Largest |fused - unfused| accepted, relative to the largest |logit|. */
const TOL = 1e-4;

/** The smallest input each architecture takes at batch 1 (the training tests' sizes; CIFAR ids at their own 32x32). */
const inputShape = (id: string) => smallestInput(id, getCard(id).inputSize[2]);

function values(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return Float32Array.from(v);
}

/**
 * Eval-mode logits as the model runs now (fused, with whatever folded tensors it holds), then the unfused reference;
 * `derived` is how many tensors the fused path held (freed by `unfuse`), so a test can tell that it ran folded.
 * The model is left fused.
 */
function fusedAndUnfused(
  model: ImageClassifier,
  x: tf.Tensor,
): { fused: Float32Array; unfused: Float32Array; derived: number } {
  model.eval();
  const fused = values(model.call(x));
  const held = tf.memory().numTensors;
  model.unfuse();
  const derived = held - tf.memory().numTensors;
  const unfused = values(model.call(x));
  model.fuse();
  return { fused, unfused, derived };
}

function expectClose(what: string, got: Float32Array, want: Float32Array): void {
  const e = relErr(got, want);
  expect(
    e.rel,
    `${what}: rel err ${e.rel.toExponential(2)} at ${e.at} (got ${e.got}, want ${e.want})`,
  ).toBeLessThanOrEqual(TOL);
}

const hasBatchNorm = (m: Module) => m.namedModules().some(([, c]) => c instanceof BatchNorm2d);

describe('fused inference equals the unfused model for every registered id (wasm, batch 1, smallest input)', () => {
  const started = performance.now();
  for (const id of listModels()) {
    it(`${id}`, async () => {
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      manualSeed(1);
      const model = getModel(id);
      randomise(model, 11);
      const params = tf.memory().numTensors;
      const x = tf.randomNormal(inputShape(id), 0, 1, 'float32', 5);
      const { fused, unfused, derived } = fusedAndUnfused(model, x);
      expectClose(id, fused, unfused);
      // The logits carry the features (not only the last bias): they spread over a good part of their range.
      const [lo, hi] = [Math.min(...unfused), Math.max(...unfused)];
      expect((hi - lo) / Math.max(...unfused.map(Math.abs)), `${id}: logits spread`).toBeGreaterThan(0.05);
      if (hasBatchNorm(model)) expect(derived, `${id}: the fused path held folded filters`).toBeGreaterThan(0);
      // fuse() made the folded tensors again; a second call adds nothing but its output.
      const y = model.call(x);
      expect(tf.memory().numTensors).toBe(params + derived + 2);
      tf.dispose([x, y]);
      model.dispose();
      expect(tf.memory().numTensors, `${id}: tensors left over`).toBe(before);
    }, 300_000);
  }
  // The loop's time, reported (not asserted) once the describe's tests have run.
  afterAll(() => {
    console.log(`fused parity of ${listModels().length} ids: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
});

/** Models for the derived-state tests: BasicBlocks with a Linear head; depthwise, SE, hard-swish and a Sequential head. */
const STATE_MODELS = ['resnet18', 'mobilenet_v3_small'] as const;

async function setup(id: string, seed = 2): Promise<{ model: ImageClassifier; x: tf.Tensor }> {
  await setBackend('wasm');
  manualSeed(seed);
  const model = getModel(id);
  randomise(model, 20 + seed);
  model.eval();
  return { model, x: tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 9) };
}

/** The last Conv2d and BatchNorm2d of a model (the closest to the logits: a change there shows in them). */
function lastConvAndNorm(model: Module): { conv: Conv2d; norm: BatchNorm2d } {
  const mods = model
    .namedModules()
    .map(([, m]) => m)
    .reverse();
  return {
    conv: mods.find((m): m is Conv2d => m instanceof Conv2d)!,
    norm: mods.find((m): m is BatchNorm2d => m instanceof BatchNorm2d)!,
  };
}

describe('folded tensors are derived state: never stale', () => {
  for (const id of STATE_MODELS) {
    it(`${id}: train() frees them; a training forward moves the running statistics; eval() folds again`, async () => {
      const { model, x } = await setup(id);
      const first = fusedAndUnfused(model, x);
      expect(first.derived).toBeGreaterThan(0);
      const held = tf.memory().numTensors;
      model.train();
      expect(tf.memory().numTensors, 'train() freed the folded tensors').toBe(held - first.derived);
      tf.tidy(() => void model.call(tf.randomNormal([2, 32, 32, 3], 1, 2, 'float32', 3)));
      const after = fusedAndUnfused(model, x);
      expectClose(id, after.fused, after.unfused);
      expect(relErr(after.fused, first.fused).rel, 'the running statistics changed the logits').toBeGreaterThan(1e-3);
      tf.dispose(x);
      model.dispose();
    });

    it(`${id}: loadWeights and loadStateDict replace what was folded`, async () => {
      const { model, x } = await setup(id);
      const other = (await setup(id, 3)).model;
      const want = fusedAndUnfused(other, x).unfused;
      fusedAndUnfused(model, x);
      await model.loadWeights(other.saveWeights());
      let got = fusedAndUnfused(model, x);
      expectClose(`${id} after loadWeights`, got.fused, got.unfused);
      expectClose(`${id} after loadWeights, against the source model`, got.fused, want);
      // Back to the first weights through the state dict.
      const { model: first } = await setup(id);
      const firstLogits = fusedAndUnfused(first, x).unfused;
      model.loadStateDict(first.stateDict());
      got = fusedAndUnfused(model, x);
      expectClose(`${id} after loadStateDict`, got.fused, got.unfused);
      expectClose(`${id} after loadStateDict, against the source model`, got.fused, firstLogits);
      tf.dispose(x);
      for (const m of [model, other, first]) m.dispose();
    });

    it(`${id}: SGD steps in eval mode (frozen statistics) update the weights the fused path uses`, async () => {
      const { model, x } = await setup(id);
      const before = fusedAndUnfused(model, x);
      const opt = new SGD(model, { lr: 0.01, momentum: 0.9 });
      const label = tf.tensor1d([3], 'int32');
      for (let i = 0; i < 3; i++) opt.minimize(() => crossEntropy(model.call(x), label));
      const after = fusedAndUnfused(model, x);
      expectClose(id, after.fused, after.unfused);
      expect(relErr(after.fused, before.fused).rel, 'the steps changed the logits').toBeGreaterThan(1e-3);
      tf.dispose([x, label]);
      model.dispose();
    });

    it(`${id}: replaceHead (resetClassifier) is used at once`, async () => {
      const { model, x } = await setup(id);
      fusedAndUnfused(model, x);
      manualSeed(4);
      model.resetClassifier(7);
      const got = fusedAndUnfused(model, x);
      expect(got.fused.length).toBe(7);
      expectClose(id, got.fused, got.unfused);
      tf.dispose(x);
      model.dispose();
    });

    it(`${id}: a direct assign to a conv weight, then to a BatchNorm running statistic`, async () => {
      const { model, x } = await setup(id);
      const start = fusedAndUnfused(model, x);
      const { conv, norm } = lastConvAndNorm(model);
      tf.tidy(() => conv.weight.assign(tf.mul(conv.weight, -1.5)));
      const afterConv = fusedAndUnfused(model, x);
      expectClose(`${id} after the conv weight`, afterConv.fused, afterConv.unfused);
      expect(relErr(afterConv.fused, start.fused).rel).toBeGreaterThan(1e-3);
      tf.tidy(() => norm.runningVar.assign(tf.mul(norm.runningVar, 9)));
      const afterNorm = fusedAndUnfused(model, x);
      expectClose(`${id} after running_var`, afterNorm.fused, afterNorm.unfused);
      expect(relErr(afterNorm.fused, afterConv.fused).rel).toBeGreaterThan(1e-3);
      tf.dispose(x);
      model.dispose();
    });

    it(`${id}: a backend switch wasm -> cpu -> wasm folds on each backend`, async () => {
      const { model, x } = await setup(id);
      const wasm = fusedAndUnfused(model, x);
      try {
        await setBackend('cpu');
        const cpu = fusedAndUnfused(model, x);
        expectClose(`${id} on cpu`, cpu.fused, cpu.unfused);
        expectClose(`${id} on cpu, against wasm`, cpu.fused, wasm.unfused);
      } finally {
        await setBackend('wasm');
      }
      const back = fusedAndUnfused(model, x);
      expectClose(`${id} back on wasm`, back.fused, back.unfused);
      tf.dispose(x);
      model.dispose();
    }, 300_000);
  }

  it('stateDict and saveWeights keep the unfolded PyTorch layout', async () => {
    const { model, x } = await setup('resnet18');
    const saved = model.saveWeights();
    const dict = new Map([...model.stateDict()].map(([k, v]) => [k, v.dataSync().slice()]));
    model.fuse();
    values(model.call(x));
    // Byte for byte (compared here, not by the matcher: a diff of 46 MB would not fit in memory).
    expect(Buffer.compare(Buffer.from(model.saveWeights()), Buffer.from(saved)), 'saveWeights bytes').toBe(0);
    const now = model.stateDict();
    expect([...now.keys()]).toEqual([...dict.keys()]);
    expect(now.has('bn1.running_var')).toBe(true);
    const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const changed = [...now].filter(([k, v]) => Buffer.compare(bytes(v.dataSync()), bytes(dict.get(k)!)) !== 0);
    expect(changed.map(([k]) => k)).toEqual([]);
    tf.dispose(x);
    model.dispose();
  });

  it('no leaks: repeated predict, fuse / unfuse cycles, and dispose frees the folded tensors', async () => {
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    const { model, x } = await setup('mobilenet_v3_small');
    const params = tf.memory().numTensors - 1;
    model.predict(x, { topk: 1 });
    const warm = tf.memory().numTensors;
    expect(warm).toBeGreaterThan(params + 1);
    for (let i = 0; i < 3; i++) model.predict(x, { topk: 1 });
    expect(tf.memory().numTensors).toBe(warm);
    for (let i = 0; i < 3; i++) {
      model.unfuse();
      expect(tf.memory().numTensors).toBe(params + 1);
      model.fuse();
      expect(tf.memory().numTensors).toBe(warm);
    }
    // predict on a model in training mode folds too, and gives the training mode back without a refold next time.
    model.train();
    expect(tf.memory().numTensors).toBe(params + 1);
    model.predict(x, { topk: 1 });
    expect(model.training).toBe(true);
    model.predict(x, { topk: 1 });
    expect(tf.memory().numTensors).toBe(warm);
    tf.dispose(x);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('fuse({ inPlace: true }): one copy of the weights, inference only', () => {
  for (const id of STATE_MODELS) {
    it(`${id}: same logits, fewer bytes than the cached form, BatchNorms freed, and named refusals`, async () => {
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      const { model, x } = await setup(id);
      const { unfused } = fusedAndUnfused(model, x);
      const cachedBytes = tf.memory().numBytes;
      model.fuse({ inPlace: true });
      expect(model.fusedInPlace).toBe(true);
      const inPlaceBytes = tf.memory().numBytes;
      expect(inPlaceBytes).toBeLessThan(cachedBytes);
      expectClose(`${id} in place`, values(model.call(x)), unfused);
      expect(model.predict(x, { topk: 1 }).indices[0]!.length).toBe(1);
      const empty = tf.zeros([0, 32, 32, 3]);
      expect(model.predict(empty, { topk: 1 })).toEqual({ indices: [], scores: [] });
      empty.dispose();
      expect(tf.memory().numBytes).toBe(inPlaceBytes);

      const refused = /fused in place \(fuse\(\{ inPlace: true \}\)\).*inference weights only/;
      expect(() => model.train()).toThrow(FusedInPlaceError);
      expect(() => model.train()).toThrow(refused);
      expect(() => model.stateDict()).toThrow(/stateDict: reading the state dict is not possible/);
      expect(() => model.saveWeights()).toThrow(/saveWeights: saving weights is not possible/);
      await expect(model.loadWeights(new Uint8Array(8))).rejects.toThrow(FusedInPlaceError);
      expect(() => model.loadStateDict({})).toThrow(/loadStateDict: loading weights is not possible/);
      expect(() => model.resetClassifier(3)).toThrow(/replacing a layer is not possible/);
      expect(() => model.unfuse()).toThrow(FusedInPlaceError);
      expect(() => new SGD(model, { lr: 0.1 })).toThrow(/listing parameters to train is not possible/);
      // Nothing changed: still in evaluation mode, the same logits.
      expect(model.training).toBe(false);
      expectClose(`${id} after the refusals`, values(model.call(x)), unfused);
      expect(model.fuse()).toBe(model);
      expectClose(`${id} fuse() again`, values(model.call(x)), unfused);
      tf.dispose(x);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('fuse refuses options it does not know how to read', async () => {
    const { model, x } = await setup('resnet18');
    expect(() => model.fuse({ inPlace: 'yes' as unknown as boolean })).toThrow(/fuse: inPlace must be true or false/);
    expect(() => model.fuse(null as unknown as { inPlace?: boolean })).toThrow(/fuse: options must be an object/);
    expect(model.fusedInPlace).toBe(false);
    tf.dispose(x);
    model.dispose();
  });
});
