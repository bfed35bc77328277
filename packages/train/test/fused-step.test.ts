// SGD's fused step on wasm (every parameter in one kernel call, `sgdStep` of @cnn/tensor) against the per-parameter
// tfjs ops it replaces, which the cpu backend runs: the same parameters and momentum buffers bit for bit after 6
// steps, for momentum with dampening, Nesterov, weight decay with a no-decay group and per-group learning rates,
// and plain SGD; that the fused kernel really ran; and a flat live tensor count.
import { afterAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { SGD, type SGDOptions } from '../src/index';

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
async function run(backend: 'wasm' | 'cpu', opts: SGDOptions, lrs?: number[]) {
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
  const opt = new SGD(params, opts);
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
    Object.entries(state.state).map(([n, s]) => [n, Array.from(s.buffers.momentum_buffer?.data ?? [])]),
  );
  opt.dispose();
  for (const v of params.values()) v.dispose();
  return { out, buffers, kernels, leaked };
}

const CONFIGS: Array<[string, SGDOptions, number[] | undefined]> = [
  ['momentum 0.9, dampening 0.1', { lr: 0.05, momentum: 0.9, dampening: 0.1 }, undefined],
  [
    'Nesterov, weight decay 5e-4, no decay on bn/bias, two learning rates',
    { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayOn: 'bn_bias' },
    [0.1, 0.01],
  ],
  ['plain SGD with weight decay', { lr: 0.3, weightDecay: 1e-2 }, undefined],
];

afterAll(async () => {
  await setBackend('wasm');
});

describe('SGD fused step on wasm', () => {
  for (const [name, opts, lrs] of CONFIGS) {
    it(`${name}: the same parameters and buffers bit for bit as the per-parameter ops (cpu)`, async () => {
      const fused = await run('wasm', opts, lrs);
      const ops = await run('cpu', opts, lrs);
      expect(fused.kernels.has('CnnSgdStep')).toBe(true);
      expect(ops.kernels.has('CnnSgdStep')).toBe(false);
      expect(fused.leaked).toBe(0);
      expect(ops.leaked).toBe(0);
      expect(fused.out).toEqual(ops.out);
      expect(fused.buffers).toEqual(ops.buffers);
    });
  }
});
