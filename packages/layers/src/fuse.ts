// Fused inference: one home for the plans that run a convolution with its BatchNorm and activation (or a Linear
// with its activation) as one tfjs fused op in evaluation mode. A plan's folded tensors are derived state: a cache
// keyed on the identity of every source tensor's data and the backend, so it can never be stale (a tf.Variable's
// `assign`, which loading, optimizers and users go through, gives it a new dataId). Modules declare their plans once
// (`registerPlan` in a block's constructor, or a Sequential's automatic grouping) and call them in `forward`.
import {
  tf,
  conv2d as convOp,
  fusedActivation,
  fusedConv2d,
  fusedAdd,
  type EltwiseActivation,
  type Tensor,
  type Tensor2D,
  type Tensor4D,
} from '@cnn/tensor';
import { hasForwardHook, type Module, runsFused, setSequentialPlanner, type InferencePlan } from './module';
import {
  BatchNorm2d,
  Conv2d,
  Dropout,
  ELU,
  GELU,
  Hardsigmoid,
  Hardswish,
  Identity,
  LeakyReLU,
  Linear,
  ReLU,
  ReLU6,
  SiLU,
  Sigmoid,
  Tanh,
} from './layers';
import type { Padding2 } from './functional';

/** The activations tfjs's fused conv / depthwise / matMul kernels apply themselves (wasm and cpu). */
type FusableActivation = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'elu' | 'leakyrelu';

/** How a plan applies its activation. */
type ActSpec =
  | { kind: 'fused'; name: FusableActivation; alpha?: number }
  | { kind: 'hardswish' }
  | { kind: 'hardsigmoid' }
  | { kind: 'module'; module: Module };

/** Whether `m` is an activation layer a plan can take after a convolution or a Linear. */
export function isActivation(m: Module | null | undefined): boolean {
  return (
    m instanceof ReLU ||
    m instanceof ReLU6 ||
    m instanceof Sigmoid ||
    m instanceof LeakyReLU ||
    m instanceof ELU ||
    m instanceof Hardswish ||
    m instanceof Hardsigmoid ||
    m instanceof Tanh ||
    m instanceof SiLU ||
    m instanceof GELU
  );
}

function actSpec(act: Module | null): ActSpec {
  if (act === null) return { kind: 'fused', name: 'linear' };
  if (act instanceof ReLU) return { kind: 'fused', name: 'relu' };
  if (act instanceof ReLU6) return { kind: 'fused', name: 'relu6' };
  if (act instanceof Sigmoid) return { kind: 'fused', name: 'sigmoid' };
  if (act instanceof LeakyReLU) return { kind: 'fused', name: 'leakyrelu', alpha: act.negativeSlope };
  if (act instanceof ELU && act.alpha === 1) return { kind: 'fused', name: 'elu' };
  if (act instanceof Hardswish) return { kind: 'hardswish' };
  if (act instanceof Hardsigmoid) return { kind: 'hardsigmoid' };
  return { kind: 'module', module: act };
}

/** The activations cnn's one-pass element-wise op takes (`fusedAdd`, `fusedActivation` of @cnn/tensor). */
function eltwiseAct(spec: ActSpec): EltwiseActivation | null {
  if (spec.kind === 'hardswish') return 'hardswish';
  if (spec.kind === 'fused' && (spec.name === 'linear' || spec.name === 'relu' || spec.name === 'relu6'))
    return spec.name;
  return null;
}

/** The activation of a plan whose op could not apply it (grouped convolutions, hard-swish, other modules). */
function applyAct(y: Tensor, spec: ActSpec): Tensor {
  switch (spec.kind) {
    case 'hardswish':
      // x * relu6(x + 3) / 6 (PyTorch's hard-swish) in one pass after the fused op.
      return fusedActivation(y, 'hardswish');
    case 'hardsigmoid':
      // The fold already made it (z + 3) / 6: only the clamp is left.
      return tf.clipByValue(y, 0, 1);
    case 'module':
      return spec.module.call(y);
    default:
      switch (spec.name) {
        case 'linear':
          return y;
        case 'relu':
          return tf.relu(y);
        case 'relu6':
          return tf.relu6(y);
        case 'sigmoid':
          return tf.sigmoid(y);
        case 'elu':
          return tf.elu(y);
        case 'leakyrelu':
          return tf.leakyRelu(y, spec.alpha);
      }
  }
}

type TfjsPad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

/** A Conv2d's padding in the form tfjs's fused ops take: a number when every side is the same. */
function tfjsPad(p: Padding2): TfjsPad {
  if (typeof p === 'string' || typeof p === 'number') return p;
  const [h, w] =
    typeof p[0] === 'number'
      ? [
          [p[0], p[0]],
          [p[1] as number, p[1] as number],
        ]
      : (p as [[number, number], [number, number]]);
  if (h[0] === h[1] && h[0] === w[0] && w[0] === w[1]) return h[0];
  return [
    [0, 0],
    [h[0], h[1]],
    [w[0], w[1]],
    [0, 0],
  ];
}

function sameIds(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The folded tensors of one plan, and the identities of what they were derived from. */
interface Derived {
  key: unknown[];
  filter: Tensor4D;
  bias: Tensor | null;
  /** The tensors this cache made (and frees); the layers' own variables are never among them. */
  owned: Tensor[];
}

/**
 * The inference plan of a convolution, the BatchNorm after it (or null) and the activation after that (or null):
 * in evaluation mode one `tf.fused.conv2d` (or `tf.fused.depthwiseConv2d` for a depthwise convolution) with the
 * BatchNorm folded into its filter and bias and the activation fused where tfjs's kernels take it (linear, relu,
 * relu6, sigmoid, elu, leakyrelu); hard-sigmoid is folded into the filter too (one clamp left), hard-swish is one
 * more pass (`fusedActivation`); grouped convolutions run `fusedConv2d` (on wasm one call of cnn's grouped kernel that
 * adds the bias and applies a linear, relu or relu6 activation as it writes each output), or for hard-swish the
 * grouped kernel and then the bias and activation in one pass (`fusedAdd`). In training mode,
 * with `unfuse()`, or while a forward hook is installed (`summary`), it calls the three modules one after the other.
 *
 * A BatchNorm of another kind than BatchNorm2d is not folded: the plan then runs module by module.
 *
 * @example
 * class Stem extends Module {
 *   conv = this.registerModule('conv', new Conv2d(3, 16, 3, { padding: 1, bias: false }));
 *   bn = this.registerModule('bn', new BatchNorm2d(16));
 *   relu = this.registerModule('relu', new ReLU());
 *   private readonly fused = this.registerPlan(new FusedConv(this.conv, this.bn, this.relu));
 *   forward(x: Tensor) { return this.fused.call(x); }
 * }
 */
export class FusedConv implements InferencePlan {
  private readonly act: ActSpec;
  private readonly depthwise: boolean;
  private readonly grouped: boolean;
  private readonly pad: TfjsPad;
  private readonly strides: [number, number];
  private readonly dilations: [number, number];
  private derived: Derived | null = null;
  /** After `foldInPlace` on a convolution without a bias of its own: the folded bias. */
  private inPlaceBias: Tensor | null = null;
  private inPlace = false;
  /** Whether the plan can fuse at all (a BatchNorm it cannot fold, or of another width: no). */
  private readonly foldable: boolean;

  constructor(
    /** The convolution. */
    readonly conv: Conv2d,
    /** The normalisation after it, or null. */
    readonly norm: Module | null,
    /** The activation last, or null. */
    readonly activation: Module | null,
  ) {
    // A BatchNorm of another width than the convolution's output is left to raise its own error, unfused.
    this.foldable = norm === null || (norm instanceof BatchNorm2d && norm.numFeatures === conv.outChannels);
    this.act = actSpec(activation);
    const { groups, stride, dilation, padding } = conv.options;
    const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
    this.strides = pair(stride);
    this.dilations = pair(dilation);
    const both = this.strides.some((s) => s > 1) && this.dilations.some((d) => d > 1);
    this.pad = tfjsPad(padding);
    // tfjs's fused depthwise kernel takes no per-side padding.
    this.depthwise = groups > 1 && groups === conv.inChannels && !both && !Array.isArray(this.pad);
    // tfjs's fused kernels take one group and never stride and dilation together: the rest is cnn's kernel.
    this.grouped = (groups > 1 && !this.depthwise) || both;
  }

  call(x: Tensor): Tensor {
    if (!this.inPlace && (!this.foldable || !runsFused(this.conv) || x.size === 0)) return this.unfused(x);
    const d = this.current();
    const spec = this.act;
    const fusedAct = spec.kind === 'fused' ? spec : null;
    const bias = d.bias ?? undefined;
    // cnn's kernel also takes an empty batch (a model folded in place has no unfused path to fall back to).
    if (this.grouped || x.size === 0) {
      return tf.tidy(() => {
        const [kh, kw, , out] = this.conv.weight.shape;
        const filter = this.depthwise ? tf.reshape(d.filter, [kh!, kw!, 1, out!]) : d.filter;
        const opts = {
          strides: this.strides,
          pad: this.conv.options.padding,
          dilations: this.dilations,
          groups: this.conv.options.groups,
        };
        const act = eltwiseAct(spec);
        // The bias and a linear, ReLU or ReLU6 activation applied as cnn's kernel writes each output.
        if (act && act !== 'hardswish') return fusedConv2d(x, filter, { ...opts, bias, activation: act });
        let y: Tensor = convOp(x, filter, opts);
        // Hard-swish: the bias and the activation in one element-wise pass after it.
        if (bias && act) return fusedAdd(y, bias, act);
        if (bias) y = tf.add(y, bias);
        return applyAct(y, spec);
      });
    }
    const args = {
      x: x as Tensor4D,
      filter: d.filter,
      strides: this.strides,
      dilations: this.dilations,
      bias,
      activation: fusedAct ? fusedAct.name : ('linear' as const),
      leakyreluAlpha: fusedAct?.alpha,
    };
    const y = this.depthwise
      ? tf.fused.depthwiseConv2d({ ...args, pad: this.pad as 'valid' | 'same' | number })
      : tf.fused.conv2d({ ...args, pad: this.pad });
    if (fusedAct) return y;
    return tf.tidy(() => applyAct(y, spec));
  }

  /**
   * The modules one after the other, as training runs them; any folded tensors are freed first. A training
   * BatchNorm followed by ReLU or ReLU6 runs as one op (`BatchNorm2d.callWithActivation`: the same values and
   * gradients, a pass fewer each way), unless a forward hook must see the BatchNorm's own output.
   */
  private unfused(x: Tensor): Tensor {
    if (this.derived && this.conv.training) this.drop();
    let y = this.conv.call(x);
    const clamp = eltwiseAct(this.act);
    const norm = this.norm;
    if (norm instanceof BatchNorm2d && norm.training && (clamp === 'relu' || clamp === 'relu6') && !hasForwardHook())
      return norm.callWithActivation(y, clamp);
    if (norm) y = norm.call(y);
    if (this.activation) y = this.activation.call(y);
    return y;
  }

  /** The identities of the tensors the folded ones derive from, and the backend they live on. */
  private key(): unknown[] {
    const bn = this.inPlace ? null : (this.norm as BatchNorm2d | null);
    return [
      tf.getBackend(),
      this.conv.weight.dataId,
      this.conv.bias?.dataId,
      this.inPlaceBias?.dataId,
      bn?.weight?.dataId,
      bn?.bias?.dataId,
      bn?.runningMean.dataId,
      bn?.runningVar.dataId,
    ];
  }

  /** The folded tensors, made again when any source changed. */
  private current(): Derived {
    const key = this.key();
    if (this.derived && sameIds(this.derived.key, key)) return this.derived;
    this.drop();
    const conv = this.conv;
    const sources = new Set<Tensor>([conv.weight, ...(conv.bias ? [conv.bias] : [])]);
    const made = tf.tidy(() => {
      const bn = this.inPlace ? null : (this.norm as BatchNorm2d | null);
      let w: Tensor = conv.weight;
      let b: Tensor | null = this.inPlaceBias ?? conv.bias;
      if (bn) ({ w, b } = foldBatchNorm(w, b, bn));
      if (this.act.kind === 'hardsigmoid') {
        // relu6(z + 3) / 6 = clamp(z / 6 + 1 / 2, 0, 1): the scale and shift go into the filter and bias.
        w = tf.mul(w, 1 / 6);
        b = b ? tf.add(tf.mul(b, 1 / 6), 0.5) : tf.fill([conv.outChannels], 0.5);
      }
      if (this.depthwise) {
        const [kh, kw, , out] = w.shape;
        w = tf.reshape(w, [kh!, kw!, conv.inChannels, out! / conv.inChannels]);
      }
      return b ? [w, b] : [w];
    });
    const [filter, bias = null] = made as [Tensor4D, Tensor?];
    const owned = made.filter((t) => !sources.has(t) && t !== this.inPlaceBias);
    for (const t of owned) tf.keep(t);
    this.derived = { key, filter, bias, owned };
    return this.derived;
  }

  prepare(): void {
    if (this.foldable && (this.inPlace || runsFused(this.conv))) tf.tidy(() => void this.current());
  }

  drop(): void {
    if (this.derived) tf.dispose(this.derived.owned);
    this.derived = null;
  }

  dispose(): void {
    this.drop();
    this.inPlaceBias?.dispose();
    this.inPlaceBias = null;
  }

  foldInPlace(): void {
    if (this.inPlace || !this.foldable) return;
    this.drop();
    const conv = this.conv;
    if (this.norm instanceof BatchNorm2d) {
      const norm = this.norm;
      const { w, b } = tf.tidy(() => foldBatchNorm(conv.weight, conv.bias, norm));
      conv.weight.assign(w);
      if (conv.bias) conv.bias.assign(b);
      else this.inPlaceBias = tf.keep(b.clone());
      tf.dispose([w, b]);
      norm.dispose();
    }
    this.inPlace = true;
  }
}

/** W' = W * s and b' = (b - mean) * s + beta per output channel, s = gamma / sqrt(var + eps). */
function foldBatchNorm(w: Tensor, b: Tensor | null, bn: BatchNorm2d): { w: Tensor; b: Tensor } {
  return tf.tidy(() => {
    const inv = tf.rsqrt(tf.add(bn.runningVar, bn.eps));
    const scale = bn.weight ? tf.mul(inv, bn.weight) : inv;
    const centred = b ? tf.sub(b, bn.runningMean) : tf.neg(bn.runningMean);
    const shifted = tf.mul(centred, scale);
    return { w: tf.mul(w, scale), b: bn.bias ? tf.add(shifted, bn.bias) : shifted };
  });
}

/**
 * The inference plan of a Linear layer and the activation after it (or null): one `tf.fused.matMul` with the bias
 * and the activation in evaluation mode (on rank-2 input), the two modules in training.
 */
export class FusedLinear implements InferencePlan {
  private readonly act: ActSpec;

  constructor(
    /** The Linear layer. */
    readonly linear: Linear,
    /** The activation after it, or null. */
    readonly activation: Module | null,
  ) {
    // Hard-sigmoid needs a folded weight; a Linear keeps it as a module call after the fused op.
    const spec = actSpec(activation);
    this.act = spec.kind === 'hardsigmoid' ? { kind: 'module', module: activation! } : spec;
  }

  call(x: Tensor): Tensor {
    const lin = this.linear;
    if (!runsFused(lin) || x.rank !== 2 || x.size === 0 || x.shape[1] !== lin.inFeatures) {
      let y = lin.call(x);
      if (this.activation) y = this.activation.call(y);
      return y;
    }
    const spec = this.act;
    const fusedAct = spec.kind === 'fused' ? spec : null;
    const y = tf.fused.matMul({
      a: x as Tensor2D,
      b: lin.weight as Tensor2D,
      bias: lin.bias ?? undefined,
      activation: fusedAct ? fusedAct.name : 'linear',
      leakyreluAlpha: fusedAct?.alpha,
    });
    if (fusedAct) return y;
    return tf.tidy(() => applyAct(y, spec));
  }

  // A Linear's plan derives no tensors: nothing to make, free or fold.
  prepare(): void {}
  drop(): void {}
  foldInPlace(): void {}
  dispose(): void {}
}

/**
 * How a Sequential runs in fused inference: each Conv2d with the BatchNorm2d and activation right after it becomes
 * a {@link FusedConv}, each Linear with the activation after it a {@link FusedLinear}; Dropout and Identity (no-ops
 * in evaluation mode) are left out; every other layer runs as it is.
 */
export function planSequential(layers: readonly Module[]): Array<Module | InferencePlan> {
  const steps: Array<Module | InferencePlan> = [];
  for (let i = 0; i < layers.length; i++) {
    const m = layers[i]!;
    if (m instanceof Conv2d) {
      const next = layers[i + 1];
      const norm = next instanceof BatchNorm2d && next.numFeatures === m.outChannels ? layers[++i]! : null;
      const act = isActivation(layers[i + 1]) ? layers[++i]! : null;
      steps.push(new FusedConv(m, norm, act));
    } else if (m instanceof Linear) {
      const act = isActivation(layers[i + 1]) ? layers[++i]! : null;
      steps.push(new FusedLinear(m, act));
    } else if (!(m instanceof Dropout || m instanceof Identity)) {
      steps.push(m);
    }
  }
  return steps;
}

setSequentialPlanner(planSequential);
