// The functional API: the math of every layer, with PyTorch's meaning, on NHWC tensors.
// Modules (module.ts, layers/) own parameters and call these.
import {
  tf,
  checkActivation,
  CONV_ACTIVATIONS,
  batchNormTrainBackward,
  batchNormTrainForward,
  conv2d as convOp,
  maxPoolPadded,
  type BatchNormActivation,
  type Tensor,
  type Tensor2D,
  type Tensor4D,
  type Padding,
} from '@cnn/tensor';
import { nextSeed } from './random';

/** A size given once for both spatial dimensions, or as `[height, width]`. */
export type Size2 = number | [number, number];

/** Padding of a convolution or pooling: PyTorch's numbers, per side, or `'same'` / `'valid'` (see @cnn/tensor). */
export type Padding2 = Padding;

function pair(op: string, what: string, v: Size2, min = 1): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= min)) {
    throw new Error(
      `${op}: ${what} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or [height, width], got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

function rank4(op: string, x: Tensor): Tensor4D {
  if (!(x instanceof tf.Tensor)) throw new Error(`${op}: input must be a tf.Tensor, got ${typeof x}`);
  if (x.rank !== 4) throw new Error(`${op}: input must be rank 4 (NHWC), got shape [${x.shape.join(', ')}]`);
  return x as Tensor4D;
}

/** `[[top, bottom], [left, right]]` from PyTorch-style padding: a number, `[h, w]` or per side. */
function sides(
  op: string,
  padding: number | [number, number] | [[number, number], [number, number]],
): [[number, number], [number, number]] {
  if (typeof padding === 'number')
    return [
      [padding, padding],
      [padding, padding],
    ];
  if (typeof padding[0] === 'number') {
    const [h, w] = padding as [number, number];
    return [
      [h, h],
      [w, w],
    ];
  }
  const s = padding as [[number, number], [number, number]];
  if (![...s[0], ...s[1]].every((e) => Number.isInteger(e) && e >= 0))
    throw new Error(`${op}: padding must be non-negative integers, got ${JSON.stringify(padding)}`);
  return s;
}

// ----------------------------------------------------------------------------------------------
// Convolution and linear

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Added to every output channel: shape [out]. */
  bias?: Tensor;
  /** Default 1. */
  stride?: Size2;
  /** Default 0. Numbers mean what PyTorch's `padding` means; `'same'` at stride > 1 follows TensorFlow. */
  padding?: Padding2;
  /** Default 1. */
  dilation?: Size2;
  /** Default 1. */
  groups?: number;
}

/**
 * 2-D convolution, as `torch.nn.functional.conv2d` but NHWC: x [n, h, w, in], weight [kh, kw, in / groups, out].
 *
 * @example
 * const img = tf.randomNormal([1, 8, 12, 3]);
 * const weight = tf.randomNormal([3, 3, 3, 6]);
 * F.conv2d(img, weight, { padding: 1 }).shape;   // [1, 8, 12, 6]
 */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dOptions = {}): Tensor4D {
  const { bias, stride = 1, padding = 0, dilation = 1, groups = 1 } = opts;
  const x4 = rank4('conv2d', x);
  return tf.tidy(() => {
    const y = convOp(x4, weight as Tensor4D, { strides: stride, pad: padding, dilations: dilation, groups });
    if (!bias) return y;
    if (bias.rank !== 1 || bias.shape[0] !== y.shape[3]) {
      throw new Error(`conv2d: bias must have shape [${y.shape[3]}], got [${bias.shape.join(', ')}]`);
    }
    return tf.add(y, bias) as Tensor4D;
  });
}

/**
 * `x @ weight + bias`, as `torch.nn.functional.linear` but with weight [in, out] (tfjs's dense layout).
 *
 * @example
 * F.linear(tf.ones([2, 8]), tf.ones([8, 6])).shape;   // [2, 6]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) throw new Error(`linear: weight must be rank 2 [in, out], got [${weight.shape.join(', ')}]`);
  const [inF, outF] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new Error(`linear: input has ${x.shape[x.rank - 1]} features, weight expects ${inF}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF))
    throw new Error(`linear: bias must have shape [${outF}], got [${bias.shape.join(', ')}]`);
  const lead = x.shape.slice(0, -1);
  return tf.tidy(() => {
    const flat = x.rank === 2 ? (x as Tensor2D) : (x.reshape([-1, inF]) as Tensor2D);
    let y: Tensor = tf.matMul(flat, weight as Tensor2D);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : y.reshape([...lead, outF]);
  });
}

// ----------------------------------------------------------------------------------------------
// Pooling

/** Options of {@link maxPool2d} and {@link avgPool2d}, as PyTorch's. */
export interface Pool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  /** Implicit padding on both sides; default 0 (at most half the kernel, as PyTorch requires). */
  padding?: Size2;
  /** Round the output size up instead of down (a last window may start in the right/bottom padding region). */
  ceilMode?: boolean;
  /** avgPool2d only: count padded zeros in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
}

interface PoolGeometry {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  out: [number, number];
  /** Extra padding after the input so that every output window fits (ceil mode). */
  extra: [number, number];
}

function poolGeometry(op: string, x: Tensor4D, kernelSize: Size2, o: Pool2dOptions): PoolGeometry {
  const k = pair(op, 'kernelSize', kernelSize);
  const s = pair(op, 'stride', o.stride ?? k);
  const p = pair(op, 'padding', o.padding ?? 0, 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1])
    throw new Error(`${op}: padding ${p.join('x')} must be at most half the kernel ${k.join('x')}`);
  const dims = [x.shape[1], x.shape[2]];
  const out = [0, 1].map((d) => {
    const span = dims[d] + 2 * p[d] - k[d];
    if (span < 0)
      throw new Error(
        `${op}: kernel ${k.join('x')} is larger than the padded input ${dims[0] + 2 * p[0]}x${dims[1] + 2 * p[1]}`,
      );
    let n = (o.ceilMode ? Math.ceil(span / s[d]) : Math.floor(span / s[d])) + 1;
    // PyTorch: the last window must start inside the input or the left padding.
    if (o.ceilMode && (n - 1) * s[d] >= dims[d] + p[d]) n--;
    return n;
  }) as [number, number];
  const extra = [0, 1].map((d) => Math.max(0, (out[d] - 1) * s[d] + k[d] - (dims[d] + 2 * p[d]))) as [number, number];
  return { k, s, p, out, extra };
}

/**
 * Max pooling with PyTorch's semantics (padding counts as -infinity; `ceilMode`). On wasm a window that holds a NaN
 * gives NaN, as in PyTorch (@cnn/tensor's max pooling kernel); tfjs's kernels on the other backends let a NaN lose to
 * any number in its window.
 *
 * @example
 * F.maxPool2d(tf.randomNormal([1, 8, 12, 6]), 2).shape;   // [1, 4, 6, 6]: a 2x2 window at stride 2 halves H and W
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor4D {
  const x4 = rank4('maxPool2d', x);
  const g = poolGeometry('maxPool2d', x4, kernelSize, opts);
  const { p, extra } = g;
  if (p[0] === 0 && p[1] === 0 && extra[0] === 0 && extra[1] === 0) return tf.maxPool(x4, g.k, g.s, 'valid');
  // One pass without a padded copy on wasm (inference); tf.pad + tf.maxPool elsewhere and under gradient recording.
  return maxPoolPadded(x4, g.k, g.s, [p[0], p[0] + extra[0], p[1], p[1] + extra[1]]);
}

function padSpatial(x: Tensor4D, g: PoolGeometry, value: number): Tensor4D {
  const { p, extra } = g;
  if (p[0] === 0 && p[1] === 0 && extra[0] === 0 && extra[1] === 0) return x;
  return tf.pad(
    x,
    [
      [0, 0],
      [p[0], p[0] + extra[0]],
      [p[1], p[1] + extra[1]],
      [0, 0],
    ],
    value,
  );
}

/**
 * Average pooling with PyTorch's semantics: zero padding, `countIncludePad` (default true: padded zeros count in
 * the divisor, the extra overhang of `ceilMode` never does), `ceilMode`.
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor4D {
  const x4 = rank4('avgPool2d', x);
  const g = poolGeometry('avgPool2d', x4, kernelSize, opts);
  // An empty batch: no divisor to compute (its size is the output's, whatever the batch: summary's empty pass).
  if (x4.size === 0) return tf.tidy(() => tf.avgPool(padSpatial(x4, g, 0), g.k, g.s, 'valid'));
  const include = opts.countIncludePad ?? true;
  const [h, w] = [x4.shape[1], x4.shape[2]];
  // Divisor of every output position: the part of its window inside the input (plus padding, if counted).
  const lo = include ? [-g.p[0], -g.p[1]] : [0, 0];
  const hi = include ? [h + g.p[0], w + g.p[1]] : [h, w];
  const div = new Float32Array(g.out[0] * g.out[1]);
  const uniform = g.k[0] * g.k[1];
  let allUniform = true;
  for (let i = 0; i < g.out[0]; i++) {
    const r0 = i * g.s[0] - g.p[0];
    const rows = Math.min(r0 + g.k[0], hi[0]) - Math.max(r0, lo[0]);
    for (let j = 0; j < g.out[1]; j++) {
      const c0 = j * g.s[1] - g.p[1];
      const cols = Math.min(c0 + g.k[1], hi[1]) - Math.max(c0, lo[1]);
      div[i * g.out[1] + j] = rows * cols;
      if (rows * cols !== uniform) allUniform = false;
    }
  }
  return tf.tidy(() => {
    const padded = padSpatial(x4, g, 0);
    const mean = tf.avgPool(padded, g.k, g.s, 'valid');
    if (allUniform) return mean;
    const scale = tf.tensor4d(
      div.map((d) => uniform / d),
      [1, g.out[0], g.out[1], 1],
    );
    return tf.mul(mean, scale);
  });
}

/** The PyTorch bins of adaptive pooling: bin i covers [floor(i * n / out), ceil((i + 1) * n / out)). */
export function adaptiveBins(n: number, out: number): Array<[number, number]> {
  return Array.from({ length: out }, (_, i) => [Math.floor((i * n) / out), Math.ceil(((i + 1) * n) / out)]);
}

function binMatrix(n: number, out: number): Tensor2D {
  const m = new Float32Array(n * out);
  adaptiveBins(n, out).forEach(([a, b], i) => {
    for (let r = a; r < b; r++) m[r * out + i] = 1 / (b - a);
  });
  return tf.tensor2d(m, [n, out]);
}

/**
 * Adaptive average pooling to `outputSize` with PyTorch's bins, also when the output is larger than the input.
 *
 * @example
 * F.adaptiveAvgPool2d(tf.randomNormal([2, 13, 13, 256]), 6).shape;   // [2, 6, 6, 256]
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Size2): Tensor4D {
  const x4 = rank4('adaptiveAvgPool2d', x);
  const [oh, ow] = pair('adaptiveAvgPool2d', 'outputSize', outputSize);
  const [n, h, w, c] = x4.shape;
  if (oh === 1 && ow === 1) return tf.mean(x4, [1, 2], true) as Tensor4D;
  if (oh === h && ow === w) return x4.clone();
  // An empty batch: the shape alone, still connected to x for autograd (the bin matrices are h x oh and w x ow).
  if (x4.size === 0) return tf.tidy(() => tf.add(tf.zeros([n, oh, ow, c]), tf.mul(tf.sum(x4), 0)) as Tensor4D);
  return tf.tidy(() => {
    // Pool the rows: [n, w, c, h] @ [h, oh], then the columns: [n, oh, c, w] @ [w, ow].
    const rows = tf.matMul(x4.transpose([0, 2, 3, 1]).reshape([n * w * c, h]), binMatrix(h, oh)).reshape([n, w, c, oh]);
    const cols = tf
      .matMul(rows.transpose([0, 3, 2, 1]).reshape([n * oh * c, w]), binMatrix(w, ow))
      .reshape([n, oh, c, ow]);
    return cols.transpose([0, 1, 3, 2]) as Tensor4D;
  });
}

/** Mean over the spatial dimensions: [n, h, w, c] -> [n, c]. */
export function globalAvgPool(x: Tensor): Tensor2D {
  return tf.mean(rank4('globalAvgPool', x), [1, 2]) as Tensor2D;
}

// ----------------------------------------------------------------------------------------------
// Normalisation, dropout, reshaping

/** Statistics and affine parameters of {@link batchNorm}; all of shape [c]. */
export interface BatchNormParams {
  /** Per-channel mean to subtract. */
  mean: Tensor;
  /** Per-channel variance to divide by (after adding `eps` and taking the square root). */
  variance: Tensor;
  /** Per-channel scale applied after normalising (γ); none: 1. */
  weight?: Tensor;
  /** Per-channel shift applied last (β); none: 0. */
  bias?: Tensor;
  /** Default 1e-5 (PyTorch's). */
  eps?: number;
}

/** `(x - mean) / sqrt(variance + eps) * weight + bias` along the channel (last) dimension. */
export function batchNorm(x: Tensor, p: BatchNormParams): Tensor {
  const c = x.shape[x.rank - 1];
  for (const [name, t] of Object.entries({ mean: p.mean, variance: p.variance, weight: p.weight, bias: p.bias })) {
    if (t && (t.rank !== 1 || t.shape[0] !== c))
      throw new Error(`batchNorm: ${name} must have shape [${c}], got [${t.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const inv = tf.rsqrt(tf.add(p.variance, p.eps ?? 1e-5));
    const scale = p.weight ? tf.mul(inv, p.weight) : inv;
    const shift = p.bias ? tf.sub(p.bias, tf.mul(p.mean, scale)) : tf.neg(tf.mul(p.mean, scale));
    return tf.add(tf.mul(x, scale), shift);
  });
}

/** What {@link batchNormTrain} returns: the normalised batch and the statistics it was normalised with. */
export interface BatchNormTrainResult {
  /** `(x - mean) / sqrt(variance + eps) * weight + bias`, differentiable with respect to x, weight and bias. */
  y: Tensor;
  /** Mean of each channel over the batch (shape [c]; no gradient flows through it). */
  mean: Tensor;
  /** Biased variance of each channel, the one `y` was normalised with (shape [c]; no gradient). */
  variance: Tensor;
  /** Unbiased variance (divided by count - 1), the one running statistics track (shape [c]; no gradient). */
  unbiased: Tensor;
}

/**
 * Batch normalisation in training mode: normalises each channel (the last dimension) with the batch's own mean and
 * biased variance, then scales and shifts, and returns those statistics too (for running averages). Its gradient
 * is written out, as PyTorch's is, instead of traced through the ops: with g = weight and x̂ the normalised input,
 * dx = g / sqrt(variance + eps) * (dy - mean(dy) - x̂ * mean(dy * x̂)), dweight = Σ dy * x̂, dbias = Σ dy. So a
 * training step keeps one normalised copy of the input per layer, not every full-size intermediate of the traced
 * `batchMoments` + {@link batchNorm} ops (ResNet-20 at 32x32, batch 32: 102 MB of live tensors at the loss instead
 * of 223 MB, and a fifth less time per step).
 *
 * @param x - input, channels last, at least two values per channel.
 * @param p - optional `weight` and `bias` of shape [c], `eps` (default 1e-5), and `activation`: `'relu'` or `'relu6'`
 *   applied to `y` in the same pass (default `'linear'`: none), the values and gradients of `F.relu` / `F.relu6`
 *   after the normalisation, without their two passes over the tensor.
 */
export function batchNormTrain(
  x: Tensor,
  p: { weight?: Tensor; bias?: Tensor; eps?: number; activation?: BatchNormActivation } = {},
): BatchNormTrainResult {
  if (!(x instanceof tf.Tensor)) throw new Error(`batchNormTrain: input must be a tf.Tensor, got ${typeof x}`);
  const c = x.shape[x.rank - 1];
  for (const [name, t] of Object.entries({ weight: p.weight, bias: p.bias })) {
    if (t && (t.rank !== 1 || t.shape[0] !== c))
      throw new Error(`batchNormTrain: ${name} must have shape [${c}], got [${t.shape.join(', ')}]`);
  }
  const count = x.size / c;
  if (!(count > 1))
    throw new Error(
      `batchNormTrain: expected more than one value per channel to normalise over, got input shape [${x.shape.join(', ')}]`,
    );
  const eps = p.eps ?? 1e-5;
  const { weight, bias } = p;
  const activation = checkActivation('batchNormTrain', p.activation ?? 'linear', CONV_ACTIVATIONS);
  let stats: Omit<BatchNormTrainResult, 'y'> | undefined;
  // customGrad runs this with the tape off and disposes what it does not return or save; the statistics are kept
  // by hand and handed to the caller.
  const normalise = tf.customGrad((...args: unknown[]) => {
    const xin = args[0] as Tensor;
    const w = weight ? (args[1] as Tensor) : undefined;
    const b = bias ? (args[weight ? 2 : 1] as Tensor) : undefined;
    const save = args[args.length - 1] as (ts: Tensor[]) => void;
    const { y, invStd, mean, variance, unbiased } = batchNormTrainForward(xin, w, b, eps, activation);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance), unbiased: tf.keep(unbiased) };
    // The input itself is saved (it is alive anyway while a convolution before this layer needs it for nothing
    // else, and it costs the same as a normalised copy); the gradient recomputes x̂ on the fly.
    // With an activation the gradient recomputes its input from x, which needs the bias too.
    const shift = activation !== 'linear' && b ? [b] : [];
    save(w ? [xin, mean, invStd, ...shift, w] : [xin, mean, invStd, ...shift]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, mu, inv] = saved;
        const beta = shift.length > 0 ? saved[3] : undefined;
        const g = w ? saved[saved.length - 1] : undefined;
        const { dx, dweight, dbias } = batchNormTrainBackward(dy, xs, mu, inv, g, { activation, bias: beta });
        return [dx, ...(w ? [dweight] : []), ...(b ? [dbias] : [])];
      },
    };
  });
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const y = (normalise as (...ts: Tensor[]) => Tensor)(...inputs);
  // Clones (sharing the data) are tracked by the caller's scope like any result, so a tf.tidy around the call
  // disposes them; the kept originals go.
  const kept = stats!;
  const out = { y, mean: kept.mean.clone(), variance: kept.variance.clone(), unbiased: kept.unbiased.clone() };
  tf.dispose([kept.mean, kept.variance, kept.unbiased]);
  return out;
}

/** Batch mean and variances over every dimension but the last: the biased variance (to normalise) and the unbiased one (for running statistics). */
export function batchMoments(x: Tensor): {
  /** Mean of each channel over batch, height and width. */
  mean: Tensor;
  /** Biased variance of each channel (divided by the count), the one training normalises with. */
  variance: Tensor;
  /** Unbiased variance (divided by count - 1), the one the running statistics track. */
  unbiased: Tensor;
} {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.rank - 1];
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes);
    const unbiased = count > 1 ? tf.mul(variance, count / (count - 1)) : variance.clone();
    return { mean, variance, unbiased };
  });
}

/** Options of {@link localResponseNorm}, as PyTorch's. */
export interface LocalResponseNormOptions {
  /** Scale of the sum of squares (default 1e-4). */
  alpha?: number;
  /** Exponent of the denominator (default 0.75). */
  beta?: number;
  /** Constant added in the denominator (default 1). */
  k?: number;
}

/**
 * Local response normalisation across channels, PyTorch's formula:
 * `b_c = a_c / (k + alpha / size * sum of a^2 over the size channels around c)^beta`, zero-padded at the ends.
 */
export function localResponseNorm(x: Tensor, size: number, opts: LocalResponseNormOptions = {}): Tensor4D {
  const x4 = rank4('localResponseNorm', x);
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`localResponseNorm: size must be a positive integer, got ${size}`);
  const { alpha = 1e-4, beta = 0.75, k = 1 } = opts;
  const c = x4.shape[3];
  return tf.tidy(() => {
    const sq = tf.pad(tf.square(x4), [
      [0, 0],
      [0, 0],
      [0, 0],
      [Math.floor(size / 2), Math.floor((size - 1) / 2)],
    ]);
    let sum: Tensor = tf.slice(sq, [0, 0, 0, 0], [-1, -1, -1, c]);
    for (let i = 1; i < size; i++) sum = tf.add(sum, tf.slice(sq, [0, 0, 0, i], [-1, -1, -1, c]));
    const denom = tf.pow(tf.add(tf.mul(sum, alpha / size), k), beta);
    return tf.div(x4, denom) as Tensor4D;
  });
}

/**
 * Zeroes each element with probability p in training (scaling the rest by 1 / (1 - p)); identity otherwise.
 * Without `seed`, the mask's seed is drawn from the generator that `manualSeed` seeds (one draw per call in training
 * with p > 0, none otherwise), so seeded runs repeat and a run resumed with `setRandomState` draws the same masks.
 */
export function dropout(x: Tensor, p = 0.5, training = true, seed?: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x.clone();
  return tf.dropout(x, p, undefined, seed ?? nextSeed());
}

/** Flattens dimensions from `startDim` on: [n, h, w, c] -> [n, h * w * c] (NHWC order). */
export function flatten(x: Tensor, startDim = 1): Tensor {
  if (startDim < 0 || startDim >= x.rank)
    throw new Error(`flatten: startDim ${startDim} is out of range for rank ${x.rank}`);
  // The flattened size spelled out, not -1: tfjs cannot infer a -1 next to a zero (an empty batch).
  return x.reshape([...x.shape.slice(0, startDim), x.shape.slice(startDim).reduce((a, b) => a * b, 1)]);
}

/** A dimension index, negative counting from the end, checked against the rank; errors name the op. */
function dimOf(op: string, rank: number, dim: number): number {
  const d = dim < 0 ? rank + dim : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= rank)
    throw new Error(`${op}: dim ${dim} is out of range for a rank-${rank} tensor (expected ${-rank} to ${rank - 1})`);
  return d;
}

/** Softmax along `dim` (default the last); rows sum to 1. */
export function softmax(x: Tensor, dim = -1): Tensor {
  const d = dimOf('softmax', x.rank, dim);
  if (d === x.rank - 1) return tf.softmax(x);
  const perm = swapLast(x.rank, d);
  return tf.tidy(() => tf.softmax(x.transpose(perm)).transpose(perm));
}

/** Log of {@link softmax}, computed stably. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  const d = dimOf('logSoftmax', x.rank, dim);
  if (d === x.rank - 1) return tf.logSoftmax(x);
  const perm = swapLast(x.rank, d);
  return tf.tidy(() => tf.logSoftmax(x.transpose(perm)).transpose(perm));
}

function swapLast(rank: number, d: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[d] = rank - 1;
  perm[rank - 1] = d;
  return perm;
}

// ----------------------------------------------------------------------------------------------
// Activations (PyTorch's formulas)

/** max(x, 0). */
export const relu = (x: Tensor): Tensor => tf.relu(x);
/** min(max(x, 0), 6). */
export const relu6 = (x: Tensor): Tensor => tf.relu6(x);
/** x for x >= 0, slope * x otherwise (PyTorch's default slope 0.01). */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => tf.leakyRelu(x, negativeSlope);
/** x for x > 0, alpha * (exp(x) - 1) otherwise. */
export const elu = (x: Tensor, alpha = 1): Tensor =>
  alpha === 1 ? tf.elu(x) : tf.tidy(() => tf.add(tf.relu(x), tf.mul(tf.expm1(tf.minimum(x, 0)), alpha)));
/** 1 / (1 + exp(-x)). */
export const sigmoid = (x: Tensor): Tensor => tf.sigmoid(x);
/** tanh(x). */
export const tanh = (x: Tensor): Tensor => tf.tanh(x);
/** x * Phi(x) with the exact normal CDF (PyTorch's default `approximate='none'`). */
export const gelu = (x: Tensor): Tensor =>
  tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
/** x * sigmoid(x) (also called swish). */
export const silu = (x: Tensor): Tensor => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
/** PyTorch's hard sigmoid: relu6(x + 3) / 6 (not the Keras 0.2 * x + 0.5). */
export const hardSigmoid = (x: Tensor): Tensor => tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
/** x * relu6(x + 3) / 6 (MobileNetV3). */
export const hardSwish = (x: Tensor): Tensor => tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));

// ----------------------------------------------------------------------------------------------
// Channel operations

/**
 * ShuffleNet's channel shuffle: with g groups of c / g channels, channel i * (c / g) + j moves to j * g + i.
 *
 * @example
 * F.channelShuffle(x, 3);   // [n, h, w, 12] stays [n, h, w, 12], channels interleaved across the 3 groups
 */
export function channelShuffle(x: Tensor, groups: number): Tensor4D {
  const x4 = rank4('channelShuffle', x);
  const [n, h, w, c] = x4.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`channelShuffle: ${c} channels cannot be split into ${groups} groups`);
  }
  return tf.tidy(
    () =>
      x4
        .reshape([n, h, w, groups, c / groups])
        .transpose([0, 1, 2, 4, 3])
        .reshape([n, h, w, c]) as Tensor4D,
  );
}

/** Pads the spatial dimensions: a number, [h, w] or [[top, bottom], [left, right]], with a constant. */
export function pad(
  x: Tensor,
  padding: number | [number, number] | [[number, number], [number, number]],
  value = 0,
): Tensor4D {
  const x4 = rank4('pad', x);
  const [[t, b], [l, r]] = sides('pad', padding);
  return tf.pad(
    x4,
    [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
    value,
  );
}

/** Concatenates along `dim` (default the last, the channels of NHWC). */
export function concat(tensors: Tensor[], dim = -1): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors given');
  const rank = tensors[0].rank;
  const d = dimOf('concat', rank, dim);
  tensors.forEach((t, i) => {
    if (t.rank !== rank || t.shape.some((s, j) => j !== d && s !== tensors[0].shape[j])) {
      throw new Error(
        `concat: tensor ${i} has shape [${t.shape.join(', ')}], which does not match [${tensors[0].shape.join(', ')}] outside dim ${d}`,
      );
    }
  });
  return tf.concat(tensors, d);
}
