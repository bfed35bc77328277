// Learning-rate schedules as closed forms (lr at step t from the base lr), composable by concatenation, and one
// driver, LRScheduler, that applies a schedule to an optimizer's parameter groups per epoch or per iteration.
// The closed forms are torch.optim.lr_scheduler's `_get_closed_form_lr`; SequentialLR restarts each schedule at
// its milestone, as PyTorch's does.
import { CheckpointError, jsonPreview } from '@cnn/layers';
import { checkNumber } from './optim/optimizer';

/**
 * A learning-rate schedule: the learning rate after `t` steps (t = 0 before the first) for a parameter group
 * whose base learning rate is `baseLr`. Stateless; {@link LRScheduler} keeps the step count.
 */
export interface LRSchedule {
  /** The learning rate after `t` scheduler steps. */
  lrAt(t: number, baseLr: number): number;
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** Factor per decay (default 0.1). */
  gamma?: number;
}

/**
 * Decays the learning rate by `gamma` every `stepSize` steps: `base · gamma^floor(t / stepSize)`
 * (`torch.optim.lr_scheduler.StepLR`).
 */
export class StepLR implements LRSchedule {
  /** Steps between decays. */
  readonly stepSize: number;
  /** Factor per decay. */
  readonly gamma: number;

  /** @param opts `stepSize` (a positive integer) and `gamma` (default 0.1). */
  constructor(opts: StepLROptions) {
    positiveInt('StepLR', 'stepSize', opts.stepSize);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    checkNumber('StepLR', 'gamma', this.gamma, 0);
  }

  /** `base · gamma^floor(t / stepSize)`. */
  lrAt(t: number, baseLr: number): number {
    return baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Steps at which to decay (a milestone listed twice decays twice, as in PyTorch). */
  milestones: number[];
  /** Factor per milestone passed (default 0.1). */
  gamma?: number;
}

/**
 * Decays the learning rate by `gamma` at each milestone: `base · gamma^(number of milestones <= t)`
 * (`torch.optim.lr_scheduler.MultiStepLR`).
 */
export class MultiStepLR implements LRSchedule {
  /** Sorted milestones. */
  readonly milestones: readonly number[];
  /** Factor per milestone. */
  readonly gamma: number;

  /** @param opts `milestones` (non-negative integers) and `gamma` (default 0.1). */
  constructor(opts: MultiStepLROptions) {
    if (!Array.isArray(opts.milestones)) throw new Error('MultiStepLR: milestones must be an array of step numbers');
    opts.milestones.forEach((m, i) => nonNegativeInt('MultiStepLR', `milestones[${i}]`, m));
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    checkNumber('MultiStepLR', 'gamma', this.gamma, 0);
  }

  /** `base · gamma^(number of milestones <= t)`. */
  lrAt(t: number, baseLr: number): number {
    return baseLr * this.gamma ** this.milestones.filter((m) => m <= t).length;
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Steps of the half cosine period (PyTorch's `T_max`). */
  tMax: number;
  /** The minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing without restarts (`torch.optim.lr_scheduler.CosineAnnealingLR`), in its closed form
 * `etaMin + (base - etaMin) · (1 + cos(π t / tMax)) / 2`. Past `tMax` the cosine continues, so the learning rate
 * rises again, as in PyTorch; set `tMax` to the length of the run (or stop stepping).
 */
export class CosineAnnealingLR implements LRSchedule {
  /** Half period, in steps. */
  readonly tMax: number;
  /** Minimum learning rate. */
  readonly etaMin: number;

  /** @param opts `tMax` (positive) and `etaMin` (default 0). */
  constructor(opts: CosineAnnealingLROptions) {
    positiveInt('CosineAnnealingLR', 'tMax', opts.tMax);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    checkNumber('CosineAnnealingLR', 'etaMin', this.etaMin, 0);
  }

  /** `etaMin + (base - etaMin) · (1 + cos(π t / tMax)) / 2`. */
  lrAt(t: number, baseLr: number): number {
    return this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}

/** Options of {@link LinearWarmup}. */
export interface LinearWarmupOptions {
  /** Steps over which the factor moves from `startFactor` to `endFactor` (PyTorch's `total_iters`). */
  length: number;
  /** Factor of the base learning rate at t = 0, in [0, 1] (default 1/3, PyTorch's). */
  startFactor?: number;
  /** Factor from t = `length` on, in [0, 1] (default 1). */
  endFactor?: number;
}

/**
 * A linear ramp of the learning rate's factor (`torch.optim.lr_scheduler.LinearLR`):
 * `base · (start + (end - start) · min(t, length) / length)`. As a warm-up it goes from `startFactor` up to 1;
 * with `startFactor: 1, endFactor: 0` it is a linear decay. Unlike PyTorch, `startFactor` may be 0.
 */
export class LinearWarmup implements LRSchedule {
  /** Length of the ramp, in steps. */
  readonly length: number;
  /** Factor at t = 0. */
  readonly startFactor: number;
  /** Factor at and after t = length. */
  readonly endFactor: number;

  /** @param opts `length` (positive integer), `startFactor` (default 1/3), `endFactor` (default 1). */
  constructor(opts: LinearWarmupOptions) {
    positiveInt('LinearWarmup', 'length', opts.length);
    this.length = opts.length;
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    checkNumber('LinearWarmup', 'startFactor', this.startFactor, 0, 1);
    checkNumber('LinearWarmup', 'endFactor', this.endFactor, 0, 1);
  }

  /** `base · (start + (end - start) · min(t, length) / length)`. */
  lrAt(t: number, baseLr: number): number {
    return baseLr * (this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.length, t)) / this.length);
  }
}

/**
 * Schedules one after the other (`torch.optim.lr_scheduler.SequentialLR`): `schedules[k]` runs from
 * `milestones[k - 1]` on, restarted at its own t = 0, so each one sees steps counted from its milestone.
 *
 * @example
 * // 5 steps of linear warm-up from 1% of the base lr, then cosine annealing over the remaining 95
 * const schedule = new SequentialLR([new LinearWarmup({ length: 5, startFactor: 0.01 }), new CosineAnnealingLR({ tMax: 95 })], [5]);
 */
export class SequentialLR implements LRSchedule {
  /** The schedules, in order. */
  readonly schedules: readonly LRSchedule[];
  /** Where each schedule after the first begins. */
  readonly milestones: readonly number[];

  /**
   * @param schedules two or more schedules.
   * @param milestones one fewer than the schedules, strictly increasing positive integers.
   */
  constructor(schedules: LRSchedule[], milestones: number[]) {
    if (!Array.isArray(schedules) || schedules.length === 0)
      throw new Error('SequentialLR: needs at least one schedule');
    schedules.forEach((s, i) => {
      if (!s || typeof s.lrAt !== 'function')
        throw new Error(`SequentialLR: schedules[${i}] is not a schedule (no lrAt)`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedules.length - 1) {
      throw new Error(
        `SequentialLR: ${schedules.length} schedules need ${schedules.length - 1} milestones, got ${Array.isArray(milestones) ? milestones.length : String(milestones)}`,
      );
    }
    milestones.forEach((m, i) => {
      positiveInt('SequentialLR', `milestones[${i}]`, m);
      if (i > 0 && m <= milestones[i - 1])
        throw new Error(`SequentialLR: milestones must increase, got [${milestones.join(', ')}]`);
    });
    this.schedules = [...schedules];
    this.milestones = [...milestones];
  }

  /** The active schedule's learning rate at `t` minus its milestone. */
  lrAt(t: number, baseLr: number): number {
    let k = 0;
    while (k < this.milestones.length && this.milestones[k] <= t) k++;
    const start = k === 0 ? 0 : this.milestones[k - 1];
    return this.schedules[k].lrAt(t - start, baseLr);
  }
}

/**
 * Puts a linear warm-up of `length` steps (from `startFactor`, default 1/3, up to 1) in front of a schedule:
 * `SequentialLR([LinearWarmup, main], [length])`.
 * The main schedule starts at its own t = 0 when the warm-up ends (so give it the remaining length, e.g. a
 * cosine's `tMax` = total - warm-up).
 */
export function withWarmup(
  main: LRSchedule,
  warmup: Pick<LinearWarmupOptions, 'length' | 'startFactor'>,
): SequentialLR {
  return new SequentialLR(
    [new LinearWarmup({ length: warmup.length, startFactor: warmup.startFactor }), main],
    [warmup.length],
  );
}

/** The part of an optimizer a scheduler drives: parameter groups with a settable `lr`. */
export interface LRTarget {
  /** The groups whose `lr` the schedule sets. */
  readonly paramGroups: ReadonlyArray<{
    /** The group's learning rate, written by the schedule. */
    lr: number;
  }>;
}

/** When a scheduler steps: after every epoch or after every iteration (batch). */
export type ScheduleUnit = 'epoch' | 'iter';

/** Options of {@link LRScheduler}. */
export interface LRSchedulerOptions {
  /** Whether the schedule's steps are epochs (default) or iterations; every length in the schedule is in this unit. */
  by?: ScheduleUnit;
}

/** A scheduler's state as plain data, for checkpoints. */
export interface LRSchedulerState {
  /** Whether the schedule steps per iteration or per epoch. */
  by: ScheduleUnit;
  /** Steps taken (PyTorch's `last_epoch`). */
  t: number;
  /** The groups' base learning rates. */
  baseLrs: number[];
}

/**
 * Applies a schedule to an optimizer: remembers each group's base learning rate (its lr when the scheduler is
 * built), sets every group's lr to `schedule.lrAt(0, base)` at once, and to `lrAt(t, base)` after each `step()`,
 * as `torch.optim.lr_scheduler` does. A training loop calls `step()` after each optimizer step (`by: 'iter'`) or
 * each epoch (`by: 'epoch'`); `onIterationEnd()` / `onEpochEnd()` do that for it, stepping only in their unit.
 *
 * @example
 * const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
 * const scheduler = new LRScheduler(opt, withWarmup(new CosineAnnealingLR({ tMax: 95 }), { length: 5 }), { by: 'epoch' });
 * for (let epoch = 0; epoch < 100; epoch++) { trainOneEpoch(); scheduler.step(); }
 */
export class LRScheduler {
  /** The unit of one `step()`. */
  readonly by: ScheduleUnit;
  private readonly optimizer: LRTarget;
  private readonly schedule: LRSchedule;
  private baseLrs: number[];
  private steps = 0;

  /** Binds `schedule` to `optimizer`'s parameter groups and applies its t = 0 learning rate. */
  constructor(optimizer: LRTarget, schedule: LRSchedule, opts: LRSchedulerOptions = {}) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups))
      throw new Error('LRScheduler: optimizer has no paramGroups');
    if (!schedule || typeof schedule.lrAt !== 'function')
      throw new Error('LRScheduler: schedule has no lrAt(t, baseLr)');
    this.by = opts.by ?? 'epoch';
    if (this.by !== 'epoch' && this.by !== 'iter')
      throw new Error(`LRScheduler: by must be 'epoch' or 'iter', got '${String(this.by)}'`);
    this.optimizer = optimizer;
    this.schedule = schedule;
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Steps taken so far. */
  get t(): number {
    return this.steps;
  }

  /** The learning rate of each group now. */
  get lrs(): number[] {
    return this.baseLrs.map((b) => this.schedule.lrAt(this.steps, b));
  }

  /** The learning rate of the first group now. */
  get lr(): number {
    return this.lrs[0];
  }

  /** Advances one step (one epoch or one iteration, whichever `by` says) and sets the groups' learning rates. */
  step(): void {
    this.steps += 1;
    this.apply();
  }

  /** For a training loop: steps if this scheduler runs per iteration. Returns whether it stepped. */
  onIterationEnd(): boolean {
    if (this.by !== 'iter') return false;
    this.step();
    return true;
  }

  /** For a training loop: steps if this scheduler runs per epoch. Returns whether it stepped. */
  onEpochEnd(): boolean {
    if (this.by !== 'epoch') return false;
    this.step();
    return true;
  }

  /** The state to checkpoint. */
  state(): LRSchedulerState {
    return { by: this.by, t: this.steps, baseLrs: [...this.baseLrs] };
  }

  /**
   * Checks a saved state against this scheduler without changing anything: what {@link load} checks (`by` 'epoch'
   * or 'iter' and this scheduler's unit, `t` a non-negative integer, `baseLrs` finite numbers >= 0, as many as the
   * optimizer has groups).
   *
   * @throws CheckpointError naming what does not match.
   */
  check(state: LRSchedulerState): void {
    this.stateProblem(state, 'LRScheduler.check');
  }

  /**
   * Restores a saved state and re-applies its learning rates to the optimizer. A state that {@link check} refuses
   * changes nothing.
   *
   * @throws CheckpointError naming what does not match.
   */
  load(state: LRSchedulerState): void {
    this.stateProblem(state, 'LRScheduler.load');
    this.steps = state.t;
    this.baseLrs = [...state.baseLrs];
    this.apply();
  }

  private stateProblem(state: LRSchedulerState, where: string): void {
    const problem = schedulerStateProblem(state);
    if (problem !== null) throw new CheckpointError(`${where}: ${problem}`);
    if (state.by !== this.by)
      throw new CheckpointError(`${where}: state steps by '${state.by}', this scheduler by '${this.by}'`);
    if (state.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new CheckpointError(
        `${where}: state has ${state.baseLrs.length} base learning rates, the optimizer ${this.optimizer.paramGroups.length} groups`,
      );
    }
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.schedule.lrAt(this.steps, this.baseLrs[i]);
    });
  }
}

/**
 * What is wrong with a saved scheduler state as data (`by` 'epoch' or 'iter', `t` a non-negative integer,
 * `baseLrs` an array of finite numbers >= 0), or null when it is well-formed. Whether it fits a given scheduler is
 * {@link LRScheduler.check}'s part.
 */
export function schedulerStateProblem(state: unknown): string | null {
  if (state === null || typeof state !== 'object' || Array.isArray(state))
    return `the state is ${jsonPreview(state)}, not { by, t, baseLrs }`;
  const { by, t, baseLrs } = state as Record<string, unknown>;
  if (by !== 'epoch' && by !== 'iter') return `by must be 'epoch' or 'iter', got ${jsonPreview(by)}`;
  if (!Number.isSafeInteger(t) || (t as number) < 0) return `t must be a non-negative integer, got ${jsonPreview(t)}`;
  if (!Array.isArray(baseLrs)) return `baseLrs must be an array of learning rates, got ${jsonPreview(baseLrs)}`;
  const bad = baseLrs.findIndex((lr) => typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0);
  if (bad >= 0) return `baseLrs[${bad}] must be a number >= 0, got ${jsonPreview(baseLrs[bad])}`;
  return null;
}

function positiveInt(op: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new Error(`${op}: ${what} must be a positive integer, got ${String(v)}`);
}

function nonNegativeInt(op: string, what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new Error(`${op}: ${what} must be a non-negative integer, got ${String(v)}`);
}
