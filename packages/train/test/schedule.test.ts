// Learning-rate schedules against torch.optim.lr_scheduler (two parameter groups, 30 steps), composition,
// per-epoch / per-iteration driving, and state round trips.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '@cnn/layers';
import {
  CosineAnnealingLR,
  LinearWarmup,
  LRScheduler,
  MultiStepLR,
  SequentialLR,
  StepLR,
  withWarmup,
  type LRSchedule,
} from '../src/index';
import { expectClose, fixture } from './helpers';

type Spec =
  | { type: 'step'; stepSize: number; gamma: number }
  | { type: 'multistep'; milestones: number[]; gamma: number }
  | { type: 'cosine'; tMax: number; etaMin: number }
  | { type: 'linear'; startFactor: number; endFactor?: number; length: number }
  | { type: 'sequential'; milestones: number[]; schedules: Spec[] };
const F = fixture<{ baseLrs: number[]; steps: number; cases: Array<{ name: string; spec: Spec; lrs: number[][] }> }>(
  'schedulers',
);

function build(s: Spec): LRSchedule {
  switch (s.type) {
    case 'step':
      return new StepLR(s);
    case 'multistep':
      return new MultiStepLR(s);
    case 'cosine':
      return new CosineAnnealingLR(s);
    case 'linear':
      return new LinearWarmup(s);
    case 'sequential':
      return new SequentialLR(s.schedules.map(build), s.milestones);
  }
}

const groups = (): Array<{ lr: number }> => F.baseLrs.map((lr) => ({ lr }));

describe('schedules against torch.optim.lr_scheduler', () => {
  for (const c of F.cases) {
    it(`${c.name}: both groups' lr for t = 0..${F.steps}`, () => {
      const target = { paramGroups: groups() };
      const scheduler = new LRScheduler(target, build(c.spec), { by: 'iter' });
      const got = [target.paramGroups.map((g) => g.lr)];
      for (let t = 0; t < F.steps; t++) {
        scheduler.step();
        got.push(target.paramGroups.map((g) => g.lr));
      }
      expectClose(got.flat(), c.lrs.flat(), 1e-9, c.name);
      expect(scheduler.t).toBe(F.steps);
      expectClose(scheduler.lrs, c.lrs[F.steps], 1e-9, 'lrs getter');
    });
  }
});

describe('driving and composing', () => {
  it('steps only in its unit: onEpochEnd for by epoch, onIterationEnd for by iter', () => {
    const perEpoch = { paramGroups: [{ lr: 1 }] };
    const perIter = { paramGroups: [{ lr: 1 }] };
    const e = new LRScheduler(perEpoch, new StepLR({ stepSize: 1, gamma: 0.5 }));
    const i = new LRScheduler(perIter, new StepLR({ stepSize: 1, gamma: 0.5 }), { by: 'iter' });
    expect(e.by).toBe('epoch');
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let it = 0; it < 3; it++) {
        expect(e.onIterationEnd()).toBe(false);
        expect(i.onIterationEnd()).toBe(true);
      }
      expect(e.onEpochEnd()).toBe(true);
      expect(i.onEpochEnd()).toBe(false);
    }
    expect(perEpoch.paramGroups[0].lr).toBe(0.25);
    expect(perIter.paramGroups[0].lr).toBe(0.5 ** 6);
  });

  it('withWarmup is SequentialLR([LinearWarmup, main], [length]); schedules work without an optimizer', () => {
    const a = withWarmup(new CosineAnnealingLR({ tMax: 10 }), { length: 4, startFactor: 0.25 });
    const b = new SequentialLR(
      [new LinearWarmup({ length: 4, startFactor: 0.25 }), new CosineAnnealingLR({ tMax: 10 })],
      [4],
    );
    for (let t = 0; t < 20; t++) expect(a.lrAt(t, 0.1)).toBe(b.lrAt(t, 0.1));
    expect(a.lrAt(0, 0.1)).toBeCloseTo(0.025, 12);
    expect(a.lrAt(4, 0.1)).toBe(0.1);
    expect(a.lrAt(9, 0.1)).toBeCloseTo(0.05, 12);
    expect(new LinearWarmup({ length: 2, startFactor: 0 }).lrAt(0, 1)).toBe(0);
    expect(new LinearWarmup({ length: 3 }).lrAt(0, 3)).toBeCloseTo(1, 12); // PyTorch's default start factor 1/3
  });

  it('state() / load() resume the schedule and re-apply its learning rates', () => {
    const schedule = new MultiStepLR({ milestones: [2, 4], gamma: 0.1 });
    const a = { paramGroups: [{ lr: 0.1 }, { lr: 0.01 }] };
    const s = new LRScheduler(a, schedule, { by: 'epoch' });
    for (let t = 0; t < 3; t++) s.step();
    const saved = JSON.parse(JSON.stringify(s.state()));
    expect(saved).toEqual({ by: 'epoch', t: 3, baseLrs: [0.1, 0.01] });
    const b = { paramGroups: [{ lr: 123 }, { lr: 456 }] };
    const r = new LRScheduler(b, schedule, { by: 'epoch' });
    r.load(saved);
    expect(b.paramGroups.map((g) => g.lr)).toEqual(a.paramGroups.map((g) => g.lr));
    s.step();
    r.step();
    expect(b.paramGroups.map((g) => g.lr)).toEqual(a.paramGroups.map((g) => g.lr));
    expect(() => r.load({ ...saved, by: 'iter' })).toThrow(/state steps by 'iter', this scheduler by 'epoch'/);
    expect(() => r.load({ ...saved, baseLrs: [1] })).toThrow(/1 base learning rates, the optimizer 2 groups/);
    // A refused state changes neither the scheduler nor the learning rates; check() refuses the same without loading.
    const state = r.state();
    const lrs = b.paramGroups.map((g) => g.lr);
    const refused: Array<[unknown, RegExp]> = [
      [{ ...saved, t: -1 }, /t must be a non-negative integer, got -1/],
      [{ ...saved, t: 2.5 }, /t must be a non-negative integer, got 2\.5/],
      [{ ...saved, baseLrs: [0.1, 'x'] }, /baseLrs\[1\] must be a number >= 0, got "x"/],
      [{ ...saved, baseLrs: 'all' }, /baseLrs must be an array of learning rates, got "all"/],
      [{ ...saved, by: 'batch' }, /by must be 'epoch' or 'iter', got "batch"/],
      [null, /the state is null, not \{ by, t, baseLrs \}/],
    ];
    for (const [bad, message] of refused) {
      expect(() => r.check(bad as never), String(message)).toThrow(message);
      expect(() => r.load(bad as never), String(message)).toThrow(CheckpointError);
      expect(() => r.load(bad as never), String(message)).toThrow(new RegExp(`^LRScheduler\\.load: ${message.source}`));
      expect(r.state()).toEqual(state);
      expect(b.paramGroups.map((g) => g.lr)).toEqual(lrs);
    }
  });

  it('rejects bad settings, naming them', () => {
    expect(() => new StepLR({ stepSize: 0 })).toThrow(/StepLR: stepSize must be a positive integer, got 0/);
    expect(() => new MultiStepLR({ milestones: [3, -1] })).toThrow(
      /milestones\[1\] must be a non-negative integer, got -1/,
    );
    expect(() => new CosineAnnealingLR({ tMax: 2.5 })).toThrow(/tMax must be a positive integer/);
    expect(() => new LinearWarmup({ length: 5, startFactor: 2 })).toThrow(
      /startFactor must be a number in \[0, 1\], got 2/,
    );
    expect(() => new SequentialLR([new StepLR({ stepSize: 1 }), new StepLR({ stepSize: 1 })], [])).toThrow(
      /2 schedules need 1 milestones, got 0/,
    );
    expect(
      () =>
        new SequentialLR(
          [new StepLR({ stepSize: 1 }), new StepLR({ stepSize: 1 }), new StepLR({ stepSize: 1 })],
          [5, 5],
        ),
    ).toThrow(/milestones must increase/);
    expect(
      () => new LRScheduler({ paramGroups: [{ lr: 1 }] }, new StepLR({ stepSize: 1 }), { by: 'batch' as 'iter' }),
    ).toThrow(/by must be 'epoch' or 'iter'/);
  });
});
