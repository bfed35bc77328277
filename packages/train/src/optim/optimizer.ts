// The optimizer base class: which parameters, in which groups (weight decay on or off), the per-parameter state
// (as tf.Variables, updated in place, so the live tensor count stays flat), gradients by name, and a state dict
// of plain numbers that restores a run bit for bit.
import { tf, type Tensor } from '@cnn/tensor';
import { BatchNorm2d, CheckpointError, Module, clipText, jsonPreview } from '@cnn/layers';
import { fmtShape, isRecord, sizeOf, toHostArray, type HostArray } from '../host';

/**
 * What an optimizer can work on:
 * - a `Module` (its `namedParameters()`; `noDecayOn: 'bn_bias'` then knows which parameters are normalisation ones),
 * - named parameters (`module.namedParameters()`, a `Map` or a record of name to variable),
 * - or a plain `tf.Variable[]` (keyed `'0'`, `'1'`, ... in the state dict, in order).
 */
export type ParamsInput =
  | Module
  | tf.Variable[]
  | Array<[string, tf.Variable]>
  | Map<string, tf.Variable>
  | Record<string, tf.Variable>;

/**
 * Parameters to exclude from weight decay: `'bn_bias'` (the weights and biases of normalisation layers and every
 * bias), or a predicate on the parameter's name (and variable) that returns true to exclude it.
 */
export type NoDecayRule = 'bn_bias' | ((name: string, param: tf.Variable) => boolean);

/**
 * Gradients keyed by parameter name or by the `tf.Variable`'s own `name` (what `tf.variableGrads` returns). For an
 * optimizer built on a plain `tf.Variable[]` only the tf name counts (its parameter names '0', '1', ... could clash
 * with tf's numeric variable names). Missing or null entries are skipped, as PyTorch skips a `.grad` of None.
 */
export type Gradients = Map<string, Tensor | null> | Record<string, Tensor | null>;

/** Options every optimizer shares. */
export interface BaseOptimizerOptions {
  /** Learning rate. */
  lr: number;
  /** Weight decay (0 by default except AdamW's 0.01). */
  weightDecay?: number;
  /**
   * Leave some parameters out of weight decay. The optimizer then has two parameter groups: group 0 with
   * `weightDecay`, group 1 (the excluded parameters) with 0.
   */
  noDecayOn?: NoDecayRule;
  /**
   * Parameter groups of their own (per-group learning rates, as PyTorch's `param_groups` or timm's layer-wise rates):
   * a parameter goes to the first rule whose `match` takes it, and keeps the default `lr` / `weightDecay` otherwise.
   * The groups are, in order: the default one (and its no-decay twin with `noDecayOn`), then each rule's (and its
   * no-decay twin), even when a rule matches nothing, so the same options always give the same groups (a state dict
   * saved by one loads into the other). A schedule scales each group from its own base `lr`.
   *
   * @example
   * // the classifier head at lr 0.01, the rest at a tenth of it
   * new SGD(model, { lr: 0.001, groups: [{ match: (name) => name.startsWith('fc.'), lr: 0.01 }] });
   */
  groups?: readonly ParamGroupRule[];
}

/** One rule of {@link BaseOptimizerOptions.groups}. */
export interface ParamGroupRule {
  /** Whether a parameter (by its name, and variable) belongs to this group. */
  match: (name: string, param: tf.Variable) => boolean;
  /** The group's learning rate (default: the optimizer's `lr`). */
  lr?: number;
  /** The group's weight decay (default: the optimizer's `weightDecay`; 0 in its no-decay twin). */
  weightDecay?: number;
}

/** A parameter group: a learning rate and a weight decay shared by some parameters (PyTorch's `param_groups`). */
export interface ParamGroup {
  /** Learning rate of this group; schedules set it. */
  lr: number;
  /** Weight decay of this group. */
  weightDecay: number;
  /** Names of the group's parameters. */
  readonly params: readonly string[];
}

/** The state of one parameter in a state dict: its step count and its buffers (`momentum_buffer`, `exp_avg`, ...). */
export interface ParamState {
  /** Updates this parameter has had. */
  step: number;
  /** The optimizer's buffers of this parameter, by PyTorch's name. */
  buffers: Record<string, HostArray>;
}

/**
 * An optimizer's state as plain data (JSON-serialisable): which optimizer, its hyperparameters, the groups'
 * learning rates and weight decays, and every parameter's step count and buffers. Loading it into an optimizer
 * built on the same parameters makes the next steps bit-identical to an uninterrupted run.
 */
export interface OptimizerStateDict {
  /** Which optimizer saved it (`SGD`, `Adam`, `AdamW`); loading it into another kind is refused. */
  optimizer: string;
  /** Number of `step()` calls so far. */
  steps: number;
  /** The optimizer's own hyperparameters (momentum, betas, ...). */
  options: Record<string, number | boolean>;
  /** The parameter groups in order. */
  groups: Array<{
    /** The group's current learning rate. */
    lr: number;
    /** The group's weight decay. */
    weightDecay: number;
    /** Names of the group's parameters. */
    params: string[];
  }>;
  /** By parameter name; parameters that never had a gradient are absent. */
  state: Record<string, ParamState>;
}

/** One parameter as an optimizer holds it. */
export interface ParamEntry {
  /** Its name (or its index, for a plain `tf.Variable[]`). */
  readonly name: string;
  /** The variable it updates in place. */
  readonly variable: tf.Variable;
  /** Index of its group in `paramGroups`. */
  readonly group: number;
}

/** Per-parameter state while training: the step count and the buffers, as variables updated in place. */
export interface LiveState {
  /** Updates so far. */
  step: number;
  /** Buffers by PyTorch's name (`momentum_buffer`, `exp_avg`, `exp_avg_sq`). */
  buffers: Map<string, tf.Variable>;
}

/** One parameter of a step as {@link Optimizer}'s fused update sees it. */
export interface FusedItem {
  /** The variable to update. */
  readonly param: tf.Variable;
  /** Its gradient. */
  readonly grad: Tensor;
  /** Its group (learning rate, weight decay). */
  readonly group: ParamGroup;
  /** Its state (step count already incremented, buffers). */
  readonly state: LiveState;
}

/**
 * Base of {@link SGD}, {@link Adam} and {@link AdamW}. A subclass implements `update` for one parameter; the base
 * class resolves gradients, runs every update in one `tidy`, and saves and restores state.
 */
export abstract class Optimizer {
  /** PyTorch's name of the algorithm, stored in the state dict. */
  abstract readonly kind: string;
  /**
   * The parameter groups (one, two with `noDecayOn`, more with `groups`). Set `lr` here for per-group learning
   * rates.
   */
  readonly paramGroups: ParamGroup[];
  /** Every parameter with its group, in order. */
  readonly params: readonly ParamEntry[];
  /** Number of `step()` calls so far. */
  steps = 0;
  private readonly byIndex: boolean;
  private readonly state = new Map<string, LiveState>();

  protected constructor(params: ParamsInput, opts: BaseOptimizerOptions, defaultWeightDecay: number) {
    const name = this.constructor.name;
    checkNumber(name, 'lr', opts.lr, 0);
    const weightDecay = opts.weightDecay ?? defaultWeightDecay;
    checkNumber(name, 'weightDecay', weightDecay, 0);
    const { entries, module, byIndex } = resolveParams(name, params);
    this.byIndex = byIndex;
    const exclude = opts.noDecayOn === undefined ? null : noDecayPredicate(name, opts.noDecayOn, module);
    const rules = checkGroupRules(name, opts.groups);
    const span = exclude ? 2 : 1;
    const groupOf = (n: string, v: tf.Variable): number => {
      const rule = rules.findIndex((r) => r.match(n, v));
      return (rule + 1) * span + (exclude?.(n, v) ? 1 : 0);
    };
    this.params = entries.map(([n, v]) => ({ name: n, variable: v, group: groupOf(n, v) }));
    const groups: ParamGroup[] = [];
    for (let r = 0; r <= rules.length; r++) {
      const rule = r === 0 ? undefined : rules[r - 1];
      for (let k = 0; k < span; k++) {
        const g = r * span + k;
        groups.push({
          lr: rule?.lr ?? opts.lr,
          weightDecay: k === 1 ? 0 : (rule?.weightDecay ?? weightDecay),
          params: this.params.filter((p) => p.group === g).map((p) => p.name),
        });
      }
    }
    this.paramGroups = groups;
  }

  /** The learning rate of the first group. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets the learning rate of every group. */
  set lr(value: number) {
    checkNumber(this.constructor.name, 'lr', value, 0);
    for (const g of this.paramGroups) g.lr = value;
  }

  /** The hyperparameters a subclass saves in (and restores from) the state dict. */
  protected abstract get hyper(): Record<string, number | boolean>;
  /** Restores the hyperparameters from a state dict (already checked by {@link hyperProblem}). */
  protected abstract set hyper(values: Record<string, number | boolean>);
  /** What is wrong with saved hyperparameters (`momentum must be ...`), or null when `set hyper` can take them. */
  protected abstract hyperProblem(values: Record<string, unknown>): string | null;
  /** The names of the buffers this optimizer keeps per parameter (`momentum_buffer`, `exp_avg`, ...). */
  protected abstract readonly bufferNames: readonly string[];

  /**
   * Computes the new value of one parameter (inside a `tidy`) and updates its buffers with `assign`.
   * `state.step` has already been incremented.
   */
  protected abstract update(param: tf.Variable, grad: Tensor, group: ParamGroup, state: LiveState): Tensor;

  /**
   * Updates every parameter of a step at once (inside the step's `tidy`, step counts already incremented), when
   * the subclass has a fused kernel for the active backend; returns false to have {@link update} run per parameter.
   * A fused update must give the same values as {@link update}, bit for bit.
   */
  protected fusedUpdate(_items: readonly FusedItem[]): boolean {
    return false;
  }

  /** Allocates a state buffer (a non-trainable variable) for a parameter. */
  protected buffer(state: LiveState, key: string, init: Tensor): tf.Variable {
    const v = tf.variable(init, false);
    state.buffers.set(key, v);
    return v;
  }

  /**
   * Applies one update from gradients keyed by parameter name or by the variable's tf name (as
   * `tf.variableGrads` returns them). Parameters without a gradient are skipped. The gradients are not disposed.
   *
   * @throws when a gradient's shape differs from its parameter's, or no gradient matches any parameter.
   */
  step(grads: Gradients): void {
    const get = gradientLookup(grads);
    const found: Array<[ParamEntry, Tensor]> = [];
    for (const p of this.params) {
      const g = get(p.variable.name) ?? (this.byIndex ? undefined : get(p.name));
      if (!g) continue;
      if (g.shape.length !== p.variable.shape.length || g.shape.some((d, i) => d !== p.variable.shape[i])) {
        throw new Error(
          `${this.constructor.name}.step: gradient of '${p.name}' has shape ${fmtShape(g.shape)}, the parameter ${fmtShape(p.variable.shape)}`,
        );
      }
      found.push([p, g]);
    }
    const count = grads instanceof Map ? grads.size : Object.keys(grads).length;
    if (found.length === 0 && count > 0) {
      const keys = grads instanceof Map ? [...grads.keys()] : Object.keys(grads);
      throw new Error(
        `${this.constructor.name}.step: none of the ${count} gradients (${keys.slice(0, 5).join(', ')}${count > 5 ? ', ...' : ''}) matches a parameter`,
      );
    }
    tf.tidy(() => {
      const items: FusedItem[] = found.map(([p, g]) => {
        let s = this.state.get(p.name);
        if (!s) {
          s = { step: 0, buffers: new Map() };
          this.state.set(p.name, s);
        }
        s.step += 1;
        return { param: p.variable, grad: g, group: this.paramGroups[p.group], state: s };
      });
      if (!this.fusedUpdate(items)) {
        for (const it of items) it.param.assign(this.update(it.param, it.grad, it.group, it.state));
      }
    });
    this.steps += 1;
  }

  /**
   * Computes the gradients of `lossFn` with respect to the trainable parameters (`tf.variableGrads`), applies
   * one step, and frees the gradients and the loss tensor. Unlike tfjs's `Optimizer.minimize`, it returns no
   * tensor: the loss comes back as a plain JavaScript number, read from the device before the tensor is freed.
   *
   * @param lossFn - builds the scalar loss from the current parameters.
   * @returns the loss before the step, as a `number` (nothing to dispose).
   *
   * @example
   * const loss: number = opt.minimize(() => crossEntropy(model.call(x), y));
   */
  minimize(lossFn: () => Tensor): number {
    const vars = this.params.map((p) => p.variable).filter((v) => v.trainable);
    const { value, grads } = tf.variableGrads(lossFn as () => tf.Scalar, vars);
    try {
      this.step(grads);
      return value.dataSync()[0];
    } finally {
      value.dispose();
      tf.dispose(Object.values(grads).filter((g): g is Tensor => g !== null));
    }
  }

  /** The optimizer's state as plain data (see {@link OptimizerStateDict}). */
  stateDict(): OptimizerStateDict {
    const state: Record<string, ParamState> = {};
    for (const [name, s] of this.state) {
      const buffers: Record<string, HostArray> = {};
      for (const [k, v] of s.buffers) buffers[k] = toHostArray(v);
      state[name] = { step: s.step, buffers };
    }
    return {
      optimizer: this.kind,
      steps: this.steps,
      options: { ...this.hyper },
      groups: this.paramGroups.map((g) => ({ lr: g.lr, weightDecay: g.weightDecay, params: [...g.params] })),
      state,
    };
  }

  /**
   * Checks a state dict against this optimizer without changing anything: what {@link loadStateDict} checks before
   * it changes anything. Throws the same {@link CheckpointError}; use it to validate several things (weights,
   * optimizer, schedule) before applying any of them.
   */
  checkStateDict(dict: OptimizerStateDict): void {
    this.stateDictProblems(dict, `${this.constructor.name}.checkStateDict`);
  }

  /**
   * Restores a state dict saved by the same kind of optimizer over the same parameters (names and groups):
   * learning rates, weight decays and hyperparameters (as PyTorch, the saved ones win), step counts and buffers.
   *
   * Everything is checked first, and a failed load changes nothing: the kind, the step count, the hyperparameters
   * (as the constructor checks them), every group (its parameters, a finite `lr` and `weightDecay` >= 0), and every
   * parameter's state (a known parameter, a step count, buffers this optimizer keeps, each with the parameter's
   * shape and that many numbers). The new buffers are made before the old ones are freed.
   *
   * @throws CheckpointError naming every mismatch (at most 20 of them) before changing anything.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    this.stateDictProblems(dict, `${this.constructor.name}.loadStateDict`);
    const built = new Map<string, LiveState>();
    try {
      for (const [pname, s] of Object.entries(dict.state)) {
        const live: LiveState = { step: s.step, buffers: new Map() };
        built.set(pname, live);
        for (const [k, b] of Object.entries(s.buffers)) {
          live.buffers.set(
            k,
            tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(b.data), b.shape, 'float32'), false)),
          );
        }
      }
    } catch (err) {
      for (const s of built.values()) for (const v of s.buffers.values()) v.dispose();
      throw err;
    }
    this.disposeState();
    dict.groups.forEach((g, i) => {
      this.paramGroups[i].lr = g.lr;
      this.paramGroups[i].weightDecay = g.weightDecay;
    });
    this.hyper = dict.options;
    this.steps = dict.steps;
    for (const [pname, live] of built) this.state.set(pname, live);
  }

  /** Throws a CheckpointError (message starting with `where`) listing what keeps `dict` from loading. */
  private stateDictProblems(dict: OptimizerStateDict, where: string): void {
    if (!isRecord(dict)) throw new CheckpointError(`${where}: the state dict is ${jsonPreview(dict)}, not an object`);
    const problems: string[] = [];
    if (dict.optimizer !== this.kind)
      problems.push(
        `state is from ${typeof dict.optimizer === 'string' ? clipText(dict.optimizer, 40) : jsonPreview(dict.optimizer)}, this optimizer is ${this.kind}`,
      );
    if (!Number.isSafeInteger(dict.steps) || dict.steps < 0)
      problems.push(`steps is ${jsonPreview(dict.steps)}, not a non-negative integer`);
    if (!isRecord(dict.options)) problems.push(`options is ${jsonPreview(dict.options)}, not an object`);
    else {
      const bad = this.hyperProblem(dict.options);
      if (bad !== null) problems.push(`options: ${bad}`);
    }
    if (!Array.isArray(dict.groups) || dict.groups.length !== this.paramGroups.length) {
      problems.push(
        `state has ${Array.isArray(dict.groups) ? dict.groups.length : 0} parameter groups, this optimizer ${this.paramGroups.length}`,
      );
    } else {
      dict.groups.forEach((g: unknown, i) => {
        if (!isRecord(g)) return void problems.push(`group ${i} is ${jsonPreview(g)}, not an object`);
        const own = this.paramGroups[i].params;
        const params = g.params;
        if (!Array.isArray(params) || params.length !== own.length || params.some((p, j) => p !== own[j])) {
          problems.push(`group ${i} holds ${jsonPreview(params)}, this optimizer's ${jsonPreview(own)}`);
        }
        for (const field of ['lr', 'weightDecay'] as const) {
          const bad = numberProblem(field, g[field], 0);
          if (bad !== null) problems.push(`group ${i}: ${bad}`);
        }
      });
    }
    const byName = new Map(this.params.map((p) => [p.name, p]));
    if (!isRecord(dict.state)) problems.push(`state is ${jsonPreview(dict.state)}, not an object of parameter states`);
    else {
      for (const [pname, s] of Object.entries(dict.state as Record<string, unknown>)) {
        if (problems.length > MAX_PROBLEMS) break;
        const p = byName.get(pname);
        const at = `'${clipText(pname, 120)}'`;
        if (!p) {
          problems.push(`unknown parameter ${at}`);
          continue;
        }
        if (!isRecord(s)) {
          problems.push(`${at} has state ${jsonPreview(s)}, not { step, buffers }`);
          continue;
        }
        if (!Number.isSafeInteger(s.step) || (s.step as number) < 0)
          problems.push(`${at} has step ${jsonPreview(s.step)}, not a non-negative integer`);
        if (!isRecord(s.buffers)) {
          problems.push(`${at} has buffers ${jsonPreview(s.buffers)}, not an object`);
          continue;
        }
        for (const [k, b] of Object.entries(s.buffers)) {
          const buffer = `${at}.${clipText(k, 40)}`;
          if (!this.bufferNames.includes(k)) {
            problems.push(`${buffer} is not a buffer of ${this.kind} (${this.bufferNames.join(', ')})`);
            continue;
          }
          const shape = isRecord(b) ? b.shape : undefined;
          const data = isRecord(b) ? b.data : undefined;
          if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !isNumbers(data)) {
            problems.push(`${buffer} is ${jsonPreview(b)}, not { shape, data } of numbers`);
            continue;
          }
          const same = shape.length === p.variable.shape.length && shape.every((d, i) => d === p.variable.shape[i]);
          if (!same || data.length !== sizeOf(shape)) {
            problems.push(
              `${buffer} has shape ${fmtShape(shape.slice(0, 16))} (${data.length} values), the parameter ${fmtShape(p.variable.shape)}`,
            );
          }
        }
      }
    }
    if (problems.length) {
      const shown = problems.slice(0, MAX_PROBLEMS).join('; ');
      throw new CheckpointError(`${where}: ${shown}${problems.length > MAX_PROBLEMS ? '; ... (more)' : ''}`);
    }
  }

  /** Frees the optimizer's state buffers (the parameters are the caller's). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of s.buffers.values()) v.dispose();
    this.state.clear();
  }
}

/** Checks {@link BaseOptimizerOptions.groups} (each rule's `match`, `lr` and `weightDecay`) and returns the rules. */
function checkGroupRules(op: string, rules: readonly ParamGroupRule[] | undefined): readonly ParamGroupRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new Error(`${op}: groups must be an array of { match, lr?, weightDecay? }`);
  rules.forEach((r: ParamGroupRule, i) => {
    if (!isRecord(r) || typeof r.match !== 'function')
      throw new Error(`${op}: groups[${i}] must be { match: (name) => boolean, lr?, weightDecay? }`);
    if (r.lr !== undefined) checkNumber(op, `groups[${i}].lr`, r.lr, 0);
    if (r.weightDecay !== undefined) checkNumber(op, `groups[${i}].weightDecay`, r.weightDecay, 0);
  });
  return rules;
}

/** Most problems one state-dict error lists. */
const MAX_PROBLEMS = 20;

/** An array of numbers or a numeric typed array (not a BigInt one). */
function isNumbers(v: unknown): v is ArrayLike<number> {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number');
  return (
    ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)
  );
}

/** `what must be a number >= min, got value`, or null when `value` is a finite number in [min, max]. */
export function numberProblem(what: string, value: unknown, min: number, max = Infinity): string | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return null;
  const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
  return `${what} must be a number ${range}, got ${typeof value === 'number' ? String(value) : jsonPreview(value)}`;
}

/** `what must be true or false, got value`, or null when `value` is a boolean. */
export function booleanProblem(what: string, value: unknown): string | null {
  return typeof value === 'boolean' ? null : `${what} must be true or false, got ${jsonPreview(value)}`;
}

/** Throws unless `value` is a finite number `>= min`. */
export function checkNumber(op: string, what: string, value: unknown, min: number, max = Infinity): void {
  const problem = numberProblem(what, value, min, max);
  if (problem !== null) throw new Error(`${op}: ${problem}`);
}

function resolveParams(
  op: string,
  params: ParamsInput,
): { entries: Array<[string, tf.Variable]>; module: Module | null; byIndex: boolean } {
  let entries: Array<[string, tf.Variable]>;
  let module: Module | null = null;
  let byIndex = false;
  if (params instanceof Module) {
    module = params;
    entries = params.namedParameters();
  } else if (params instanceof Map) {
    entries = [...params];
  } else if (Array.isArray(params)) {
    if (params.every((p) => p instanceof tf.Variable)) {
      entries = (params as tf.Variable[]).map((v, i) => [String(i), v]);
      byIndex = true;
    } else {
      entries = params as Array<[string, tf.Variable]>;
    }
  } else if (params && typeof params === 'object') {
    entries = Object.entries(params);
  } else {
    throw new Error(`${op}: parameters must be a Module, tf.Variable[], or named parameters`);
  }
  if (entries.length === 0) throw new Error(`${op}: no parameters to optimize`);
  const seen = new Set<string>();
  const vars = new Set<tf.Variable>();
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof tf.Variable)) {
      throw new Error(`${op}: parameter ${String(Array.isArray(e) ? e[0] : e)} is not a [name, tf.Variable] pair`);
    }
    if (seen.has(e[0])) throw new Error(`${op}: parameter name '${e[0]}' appears twice`);
    if (vars.has(e[1])) throw new Error(`${op}: parameter '${e[0]}' is the same variable as an earlier one`);
    if (e[1].dtype !== 'float32') throw new Error(`${op}: parameter '${e[0]}' is ${e[1].dtype}, not float32`);
    seen.add(e[0]);
    vars.add(e[1]);
  }
  return { entries, module, byIndex };
}

/**
 * `'bn_bias'`: with a Module, the parameters of normalisation layers (`BatchNorm2d` and any module whose class
 * name contains 'Norm') and every parameter named `bias`; with bare named parameters (no module to ask), every
 * parameter of rank <= 1 (which is exactly the normalisation weights and the biases for this library's layers).
 */
function noDecayPredicate(
  op: string,
  rule: NoDecayRule,
  module: Module | null,
): (name: string, v: tf.Variable) => boolean {
  if (typeof rule === 'function') return rule;
  if (rule !== 'bn_bias') throw new Error(`${op}: noDecayOn must be 'bn_bias' or a function, got ${String(rule)}`);
  if (!module) return (_name, v) => v.rank <= 1;
  const norm = new Set<tf.Variable>();
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNorm2d || /Norm/.test(m.typeName))
      for (const [, v, kind] of m.ownState()) if (kind === 'parameter') norm.add(v);
  }
  return (name, v) => norm.has(v) || name === 'bias' || name.endsWith('.bias');
}

function gradientLookup(grads: Gradients): (key: string) => Tensor | undefined {
  if (grads instanceof Map) return (k) => grads.get(k) ?? undefined;
  return (k) => (Object.hasOwn(grads, k) ? (grads[k] ?? undefined) : undefined);
}
