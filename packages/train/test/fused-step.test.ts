// The optimizers' fused steps on wasm (every parameter in one kernel call: `sgdStep` and `adamStep` of @cnn/tensor)
// against the per-parameter tfjs ops they replace, which the cpu backend runs: the same parameters and buffers bit
// for bit after 6 steps, for SGD (momentum with dampening, Nesterov, weight decay with a no-decay group and
// per-group learning rates, plain) and Adam / AdamW (weight decay, AMSGrad, two groups); that the fused kernel
// really ran; and a flat live tensor count.
import { afterAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { Adam, AdamW, SGD, type AdamOptions, type Optimizer, type SGDOptions } from '../src/index';

/** Deterministic values in [-1, 1) (a linear congruential generator). */
function values(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 31 - 1;
  }
  return v;
}

const SHAPES: Record<string, number[]> = {
  'conv.weight': [3, 3, 2, 5],
  'bn.weight': [5],
  'bn.bias': [5],
  'fc.weight': [7],
};

/** Runs 6 steps on `backend` with gradients made from the step number; returns every parameter and buffer. */
async function run(backend: 'wasm' | 'cpu', make: (p: Map<string, tf.Variable>) => Optimizer, lrs?: number[]) {
  await setBackend(backend);
  const params = new Map(
    Object.entries(SHAPES).map(([n, s], i) => [
      n,
      tf.variable(
        tf.tensor(
          values(
            s.reduce((a, b) => a * b, 1),
            i + 1,
          ),
          s,
        ),
        true,
      ),
    ]),
  );
  const opt = make(params);
  if (lrs) opt.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
  // Counted after the first step, which makes the momentum buffers.
  let before = 0;
  const kernels = new Set<string>();
  for (let step = 0; step < 6; step++) {
    const grads = new Map(
      Object.entries(SHAPES).map(([n, s], i) => [
        n,
        tf.tensor(
          values(
            s.reduce((a, b) => a * b, 1),
            100 * step + i,
          ),
          s,
        ),
      ]),
    );
    const prof = await tf.profile(() => opt.step(grads));
    for (const k of prof.kernels) kernels.add(k.name);
    tf.dispose([...grads.values()]);
    if (step === 0) before = tf.memory().numTensors;
  }
  const leaked = tf.memory().numTensors - before;
  const state = opt.stateDict();
  const out = Object.fromEntries([...params].map(([n, v]) => [n, Array.from(v.dataSync())]));
  const buffers = Object.fromEntries(
    Object.entries(state.state).map(([n, s]) => [
      n,
      Object.fromEntries(Object.entries(s.buffers).map(([k, b]) => [k, Array.from(b.data)])),
    ]),
  );
  opt.dispose();
  for (const v of params.values()) v.dispose();
  return { out, buffers, kernels, leaked };
}

const sgd =
  (o: SGDOptions) =>
  (p: Map<string, tf.Variable>): Optimizer =>
    new SGD(p, o);
const adam =
  (o: AdamOptions, decoupled = false) =>
  (p: Map<string, tf.Variable>): Optimizer =>
    decoupled ? new AdamW(p, o) : new Adam(p, o);

const CONFIGS: Array<[string, (p: Map<string, tf.Variable>) => Optimizer, string, number[] | undefined]> = [
  ['SGD momentum 0.9, dampening 0.1', sgd({ lr: 0.05, momentum: 0.9, dampening: 0.1 }), 'CnnSgdStep', undefined],
  [
    'SGD Nesterov, weight decay 5e-4, no decay on bn/bias, two learning rates',
    sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayOn: 'bn_bias' }),
    'CnnSgdStep',
    [0.1, 0.01],
  ],
  ['plain SGD with weight decay', sgd({ lr: 0.3, weightDecay: 1e-2 }), 'CnnSgdStep', undefined],
  ['Adam, weight decay 1e-2 (L2)', adam({ lr: 0.01, weightDecay: 1e-2 }), 'CnnAdamStep', undefined],
  ['Adam AMSGrad, betas 0.8 / 0.99', adam({ lr: 0.02, betas: [0.8, 0.99], amsgrad: true }), 'CnnAdamStep', undefined],
  [
    'AdamW, weight decay 0.05, no decay on bn/bias, two learning rates',
    adam({ lr: 0.01, weightDecay: 0.05, noDecayOn: 'bn_bias', eps: 1e-6 }, true),
    'CnnAdamStep',
    [0.01, 0.003],
  ],
];

afterAll(async () => {
  await setBackend('wasm');
});

describe('fused optimizer steps on wasm', () => {
  for (const [name, make, kernel, lrs] of CONFIGS) {
    it(`${name}: the same parameters and buffers bit for bit as the per-parameter ops (cpu)`, async () => {
      const fused = await run('wasm', make, lrs);
      const ops = await run('cpu', make, lrs);
      expect(fused.kernels.has(kernel)).toBe(true);
      expect(ops.kernels.has(kernel)).toBe(false);
      expect(fused.leaked).toBe(0);
      expect(ops.leaked).toBe(0);
      expect(fused.out).toEqual(ops.out);
      expect(fused.buffers).toEqual(ops.buffers);
    });
  }
});
