// Module: the class API. A module owns named parameters and buffers (tf.Variables) in registration
// order and named child modules; its state dict uses PyTorch's names (`layer1.0.conv1.weight`).
import { tf, type Tensor } from '@cnn/tensor';
import { loadWeights, saveWeights, type LoadWeightsOptions, type SaveWeightsOptions } from './weights';
import { CheckpointError } from './checkpoint/errors';
import { clipText, previewShape } from './checkpoint/preview';
import { hostTensorProblem, listForMessage } from './host-tensor';
import { FusedInPlaceError } from './errors';

/** A tensor as a checkpoint holds it: any layout, float32 values. */
export interface HostTensor {
  /** Dimensions, in the order of `data`. */
  shape: number[];
  /** Values in row-major order. */
  data: Float32Array;
}

/** Called after every module's forward while a hook is installed (used by `summary`). */
export type ForwardHook = (module: Module, inputs: Tensor[], output: Tensor) => void;

let forwardHook: ForwardHook | null = null;

/** Installs (or, with null, removes) the hook that sees every module's inputs and output. */
export function setForwardHook(hook: ForwardHook | null): void {
  forwardHook = hook;
}

/** Whether a forward hook is installed: then every module runs on its own, so that the hook sees each output. */
export function hasForwardHook(): boolean {
  return forwardHook !== null;
}

/**
 * How a module runs in evaluation mode: `'fused'` (the default: the inference plans, BatchNorm folded into the
 * convolutions, bias and activation in one op), `'unfused'` (module by module, as in training: the reference), or
 * `'in-place'` (after `fuse({ inPlace: true })`: folded weights only, inference only). Set on a module and all its
 * descendants by {@link Module.fuse} and {@link Module.unfuse}.
 */
export type InferenceMode = 'fused' | 'unfused' | 'in-place';

/**
 * Derived inference state one module keeps for some of its layers (see `FusedConv` in fuse.ts): a cache of folded
 * tensors, rebuilt whenever a source tensor changes and dropped by `train()`, `unfuse()` and `dispose()`.
 */
export interface InferencePlan {
  /** Runs the layers the plan covers: fused in evaluation mode, module by module in training or `'unfused'`. */
  call(x: Tensor): Tensor;
  /** Builds the derived tensors now (instead of at the first call). */
  prepare(): void;
  /** Frees the derived tensors (they are rebuilt when needed). */
  drop(): void;
  /** Folds into the layers' own weights and frees what the fold made redundant (`fuse({ inPlace: true })`). */
  foldInPlace(): void;
  /** Frees everything the plan holds, what the in-place fold made included (the module is being disposed). */
  dispose(): void;
}

/**
 * Whether `m` runs its inference plans now: in place always; otherwise in evaluation mode, fused, with no forward
 * hook, and not while gradients are recorded (`tf.grad`, `tf.variableGrads`: an eval-mode model being fine-tuned
 * with frozen statistics needs the gradients of its own weights, which the folded copies would not get).
 */
export function runsFused(m: Module): boolean {
  if (m.inference === 'in-place') return true;
  return !m.training && m.inference === 'fused' && !hasForwardHook() && !tf.engine().isTapeOn();
}

/** How a Sequential groups its layers into plans; installed by fuse.ts (which imports the layer classes). */
export type SequentialPlanner = (layers: readonly Module[]) => Array<Module | InferencePlan>;
let sequentialPlanner: SequentialPlanner | null = null;

/** Installs the planner every Sequential uses for fused inference (fuse.ts does, once). */
export function setSequentialPlanner(planner: SequentialPlanner): void {
  sequentialPlanner = planner;
}

function inPlaceError(where: string, what: string): FusedInPlaceError {
  return new FusedInPlaceError(
    `${where}: ${what} is not possible: the model was fused in place (fuse({ inPlace: true })), its BatchNorm layers folded into the convolutions and freed, so it holds inference weights only; build a new model (and load its weights) instead`,
  );
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadOptions {
  /** Refuse missing and unexpected keys (default true). Shape mismatches are always refused. */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} did. */
export interface LoadResult {
  /** State-dict keys that were set from the checkpoint. */
  loaded: string[];
  /** Keys the model has and the checkpoint lacks (left as they were). */
  missing: string[];
  /** Keys the checkpoint has and the model lacks (ignored). */
  unexpected: string[];
}

/**
 * Base class of every layer, block and model. Subclasses register parameters, buffers and children in
 * their constructor and implement `forward`; users call `call` (or `forward`).
 *
 * @example
 * class Tiny extends Module {
 *   fc = this.registerModule('fc', new Linear(8, 2));
 *   forward(x: Tensor) { return this.fc.call(x); }
 * }
 */
export abstract class Module {
  /** Training mode (dropout active, BatchNorm uses and updates batch statistics). */
  training = true;
  /** How evaluation mode runs (see {@link InferenceMode}); set by {@link fuse} and {@link unfuse}. */
  inference: InferenceMode = 'fused';
  private readonly plans: InferencePlan[] = [];
  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  /** The computation, on NHWC tensors. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Runs `forward` in a tidy scope (intermediate tensors are freed) and reports to the forward hook. */
  call(...inputs: Tensor[]): Tensor {
    const out = tf.tidy(() => this.forward(...inputs));
    if (forwardHook) forwardHook(this, inputs, out);
    return out;
  }

  /** A short type name for summaries and errors. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Registers a trainable parameter under `name`; the module keeps (and later disposes) the variable. */
  protected registerParameter(name: string, value: Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, true);
    value.dispose();
    this.params.set(name, v);
    return v;
  }

  /** Registers a buffer (state that is saved but not trained, like BatchNorm's running mean). */
  protected registerBuffer(name: string, value: Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, false);
    value.dispose();
    this.buffers.set(name, v);
    return v;
  }

  /**
   * Registers an inference plan over some of this module's layers (for example
   * `new FusedConv(this.conv1, this.bn1, this.relu)`), so that `fuse`, `unfuse`, `train` and `dispose` manage its
   * derived tensors. Returns `plan`; call it in `forward` in place of the layers it covers.
   */
  protected registerPlan<P extends InferencePlan>(plan: P): P {
    this.plans.push(plan);
    return plan;
  }

  /** This module's own inference plans (not its children's). */
  protected ownPlans(): readonly InferencePlan[] {
    return this.plans;
  }

  /** Every inference plan of this module and its descendants. */
  private allPlans(): InferencePlan[] {
    return this.namedModules().flatMap(([, m]) => [...m.ownPlans()]);
  }

  /**
   * Prepares fast inference and switches to evaluation mode: every convolution followed by a BatchNorm gets the
   * BatchNorm folded into its weights and bias (W' = W * gamma / sqrt(var + eps) per output channel, b' = (b - mean) *
   * gamma / sqrt(var + eps) + beta), and bias and activation run in the same op (`tf.fused.conv2d`,
   * `tf.fused.depthwiseConv2d`, `tf.fused.matMul`). Evaluation mode does this by itself (the folded tensors are
   * made at the first call); `fuse()` makes them now.
   *
   * The folded tensors are a cache derived from the weights: any change to a weight or a running statistic
   * (`loadWeights`, `loadStateDict`, an optimizer step, an `assign`), a new backend or `train()` makes the next call
   * fold again, so they are never stale; `stateDict()` and `saveWeights` keep the unfolded PyTorch layout.
   *
   * With `inPlace: true` the fold replaces the convolutions' weights and the BatchNorm layers are freed, so the
   * model does not hold its weights twice; it is then inference-only: training, the state dict, saving, loading,
   * replacing a layer and `unfuse` throw {@link FusedInPlaceError}.
   */
  fuse(opts: { inPlace?: boolean } = {}): this {
    if (opts === null || typeof opts !== 'object')
      throw new TypeError(`${this.typeName}.fuse: options must be an object, got ${String(opts)}`);
    if (opts.inPlace !== undefined && typeof opts.inPlace !== 'boolean')
      throw new TypeError(`${this.typeName}.fuse: inPlace must be true or false, got ${String(opts.inPlace)}`);
    const inPlace = opts.inPlace === true || this.inference === 'in-place';
    this.eval();
    const wasInPlace = this.inference === 'in-place';
    for (const [, m] of this.namedModules()) m.inference = inPlace ? 'in-place' : 'fused';
    const plans = this.allPlans();
    if (inPlace && !wasInPlace) for (const p of plans) p.foldInPlace();
    for (const p of plans) p.prepare();
    return this;
  }

  /**
   * Evaluation mode without fusion: every layer runs on its own, as in training (the reference the fused path is
   * tested against), and the folded tensors are freed. `fuse()` turns fusion back on. Throws
   * {@link FusedInPlaceError} on a model fused in place.
   */
  unfuse(): this {
    if (this.inference === 'in-place') throw inPlaceError(`${this.typeName}.unfuse`, 'unfusing');
    for (const p of this.allPlans()) p.drop();
    for (const [, m] of this.namedModules()) m.inference = 'unfused';
    return this;
  }

  /**
   * Throws {@link FusedInPlaceError} (`method`: `what` is not possible ...) when this model was fused in place: for a
   * method that changes weights or layers, to call before it makes or changes anything.
   */
  protected refuseIfFusedInPlace(method: string, what: string): void {
    if (this.inference === 'in-place') throw inPlaceError(`${this.typeName}.${method}`, what);
  }

  /** Whether `fuse({ inPlace: true })` folded this model's weights (it is then inference-only). */
  get fusedInPlace(): boolean {
    return this.inference === 'in-place';
  }

  /** Registers a child module under `name` (its keys get the prefix `name.`). */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    if (!(module instanceof Module)) throw new Error(`${this.typeName}: child '${name}' is not a Module`);
    this.children.set(name, module);
    return module;
  }

  /** Replaces a registered child (for example a classifier head, when fine-tuning); disposes the old one. */
  replaceModule<M extends Module>(name: string, module: M): M {
    if (this.inference === 'in-place') throw inPlaceError(`${this.typeName}.replaceModule`, 'replacing a layer');
    const old = this.children.get(name);
    if (!old) throw new Error(`${this.typeName}: no child named '${name}' to replace`);
    old.dispose();
    this.children.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`${this.typeName}: invalid name '${name}' (non-empty, no dots)`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.typeName}: '${name}' is already registered`);
    }
  }

  /** The direct children, by name, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.children];
  }

  /** This module and every descendant, with dotted names ('' for this one), depth first. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Parameters with dotted names, in PyTorch's order (own first, then each child's). */
  namedParameters(prefix = ''): Array<[string, tf.Variable]> {
    if (this.inference === 'in-place')
      throw inPlaceError(`${this.typeName}.namedParameters`, 'listing parameters to train');
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [p, v] of m.params) out.push([name ? `${name}.${p}` : p, v]);
    }
    return out;
  }

  /** Buffers with dotted names. */
  namedBuffers(prefix = ''): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [p, v] of m.buffers) out.push([name ? `${name}.${p}` : p, v]);
    }
    return out;
  }

  /** Every trainable parameter. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Number of learnable values (buffers such as BatchNorm's running statistics are not counted). */
  numParameters(): number {
    let n = 0;
    for (const [, m] of this.namedModules()) for (const v of m.params.values()) n += v.size;
    return n;
  }

  /** Own parameters and buffers (not the children's), by local name. */
  ownState(): Array<[string, tf.Variable, 'parameter' | 'buffer']> {
    return [
      ...[...this.params].map(([n, v]) => [n, v, 'parameter'] as [string, tf.Variable, 'parameter']),
      ...[...this.buffers].map(([n, v]) => [n, v, 'buffer'] as [string, tf.Variable, 'buffer']),
    ];
  }

  /** Parameters and buffers by dotted name, in PyTorch's state-dict order (per module: parameters, buffers; then children). */
  stateDict(): Map<string, tf.Variable> {
    if (this.inference === 'in-place') throw inPlaceError(`${this.typeName}.stateDict`, 'reading the state dict');
    const out = new Map<string, tf.Variable>();
    for (const [name, m] of this.namedModules()) {
      for (const [p, v] of m.ownState()) out.set(name ? `${name}.${p}` : p, v);
    }
    return out;
  }

  /**
   * Sets training mode on this module and every descendant. `train()` (mode true) frees the folded inference
   * tensors (see {@link fuse}); on a model fused in place it throws {@link FusedInPlaceError}.
   */
  train(mode = true): this {
    if (mode && this.inference === 'in-place') throw inPlaceError(`${this.typeName}.train`, 'training');
    if (mode) for (const p of this.allPlans()) p.drop();
    return this.setTrainingFlags(mode);
  }

  /**
   * Sets the training flag of this module and every descendant and nothing else: the folded inference tensors are
   * kept (they are derived state, checked at every call). For a method that switches to evaluation mode for one
   * call and back, as `predict` does.
   */
  protected setTrainingFlags(mode: boolean): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Checks a state dict against this module's parameters and buffers without changing anything: what
   * {@link loadStateDict} checks before it assigns (every value a live tensor or exactly `product(shape)` numbers,
   * shapes equal to the variables', and with `strict`, the default, no missing or unexpected key). Returns what
   * `loadStateDict` would do (`loaded`: the keys it would set); throws the {@link CheckpointError} it would throw.
   * Use it to validate several things (weights, optimizer state, ...) before applying any of them.
   */
  checkStateDict(
    dict: Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>,
    opts: LoadOptions = {},
  ): LoadResult {
    return this.planStateDict(dict, opts, 'checkStateDict').result;
  }

  /**
   * Copies values into the parameters and buffers by name, in this library's layouts (see `loadWeights` in
   * checkpoint loading for PyTorch layouts). Values are tf.Tensors or `{ shape, data }` (float32 values,
   * row-major), cast to each variable's dtype.
   *
   * Everything is checked before anything is assigned (see {@link checkStateDict}), so a failed load changes
   * nothing: every value must be a live tensor or hold exactly `product(shape)` numbers, its shape must be the
   * variable's, and (with `strict`, the default) no key may be missing or unexpected. One {@link CheckpointError}
   * names every problem (`key` is the first key at fault); messages list at most 50 keys of each kind.
   */
  loadStateDict(
    dict: Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>,
    opts: LoadOptions = {},
  ): LoadResult {
    const { own, entries, result } = this.planStateDict(dict, opts, 'loadStateDict');
    // Valid: make every value on the backend first (a failure there, out of memory say, frees them and leaves the
    // model as it was), then assign them all.
    const plan: Array<{ key: string; variable: tf.Variable; value: Tensor; owned: boolean }> = [];
    try {
      for (const [k, v] of own) {
        const t = entries.get(k);
        if (t === undefined) continue;
        if (t instanceof tf.Tensor) {
          const same = t.dtype === v.dtype;
          plan.push({ key: k, variable: v, value: same ? t : tf.cast(t, v.dtype), owned: !same });
        } else {
          const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
          const value = tf.tidy(() => {
            const f = tf.tensor(data, t.shape, 'float32');
            return v.dtype === 'float32' ? f : tf.cast(f, v.dtype);
          });
          plan.push({ key: k, variable: v, value, owned: true });
        }
      }
      for (const { variable, value } of plan) variable.assign(value);
    } finally {
      for (const { value, owned } of plan) if (owned) value.dispose();
    }
    return { ...result, loaded: plan.map((p) => p.key) };
  }

  /** The checks of {@link checkStateDict} and {@link loadStateDict}: the entries to load, or the error naming every problem. */
  private planStateDict(
    dict: Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>,
    opts: LoadOptions,
    method: string,
  ): {
    own: Map<string, tf.Variable>;
    entries: Map<string, Tensor | HostTensor>;
    result: LoadResult;
  } {
    const strict = opts.strict ?? true;
    const where = `${this.typeName}.${method}`;
    if (this.inference === 'in-place') throw inPlaceError(where, 'loading weights');
    if (dict === null || typeof dict !== 'object')
      throw new CheckpointError(`${where}: the state dict is ${String(dict)}, not a Map or an object`);
    const entries: Map<string, Tensor | HostTensor> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    const invalid: string[] = [];
    const mismatched: string[] = [];
    const atFault: string[] = [];
    for (const [k, v] of own) {
      if (!entries.has(k)) continue;
      const t = entries.get(k);
      const problem = hostTensorProblem(t);
      if (problem !== null) {
        invalid.push(`${clipText(k)} ${problem}`);
        atFault.push(k);
      } else if (t!.shape.length !== v.shape.length || t!.shape.some((d, i) => d !== v.shape[i])) {
        mismatched.push(`${clipText(k)}: checkpoint ${previewShape(t!.shape)}, model ${previewShape(v.shape)}`);
        atFault.push(k);
      }
    }
    const problems: string[] = [];
    if (invalid.length) problems.push(`invalid values (${invalid.length}): ${listForMessage(invalid, '; ')}`);
    if (mismatched.length) problems.push(`shape mismatch (${mismatched.length}): ${listForMessage(mismatched, '; ')}`);
    if (strict && missing.length)
      problems.push(`missing keys (${missing.length}): ${listForMessage(missing.map((k) => clipText(k)))}`);
    if (strict && unexpected.length)
      problems.push(`unexpected keys (${unexpected.length}): ${listForMessage(unexpected.map((k) => clipText(k)))}`);
    if (problems.length) {
      throw new CheckpointError(`${where}: ${problems.join('\n')}`, atFault.length ? { key: atFault[0] } : {});
    }
    return { own, entries, result: { loaded: [...own.keys()].filter((k) => entries.has(k)), missing, unexpected } };
  }

  /**
   * Loads weights from a checkpoint file (a path, in Node) or its bytes: PyTorch `.pth` / `.pt` or safetensors,
   * in PyTorch's layouts unless `from: 'cnn'`. See `loadWeights`.
   */
  loadWeights(source: Uint8Array | ArrayBuffer | string, opts: LoadWeightsOptions = {}): Promise<LoadResult> {
    if (this.inference === 'in-place')
      return Promise.reject(inPlaceError(`${this.typeName}.loadWeights`, 'loading weights'));
    return loadWeights(this, source, opts);
  }

  /** This module's weights as safetensors bytes (PyTorch's layouts unless `to: 'cnn'`). See `saveWeights`. */
  saveWeights(opts: SaveWeightsOptions = {}): Uint8Array {
    if (this.inference === 'in-place') throw inPlaceError(`${this.typeName}.saveWeights`, 'saving weights');
    return saveWeights(this, opts);
  }

  /**
   * Converts one of this module's own tensors from PyTorch's layout to this library's. The default is the
   * identity; `Conv2d` and `Linear` override it.
   */
  fromTorchLayout(_name: string, t: HostTensor): HostTensor {
    return t;
  }

  /** The inverse of {@link fromTorchLayout}. */
  toTorchLayout(_name: string, t: HostTensor): HostTensor {
    return t;
  }

  /** Frees every parameter and buffer of this module and its descendants, and their folded inference tensors. */
  dispose(): void {
    for (const p of this.allPlans()) p.dispose();
    for (const [, m] of this.namedModules()) {
      for (const [, v] of m.ownState()) v.dispose();
    }
  }
}

/** Children called one after the other; named '0', '1', ... as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Module[];
  /** The layers as fused inference runs them: plans over conv-norm-act and linear-act runs, dropout left out. */
  private steps: Array<Module | InferencePlan> = [];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
    this.plan();
  }

  private plan(): void {
    for (const s of this.steps) if (!(s instanceof Module)) s.dispose();
    this.steps = sequentialPlanner ? sequentialPlanner(this.layers) : [...this.layers];
  }

  protected override ownPlans(): readonly InferencePlan[] {
    return this.steps.filter((s): s is InferencePlan => !(s instanceof Module));
  }

  /** The i-th child. */
  at(i: number): Module {
    const m = this.layers[i];
    if (!m) throw new Error(`Sequential: no layer ${i} (it has ${this.layers.length})`);
    return m;
  }

  /** Number of children. */
  get length(): number {
    return this.layers.length;
  }

  /** Replaces layer i (disposing the old one), keeping its key: a new classifier head, say. */
  replace<M extends Module>(i: number, module: M): M {
    this.at(i);
    this.replaceModule(String(i), module);
    this.layers[i] = module;
    this.plan();
    return module;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    if (runsFused(this)) {
      for (const s of this.steps) h = s.call(h);
      // Every step may have been left out (dropout only): the output is still a tensor of its own.
      return h === x ? x.clone() : h;
    }
    for (const m of this.layers) h = m.call(h);
    return h;
  }
}

/** A list of children named '0', '1', ..., for models that call them in their own way. */
export class ModuleList extends Module {
  private readonly items: Module[];

  constructor(modules: Module[] = []) {
    super();
    this.items = modules.map((m, i) => this.registerModule(String(i), m));
  }

  /** The i-th module; throws when there is none. */
  at(i: number): Module {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: no module ${i} (it has ${this.items.length})`);
    return m;
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** The modules in order (`for (const m of list)`). */
  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new Error('ModuleList has no forward: call its modules');
  }
}
