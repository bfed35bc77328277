// SGD, Adam and AdamW against PyTorch 1.13 (parameters after each of 10 steps within 1e-5), state dicts that
// resume a run bit for bit, parameter groups without weight decay, and a flat live tensor count.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import { BatchNorm2d, CheckpointError, Conv2d, Flatten, Linear, manualSeed, Sequential } from '@cnn/layers';
import {
  Adam,
  AdamW,
  SGD,
  LRScheduler,
  MultiStepLR,
  clipGradNorm,
  crossEntropy,
  withWarmup,
  CosineAnnealingLR,
  type HostArray,
  type Optimizer,
  type OptimizerStateDict,
} from '../src/index';
import { expectClose, fixture, tensorOf } from './helpers';

interface Step {
  loss: number;
  grads: Record<string, number[]>;
  params: Record<string, number[]>;
}
interface Config {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, number | boolean | number[]>;
  noDecayBnBias: boolean;
  lrs: number[] | null;
  steps: Step[];
}
const F = fixture<{ init: Record<string, HostArray>; x: HostArray; y: HostArray; configs: Config[] }>('optimizers');
const NAMES = Object.keys(F.init);

function makeParams(): Array<[string, tf.Variable]> {
  return NAMES.map((n) => [n, tf.variable(tensorOf(F.init[n]), true)]);
}

function makeOptimizer(c: Config, params: Array<[string, tf.Variable]>): Optimizer {
  const o = c.options;
  const common = {
    lr: o.lr as number,
    weightDecay: o.weight_decay as number | undefined,
    noDecayOn: c.noDecayBnBias ? ('bn_bias' as const) : undefined,
  };
  if (c.optimizer === 'SGD') {
    return new SGD(params, {
      ...common,
      momentum: o.momentum as number,
      dampening: o.dampening as number,
      nesterov: o.nesterov as boolean,
    });
  }
  const adam = {
    ...common,
    betas: o.betas as [number, number] | undefined,
    eps: o.eps as number | undefined,
    amsgrad: o.amsgrad as boolean,
  };
  return c.optimizer === 'Adam' ? new Adam(params, adam) : new AdamW(params, adam);
}

/** The fixture's loss: mean((bn.weight * (x @ fc.weight^T + fc.bias) + bn.bias - y)^2). */
function tinyLoss(p: Map<string, tf.Variable>, x: Tensor, y: Tensor): Tensor {
  const out = tf.add(
    tf.mul(tf.add(tf.matMul(x, p.get('fc.weight')!, false, true), p.get('fc.bias')!), p.get('bn.weight')!),
    p.get('bn.bias')!,
  );
  return tf.mean(tf.square(tf.sub(out, y)));
}

function dispose(params: Array<[string, tf.Variable]>): void {
  for (const [, v] of params) v.dispose();
}

beforeAll(async () => {
  await setBackend('wasm');
});

describe('optimizers against PyTorch (wasm)', () => {
  for (const c of F.configs) {
    it(`${c.name}: PyTorch's gradients, parameters after each of ${c.steps.length} steps within 1e-5`, () => {
      const params = makeParams();
      const opt = makeOptimizer(c, params);
      c.steps.forEach((s, i) => {
        if (c.lrs) opt.lr = c.lrs[i];
        const grads = new Map(NAMES.map((n) => [n, tf.tensor(s.grads[n], F.init[n].shape)]));
        opt.step(grads);
        tf.dispose([...grads.values()]);
        for (const [n, v] of params) expectClose(v.dataSync(), s.params[n], 1e-5, `step ${i + 1}, ${n}`);
      });
      opt.dispose();
      dispose(params);
    });

    it(`${c.name}: minimize() on the same loss tracks PyTorch within 1e-5`, () => {
      const params = makeParams();
      const byName = new Map(params);
      const opt = makeOptimizer(c, params);
      const x = tensorOf(F.x);
      const y = tensorOf(F.y);
      c.steps.forEach((s, i) => {
        if (c.lrs) opt.lr = c.lrs[i];
        const loss = opt.minimize(() => tinyLoss(byName, x, y));
        expectClose(loss, s.loss, 1e-5, `step ${i + 1}, loss`);
        for (const [n, v] of params) expectClose(v.dataSync(), s.params[n], 1e-5, `step ${i + 1}, ${n}`);
      });
      tf.dispose([x, y]);
      opt.dispose();
      dispose(params);
    });
  }
});

describe('state dicts', () => {
  const RUNS: Array<[string, (p: Array<[string, tf.Variable]>) => Optimizer]> = [
    [
      'SGD nesterov, weight decay, no-decay group',
      (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05, noDecayOn: 'bn_bias' }),
    ],
    ['Adam amsgrad, weight decay', (p) => new Adam(p, { lr: 0.05, weightDecay: 0.1, amsgrad: true })],
    ['AdamW, no-decay group', (p) => new AdamW(p, { lr: 0.05, weightDecay: 0.1, noDecayOn: 'bn_bias' })],
  ];
  for (const [name, build] of RUNS) {
    it(`${name}: saving after 5 steps and restoring (through JSON) gives the uninterrupted run's next 5 steps bit for bit`, () => {
      const x = tensorOf(F.x);
      const y = tensorOf(F.y);
      const schedule = withWarmup(new CosineAnnealingLR({ tMax: 7 }), { length: 3, startFactor: 0.1 });
      const run = (
        params: Array<[string, tf.Variable]>,
        opt: Optimizer,
        scheduler: LRScheduler,
        steps: number,
      ): void => {
        const byName = new Map(params);
        for (let i = 0; i < steps; i++) {
          opt.minimize(() => tinyLoss(byName, x, y));
          scheduler.onIterationEnd();
        }
      };
      // uninterrupted
      const a = makeParams();
      const optA = build(a);
      run(a, optA, new LRScheduler(optA, schedule, { by: 'iter' }), 10);
      // interrupted after 5 steps: only plain data crosses over
      const b = makeParams();
      const optB = build(b);
      const schedB = new LRScheduler(optB, schedule, { by: 'iter' });
      run(b, optB, schedB, 5);
      const checkpoint = JSON.parse(
        JSON.stringify({
          params: b.map(([n, v]) => [n, Array.from(v.dataSync())]),
          optimizer: optB.stateDict(),
          scheduler: schedB.state(),
        }),
      ) as {
        params: Array<[string, number[]]>;
        optimizer: OptimizerStateDict;
        scheduler: ReturnType<LRScheduler['state']>;
      };
      optB.dispose();
      dispose(b);
      const c = checkpoint.params.map(
        ([n, data]) => [n, tf.variable(tf.tensor(data, F.init[n].shape), true)] as [string, tf.Variable],
      );
      const optC = build(c);
      const schedC = new LRScheduler(optC, schedule, { by: 'iter' });
      optC.loadStateDict(checkpoint.optimizer);
      schedC.load(checkpoint.scheduler);
      expect(optC.steps).toBe(5);
      run(c, optC, schedC, 5);
      for (let i = 0; i < NAMES.length; i++) {
        expect(Array.from(c[i][1].dataSync()), NAMES[i]).toEqual(Array.from(a[i][1].dataSync()));
      }
      expect(optC.stateDict()).toEqual(optA.stateDict());
      tf.dispose([x, y]);
      optA.dispose();
      optC.dispose();
      dispose(a);
      dispose(c);
    });
  }

  it('has the documented plain shape and refuses a mismatched state, naming why', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, noDecayOn: 'bn_bias' });
    const grads = new Map(params.map(([n, v]) => [n, tf.onesLike(v)]));
    opt.step(grads);
    const sd = opt.stateDict();
    expect(sd.optimizer).toBe('SGD');
    expect(sd.steps).toBe(1);
    expect(sd.options).toEqual({ momentum: 0.9, dampening: 0, nesterov: false });
    expect(sd.groups).toEqual([
      { lr: 0.1, weightDecay: 1e-4, params: ['fc.weight'] },
      { lr: 0.1, weightDecay: 0, params: ['fc.bias', 'bn.weight', 'bn.bias'] },
    ]);
    expect(sd.state['fc.bias']).toEqual({ step: 1, buffers: { momentum_buffer: { shape: [3], data: [1, 1, 1] } } });
    const adam = new Adam(params, { lr: 0.1 });
    expect(() => adam.loadStateDict(sd)).toThrow(
      /state is from SGD, this optimizer is Adam.*state has 2 parameter groups, this optimizer 1/,
    );
    const bad = structuredClone(sd);
    bad.state['fc.weight'].buffers.momentum_buffer.shape = [4, 3];
    bad.state.nope = { step: 1, buffers: {} };
    expect(() => opt.loadStateDict(bad)).toThrow(
      /'fc.weight'.momentum_buffer has shape \[4, 3\] \(12 values\), the parameter \[3, 4\]; unknown parameter 'nope'/,
    );

    // Whatever is wrong, a refused state dict changes nothing (the hyperparameters are checked before the first change,
    // the new buffers made before the old ones go) and leaks no tensor; checkStateDict refuses the same without loading.
    const before = opt.stateDict();
    const lrs = opt.paramGroups.map((g) => [g.lr, g.weightDecay]);
    const hyper = [opt.momentum, opt.dampening, opt.nesterov];
    const tensors = tf.memory().numTensors;
    const refusals: Array<[(d: Record<string, any>) => void, RegExp]> = [
      [
        (d) => {
          d.options.momentum = -1;
          d.groups[0].lr = 9;
        },
        /options: momentum must be a number >= 0, got -1/,
      ],
      [
        (d) => {
          d.options.nesterov = 'yes';
        },
        /options: nesterov must be true or false, got "yes"/,
      ],
      [
        (d) => {
          d.steps = 1.5;
        },
        /steps is 1\.5, not a non-negative integer/,
      ],
      [
        (d) => {
          d.groups[1].weightDecay = null;
        },
        /group 1: weightDecay must be a number >= 0, got null/,
      ],
      [
        (d) => {
          d.groups[0] = 'all';
        },
        /group 0 is "all", not an object/,
      ],
      [
        (d) => {
          d.state['fc.bias'].step = 'one';
        },
        /'fc\.bias' has step "one", not a non-negative integer/,
      ],
      [
        (d) => {
          d.state['fc.bias'].buffers.exp_avg = d.state['fc.bias'].buffers.momentum_buffer;
        },
        /'fc\.bias'\.exp_avg is not a buffer of SGD \(momentum_buffer\)/,
      ],
      [
        (d) => {
          d.state['fc.bias'].buffers.momentum_buffer.data = ['x', 1, 1];
        },
        /'fc\.bias'\.momentum_buffer is \{"shape":\[3\],"data":\["x",1,1\]\}, not \{ shape, data \} of numbers/,
      ],
      [
        (d) => {
          d.state = null;
        },
        /state is null, not an object of parameter states/,
      ],
    ];
    for (const [edit, message] of refusals) {
      const dict = structuredClone(before) as unknown as Record<string, any>;
      edit(dict);
      expect(() => opt.checkStateDict(dict as OptimizerStateDict), String(message)).toThrow(message);
      expect(() => opt.loadStateDict(dict as OptimizerStateDict), String(message)).toThrow(CheckpointError);
      expect(() => opt.loadStateDict(dict as OptimizerStateDict), String(message)).toThrow(
        new RegExp(`^SGD\\.loadStateDict: .*${message.source}`),
      );
      expect(opt.stateDict()).toEqual(before);
      expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay])).toEqual(lrs);
      expect([opt.momentum, opt.dampening, opt.nesterov]).toEqual(hyper);
      expect(tf.memory().numTensors).toBe(tensors);
    }
    expect(() => opt.loadStateDict(null as unknown as OptimizerStateDict)).toThrow(
      /SGD\.loadStateDict: the state dict is null, not an object/,
    );
    // A valid one still loads, replacing the buffers without a leak.
    const changed = structuredClone(before);
    changed.state['fc.bias'].buffers.momentum_buffer.data = [7, 8, 9];
    opt.loadStateDict(changed);
    expect(opt.stateDict()).toEqual(changed);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([...grads.values()]);
    opt.dispose();
    dispose(params);
  });
});

describe('parameters, groups and gradients', () => {
  function model(): Sequential {
    manualSeed(0);
    return new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new Flatten(), new Linear(2 * 4 * 4, 3));
  }

  it("noDecayOn: 'bn_bias' on a Module leaves out BatchNorm weights and biases and every bias", () => {
    const m = model();
    const opt = new SGD(m, { lr: 0.1, weightDecay: 5e-4, noDecayOn: 'bn_bias' });
    expect(opt.paramGroups.map((g) => [...g.params])).toEqual([
      ['0.weight', '3.weight'],
      ['0.bias', '1.weight', '1.bias', '3.bias'],
    ]);
    expect(opt.paramGroups.map((g) => g.weightDecay)).toEqual([5e-4, 0]);
    const custom = new AdamW(m.namedParameters(), { lr: 1e-3, noDecayOn: (name) => name.startsWith('3.') });
    expect(custom.paramGroups.map((g) => [...g.params])).toEqual([
      ['0.weight', '0.bias', '1.weight', '1.bias'],
      ['3.weight', '3.bias'],
    ]);
    const plain = new Adam(m.parameters(), { lr: 1e-3 });
    expect(plain.paramGroups.map((g) => [...g.params])).toEqual([['0', '1', '2', '3', '4', '5']]);
    m.dispose();
  });

  it('takes gradients keyed by parameter name or by tf variable name, skips missing ones, and sets lr on every group', () => {
    const m = model();
    const opt = new SGD(m, { lr: 0.5, noDecayOn: 'bn_bias', weightDecay: 0.1 });
    const [[wName, w], [bName, b]] = m.namedParameters();
    const w0 = Array.from(w.dataSync());
    const b0 = Array.from(b.dataSync());
    const g = tf.onesLike(w);
    opt.step({ [w.name]: g }); // by tf name, as tf.variableGrads returns
    expectClose(
      w.dataSync(),
      w0.map((v) => v - 0.5 * (1 + 0.1 * v)),
      1e-6,
      wName,
    );
    expect(Array.from(b.dataSync())).toEqual(b0); // no gradient: untouched
    opt.lr = 0.25;
    expect(opt.paramGroups.map((p) => p.lr)).toEqual([0.25, 0.25]);
    const gb = tf.onesLike(b);
    opt.step(new Map([[bName, gb]])); // by parameter name; biases have no decay
    expectClose(
      b.dataSync(),
      b0.map((v) => v - 0.25),
      1e-6,
      bName,
    );
    expect(() => opt.step({ nope: g })).toThrow(/none of the 1 gradients \(nope\) matches a parameter/);
    expect(() => opt.step({ [w.name]: gb })).toThrow(
      /gradient of '0.weight' has shape \[2\], the parameter \[3, 3, 1, 2\]/,
    );
    expect(() => new SGD(m, { lr: -1 })).toThrow(/SGD: lr must be a number >= 0, got -1/);
    expect(() => new SGD(m, { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires momentum > 0/);
    expect(() => new Adam(m, { lr: 0.1, betas: [0.9, 1] })).toThrow(/betas must be < 1/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/no parameters to optimize/);
    tf.dispose([g, gb]);
    m.dispose();
  });

  for (const [name, build] of [
    [
      'SGD',
      (m: Sequential) =>
        new SGD(m, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayOn: 'bn_bias' }),
    ],
    ['Adam', (m: Sequential) => new Adam(m, { lr: 1e-3, amsgrad: true, weightDecay: 1e-4 })],
    ['AdamW', (m: Sequential) => new AdamW(m, { lr: 1e-3, noDecayOn: 'bn_bias' })],
  ] as const) {
    it(`${name}: 50 steps (loss, clipping, schedule) leave the live tensor count where the first left it`, () => {
      const m = model();
      const opt = build(m);
      const scheduler = new LRScheduler(opt, new MultiStepLR({ milestones: [20, 40] }), { by: 'iter' });
      const x = tf.randomNormal([4, 6, 6, 1], 0, 1, 'float32', 1);
      const y = tf.tensor1d([0, 1, 2, 1], 'int32');
      const params = m.parameters();
      const counts: number[] = [];
      for (let i = 0; i < 50; i++) {
        const { value, grads } = tf.variableGrads(
          () => crossEntropy(m.call(x), y, { labelSmoothing: 0.1 }) as tf.Scalar,
          params,
        );
        clipGradNorm(grads, 0.5);
        opt.step(grads);
        scheduler.onIterationEnd();
        tf.dispose([value, ...Object.values(grads)]);
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts.slice(1)).size, `live tensors per step: ${counts.join(' ')}`).toBe(1);
      expect(counts[1]).toBe(counts[0]);
      const viaMinimize: number[] = [];
      for (let i = 0; i < 5; i++) {
        opt.minimize(() => crossEntropy(m.call(x), y));
        viaMinimize.push(tf.memory().numTensors);
      }
      expect(viaMinimize.every((n) => n === counts[0])).toBe(true);
      tf.dispose([x, y]);
      opt.dispose();
      m.dispose();
    });
  }
});
