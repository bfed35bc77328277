// Fine-tuning pieces: optimizer groups with their own learning rates (`groups`), freeze() (frozen parameters never
// change, frozen BatchNorm layers keep their running statistics while the rest trains), the top-k name of the
// progress line, and the pictures (legend outside the plot area, the confusion matrix's 'true class' axis).
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential, manualSeed } from '@cnn/layers';
import {
  Adam,
  SGD,
  Trainer,
  confusionMatrixSvg,
  formatEpochLine,
  freeze,
  lineChartSvg,
  unfreeze,
  type EpochRecord,
  type TrainerBatch,
} from '../src/index';

beforeAll(async () => {
  await setBackend('wasm');
});

/** conv (0) - BN (1) - ReLU - conv (3) - BN (4) - ReLU - flatten - linear (7): a backbone and a head. */
function net() {
  manualSeed(7);
  return new Sequential(
    new Conv2d(2, 4, 3, { padding: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new Conv2d(4, 4, 3, { padding: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 4 * 4, 3),
  );
}

function batches(n: number): TrainerBatch[] {
  manualSeed(11);
  return Array.from({ length: n }, (_, i) => {
    const x = tf.randomNormal([6, 4, 4, 2], 0.5, 2);
    const y = tf.tensor1d([0, 1, 2, i % 3, 1, 0], 'int32');
    return { x, y }; // no dispose: the Trainer leaves them to the test, which reuses them every epoch
  });
}

const values = (v: tf.Variable) => Array.from(v.dataSync());

describe('optimizer groups', () => {
  it("puts parameters in the first matching rule's group, with noDecayOn twins, in a fixed order", () => {
    const model = net();
    const opt = new SGD(model, {
      lr: 0.1,
      weightDecay: 0.01,
      noDecayOn: 'bn_bias',
      groups: [
        { match: (name) => name.startsWith('7.'), lr: 1, weightDecay: 0.5 },
        { match: () => false, lr: 3 },
      ],
    });
    expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.params])).toEqual([
      [0.1, 0.01, ['0.weight', '3.weight']],
      [0.1, 0, ['0.bias', '1.weight', '1.bias', '3.bias', '4.weight', '4.bias']],
      [1, 0.5, ['7.weight']],
      [1, 0, ['7.bias']],
      [3, 0.01, []],
      [3, 0, []],
    ]);
    opt.dispose();
    model.dispose();
  });

  it('steps each group with its own learning rate (plain SGD: p -= lr * g), and the state dict keeps them', () => {
    const model = net();
    const opt = new SGD(model, { lr: 0.01, groups: [{ match: (name) => name.startsWith('7.'), lr: 0.5 }] });
    const head = model.namedParameters().find(([n]) => n === '7.bias')![1];
    const conv = model.namedParameters().find(([n]) => n === '0.bias')![1];
    const [h0, c0] = [values(head), values(conv)];
    const grads = new Map([
      ['7.bias', tf.ones([3])],
      ['0.bias', tf.ones([4])],
    ]);
    opt.step(grads);
    tf.dispose([...grads.values()]);
    values(head).forEach((v, i) => expect(v).toBeCloseTo(h0[i]! - 0.5, 6));
    values(conv).forEach((v, i) => expect(v).toBeCloseTo(c0[i]! - 0.01, 6));
    const dict = opt.stateDict();
    expect(dict.groups.map((g) => g.lr)).toEqual([0.01, 0.5]);
    const other = new SGD(model, { lr: 0.01, groups: [{ match: (name) => name.startsWith('7.'), lr: 0.5 }] });
    other.loadStateDict(dict);
    expect(other.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.5]);
    // Without the rule the optimizer has one group: a saved two-group state does not load into it.
    const plain = new SGD(model, { lr: 0.01 });
    expect(() => plain.loadStateDict(dict)).toThrow(/state has 2 parameter groups, this optimizer 1/);
    for (const o of [opt, other, plain]) o.dispose();
    model.dispose();
  });

  it('refuses a rule without match, or with a negative lr, naming it', () => {
    const model = net();
    expect(() => new Adam(model, { lr: 1e-3, groups: [{} as never] })).toThrow(
      /Adam: groups\[0\] must be \{ match: \(name\) => boolean, lr\?, weightDecay\? \}/,
    );
    expect(() => new SGD(model, { lr: 1e-3, groups: [{ match: () => true, lr: -1 }] })).toThrow(
      /SGD: groups\[0\]\.lr must be a number >= 0, got -1/,
    );
    model.dispose();
  });
});

describe('freeze', () => {
  it('frozen parameters and BatchNorm statistics stay bit for bit while the head and the unfrozen BN train', async () => {
    const model = net();
    const before = tf.memory().numTensors;
    const result = freeze(model, (name) => name.startsWith('0.') || name.startsWith('1.'));
    expect(result.names).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(result.count).toBe(4 * 2 * 9 + 4 + 4 + 4);
    expect(result.norms).toEqual(['1']);
    const state = new Map(model.stateDict());
    const snapshot = new Map([...state].map(([k, v]) => [k, values(v)]));
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
    const trainer = new Trainer({ model, optimizer: opt, numClasses: 3, log: 'quiet' });
    const data = batches(3);
    await trainer.fit(data, { epochs: 2 });
    for (const k of ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var']) {
      expect(values(state.get(k)!), `${k} unchanged`).toEqual(snapshot.get(k));
    }
    for (const k of ['3.weight', '4.running_mean', '4.running_var', '7.weight', '7.bias']) {
      expect(values(state.get(k)!), `${k} trained`).not.toEqual(snapshot.get(k));
    }
    // During fit the frozen BN runs in evaluation mode, the other in training mode.
    expect((model.at(1) as BatchNorm2d).training).toBe(false);
    expect((model.at(4) as BatchNorm2d).training).toBe(true);
    // The optimizer keeps no state for the frozen parameters (they never had a gradient).
    expect(Object.keys(opt.stateDict().state).sort()).toEqual([
      '3.bias',
      '3.weight',
      '4.bias',
      '4.weight',
      '7.bias',
      '7.weight',
    ]);
    unfreeze(model);
    expect(model.namedParameters().every(([, v]) => v.trainable)).toBe(true);
    opt.dispose();
    tf.dispose(data.flatMap((b) => [b.x, b.y]));
    expect(tf.memory().numTensors - before, 'tensors left by freeze, fit and the optimizer').toBe(0);
    model.dispose();
  });

  it('refuses a match that is not a function', () => {
    const model = net();
    expect(() => freeze(model, 'backbone' as never)).toThrow(/freeze: match must be a function/);
    model.dispose();
  });
});

describe('top-k and pictures', () => {
  const record: EpochRecord = {
    epoch: 1,
    trainLoss: 0.5,
    trainAcc: 0.8,
    valLoss: 0.4,
    valTop1: 0.9,
    valTop5: 1,
    lr: 0.1,
    imagesPerSecond: 100,
    seconds: 1,
    steps: 2,
    images: 12,
  };

  it('the epoch line names top-k as min(5, classes), and the Trainer passes its classes', async () => {
    expect(formatEpochLine(record, 3, 2)).toMatch(/val_top1 0\.9000 {2}val_top2 1\.0000/);
    expect(formatEpochLine(record, 3)).toMatch(/val_top5 1\.0000/);
    const model = net();
    const opt = new SGD(model, { lr: 0.01 });
    let out = '';
    const trainer = new Trainer({ model, optimizer: opt, numClasses: 3, log: 'lines', write: (s) => (out += s) });
    const data = batches(1);
    await trainer.fit(data, { epochs: 1, valLoader: data });
    expect(out).toMatch(/val_top3 1\.0000/);
    expect(out).not.toMatch(/top5/);
    tf.dispose(data.flatMap((b) => [b.x, b.y]));
    opt.dispose();
    model.dispose();
  });

  it("the line chart's legend lies right of the plot area, never over a curve", () => {
    const svg = lineChartSvg(
      [
        {
          name: 'train top-1',
          points: [
            [1, 0.5],
            [2, 0.9],
          ],
        },
        {
          name: 'test top-1',
          points: [
            [1, 0.6],
            [2, 0.95],
          ],
          dashed: true,
        },
      ],
      { title: 'Accuracy', width: 640 },
    );
    const plotRight = Math.max(...[...svg.matchAll(/<line x1="64" x2="([\d.]+)"/g)].map((m) => Number(m[1])));
    const legendX = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+">(train|test) top-1<\/text>/g)].map((m) =>
      Number(m[1]),
    );
    expect(legendX).toHaveLength(2);
    for (const x of legendX) expect(x).toBeGreaterThan(plotRight);
    const dotsX = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...dotsX)).toBeLessThanOrEqual(plotRight);
    expect(svg).toContain('stroke-dasharray');
  });

  it("the confusion matrix titles both axes: 'true class' (rotated, left) and 'predicted class'", () => {
    const svg = confusionMatrixSvg(
      [
        [3, 1],
        [0, 4],
      ],
      ['cat', 'dog'],
    );
    expect(svg).toMatch(
      /<text transform="translate\([\d.]+ [\d.]+\) rotate\(-90\)" text-anchor="middle">true class<\/text>/,
    );
    expect(svg).toContain('>predicted class</text>');
  });
});
