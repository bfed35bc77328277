// The optimizer base class: which parameters, in which groups (weight decay on or off), the per-parameter state
// (as tf.Variables, updated in place, so the live tensor count stays flat), gradients by name, and a state dict
// of plain numbers that restores a run bit for bit.
import { tf, type Tensor } from '@cnn/tensor';
import { BatchNorm2d, Module } from '@cnn/layers';
import { fmtShape, sizeOf, toHostArray, type HostArray } from '../host';

/**
 * What an optimizer can work on:
 * - a `Module` (its `namedParameters()`; `noDecayOn: 'bn_bias'` then knows which parameters are normalisation ones),
 * - named parameters (`module.namedParameters()`, a `Map` or a record of name to variable),
 * - or a plain `tf.Variable[]` (keyed `'0'`, `'1'`, ... in the state dict, in order).
 */
export type ParamsInput = Module | tf.Variable[] | Array<[string, tf.Variable]> | Map<string, tf.Variable> | Record<string, tf.Variable>;

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

/**
 * Base of {@link SGD}, {@link Adam} and {@link AdamW}. A subclass implements `update` for one parameter; the base
 * class resolves gradients, runs every update in one `tidy`, and saves and restores state.
 */
export abstract class Optimizer {
  /** PyTorch's name of the algorithm, stored in the state dict. */
  abstract readonly kind: string;
  /** The parameter groups (one, or two with `noDecayOn`). Set `lr` here for per-group learning rates. */
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
    const groupOf = (n: string, v: tf.Variable): number => (exclude && exclude(n, v) ? 1 : 0);
    this.params = entries.map(([n, v]) => ({ name: n, variable: v, group: groupOf(n, v) }));
    const groups: ParamGroup[] = [{ lr: opts.lr, weightDecay, params: this.params.filter((p) => p.group === 0).map((p) => p.name) }];
    if (exclude) groups.push({ lr: opts.lr, weightDecay: 0, params: this.params.filter((p) => p.group === 1).map((p) => p.name) });
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
  /** Restores the hyperparameters from a state dict. */
  protected abstract set hyper(values: Record<string, number | boolean>);

  /**
   * Computes the new value of one parameter (inside a `tidy`) and updates its buffers with `assign`.
   * `state.step` has already been incremented.
   */
  protected abstract update(param: tf.Variable, grad: Tensor, group: ParamGroup, state: LiveState): Tensor;

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
        throw new Error(`${this.constructor.name}.step: gradient of '${p.name}' has shape ${fmtShape(g.shape)}, the parameter ${fmtShape(p.variable.shape)}`);
      }
      found.push([p, g]);
    }
    const count = grads instanceof Map ? grads.size : Object.keys(grads).length;
    if (found.length === 0 && count > 0) {
      const keys = grads instanceof Map ? [...grads.keys()] : Object.keys(grads);
      throw new Error(`${this.constructor.name}.step: none of the ${count} gradients (${keys.slice(0, 5).join(', ')}${count > 5 ? ', ...' : ''}) matches a parameter`);
    }
    tf.tidy(() => {
      for (const [p, g] of found) {
        let s = this.state.get(p.name);
        if (!s) {
          s = { step: 0, buffers: new Map() };
          this.state.set(p.name, s);
        }
        s.step += 1;
        p.variable.assign(this.update(p.variable, g, this.paramGroups[p.group], s));
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
   * Restores a state dict saved by the same kind of optimizer over the same parameters (names and groups):
   * learning rates, weight decays and hyperparameters (as PyTorch, the saved ones win), step counts and buffers.
   *
   * @throws naming every mismatch (optimizer kind, groups, unknown parameters, buffer shapes) before changing anything.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = `${this.constructor.name}.loadStateDict`;
    const problems: string[] = [];
    if (dict.optimizer !== this.kind) problems.push(`state is from ${dict.optimizer}, this optimizer is ${this.kind}`);
    if (!Array.isArray(dict.groups) || dict.groups.length !== this.paramGroups.length) {
      problems.push(`state has ${dict.groups?.length ?? 0} parameter groups, this optimizer ${this.paramGroups.length}`);
    } else {
      dict.groups.forEach((g, i) => {
        const own = this.paramGroups[i].params;
        if (g.params.length !== own.length || g.params.some((p, j) => p !== own[j])) {
          problems.push(`group ${i} holds [${g.params.join(', ')}], this optimizer's [${own.join(', ')}]`);
        }
      });
    }
    const byName = new Map(this.params.map((p) => [p.name, p]));
    for (const [pname, s] of Object.entries(dict.state ?? {})) {
      const p = byName.get(pname);
      if (!p) {
        problems.push(`unknown parameter '${pname}'`);
        continue;
      }
      for (const [k, b] of Object.entries(s.buffers)) {
        const same = b.shape.length === p.variable.shape.length && b.shape.every((d, i) => d === p.variable.shape[i]);
        if (!same || b.data.length !== sizeOf(b.shape)) {
          problems.push(`'${pname}'.${k} has shape ${fmtShape(b.shape)} (${b.data.length} values), the parameter ${fmtShape(p.variable.shape)}`);
        }
      }
    }
    if (problems.length) throw new Error(`${name}: ${problems.join('; ')}`);
    this.disposeState();
    dict.groups.forEach((g, i) => {
      this.paramGroups[i].lr = g.lr;
      this.paramGroups[i].weightDecay = g.weightDecay;
    });
    this.hyper = dict.options;
    this.steps = dict.steps;
    for (const [pname, s] of Object.entries(dict.state)) {
      const live: LiveState = { step: s.step, buffers: new Map() };
      for (const [k, b] of Object.entries(s.buffers)) {
        live.buffers.set(k, tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(b.data), b.shape), false)));
      }
      this.state.set(pname, live);
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

/** Throws unless `value` is a finite number `>= min`. */
export function checkNumber(op: string, what: string, value: unknown, min: number, max = Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new Error(`${op}: ${what} must be a number ${range}, got ${String(value)}`);
  }
}

function resolveParams(op: string, params: ParamsInput): { entries: Array<[string, tf.Variable]>; module: Module | null; byIndex: boolean } {
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
function noDecayPredicate(op: string, rule: NoDecayRule, module: Module | null): (name: string, v: tf.Variable) => boolean {
  if (typeof rule === 'function') return rule;
  if (rule !== 'bn_bias') throw new Error(`${op}: noDecayOn must be 'bn_bias' or a function, got ${String(rule)}`);
  if (!module) return (_name, v) => v.rank <= 1;
  const norm = new Set<tf.Variable>();
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNorm2d || /Norm/.test(m.typeName)) for (const [, v, kind] of m.ownState()) if (kind === 'parameter') norm.add(v);
  }
  return (name, v) => norm.has(v) || name === 'bias' || name.endsWith('.bias');
}

function gradientLookup(grads: Gradients): (key: string) => Tensor | undefined {
  if (grads instanceof Map) return (k) => grads.get(k) ?? undefined;
  return (k) => (Object.prototype.hasOwnProperty.call(grads, k) ? grads[k] ?? undefined : undefined);
}
