// Inference ops that do in one pass what tfjs needs several for: an add with its activation, hard-swish,
// ShuffleNet's concat-then-shuffle, and a squeeze-and-excitation block. Each runs cnn's kernel (kernel-names.ts) where the backend has one (wasm) and no
// gradient is being recorded; otherwise it composes tfjs's ops, which training differentiates. Both paths give the
// same values (the kernel computes each element with the same float operations, in the same order).
import {
  engine,
  getKernel,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { tf } from './tf';
import {
  FUSED_ELTWISE,
  PADDED_MAX_POOL,
  SHUFFLE_CONCAT,
  SQUEEZE_EXCITE,
  type ConvActivation,
  type EltwiseActivation,
  type PaddedMaxPoolAttrs,
} from './kernel-names';
import { TensorArgumentError } from './errors';

export type { EltwiseActivation } from './kernel-names';

const ACTIVATIONS: readonly EltwiseActivation[] = ['linear', 'relu', 'relu6', 'hardswish'];

/** The activations cnn's convolution kernels apply as they write an output (`fusedConv2d`): all but hard-swish. */
export const CONV_ACTIVATIONS: readonly ConvActivation[] = ['linear', 'relu', 'relu6'];

/** Whether cnn's kernel `name` runs now: the backend has it and no gradient tape is recording. */
function kernelRuns(name: string, ...ts: Tensor[]): boolean {
  return (
    getKernel(name, tf.getBackend()) !== undefined &&
    !engine().isTapeOn() &&
    ts.every((t) => t.dtype === 'float32' && t.size > 0)
  );
}

function checkTensor(op: string, name: string, t: unknown): Tensor {
  if (!(t instanceof tf.Tensor)) throw new TensorArgumentError(`${op}: ${name} must be a tf.Tensor, got ${typeof t}`);
  if (t.isDisposed) throw new TensorArgumentError(`${op}: ${name} is disposed`);
  return t;
}

/** `activation` if `allowed` (by default every one-pass activation) holds it; a TensorArgumentError naming `op` otherwise. */
export function checkActivation<A extends EltwiseActivation = EltwiseActivation>(
  op: string,
  activation: unknown,
  allowed: readonly A[] = ACTIVATIONS as readonly A[],
): A {
  if (!allowed.includes(activation as A)) {
    throw new TensorArgumentError(
      `${op}: activation must be one of ${allowed.join(', ')}, got ${JSON.stringify(activation)}`,
    );
  }
  return activation as A;
}

/** The activation composed of tfjs's ops (hard-swish as x * (relu6(x + 3) * (1 / 6)), the kernel's order). */
export function composeActivation(y: Tensor, activation: EltwiseActivation): Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'hardswish':
      return tf.tidy(() => tf.mul(y, tf.mul(tf.relu6(tf.add(y, 3)), 1 / 6)));
    default:
      return y;
  }
}

/**
 * `activation(x)` in one pass: ReLU, ReLU6 or PyTorch's hard-swish `x * relu6(x + 3) / 6` (which tfjs composes of
 * four ops). On wasm, outside gradient recording, cnn's element-wise kernel; elsewhere tfjs's ops (differentiable).
 *
 * @example
 * fusedActivation(tf.tensor1d([-4, -1, 0, 1, 4]), 'hardswish');   // [-0, -0.3333, 0, 0.6667, 4]
 */
export function fusedActivation(x: Tensor, activation: EltwiseActivation): Tensor {
  const op = 'fusedActivation';
  checkTensor(op, 'x', x);
  const act = checkActivation(op, activation);
  if (act === 'linear') return x.clone();
  if (!kernelRuns(FUSED_ELTWISE, x)) return tf.tidy(() => composeActivation(x, act));
  return engine().runKernel(
    FUSED_ELTWISE,
    { a: x, b: x } as NamedTensorMap,
    {
      op: 'none',
      activation: act,
    } as unknown as NamedAttrMap,
  ) as Tensor;
}

/**
 * `activation(a + b)` in one pass (a residual connection and the ReLU after it), where `b` has `a`'s shape, is a
 * vector along `a`'s last axis, or is a scalar (or the same with `a` and `b` swapped). Other broadcasts are
 * refused. On wasm, outside gradient recording, cnn's element-wise kernel; elsewhere tfjs's ops (differentiable).
 *
 * @example
 * fusedAdd(tf.tensor1d([1, -3]), tf.tensor1d([1, 1]), 'relu');    // [2, 0]
 */
export function fusedAdd(a: Tensor, b: Tensor, activation: EltwiseActivation = 'linear'): Tensor {
  const op = 'fusedAdd';
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  const act = checkActivation(op, activation);
  if (a.dtype !== b.dtype) throw new TensorArgumentError(`fusedAdd: a is ${a.dtype} and b is ${b.dtype}`);
  // Whether `small` broadcasts over `big` the ways the kernel takes: the same shape, a vector along the last axis
  // ([c] or [1, ..., 1, c]) or one value.
  const fits = (big: Tensor, small: Tensor): boolean =>
    (big.rank === small.rank && big.shape.every((d, i) => d === small.shape[i])) ||
    (small.rank > 0 &&
      small.rank <= big.rank &&
      small.shape[small.rank - 1] === big.shape[big.rank - 1] &&
      small.shape.slice(0, -1).every((d) => d === 1)) ||
    (small.size === 1 && small.rank <= big.rank);
  if (!fits(a, b) && !fits(b, a)) {
    throw new TensorArgumentError(
      `fusedAdd: b must have a's shape, be a vector along its last axis or a scalar: got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`,
    );
  }
  if (a.rank === 0 || b.rank === 0 || !kernelRuns(FUSED_ELTWISE, a, b)) {
    return tf.tidy(() => composeActivation(tf.add(a, b), act));
  }
  return engine().runKernel(
    FUSED_ELTWISE,
    { a, b } as NamedTensorMap,
    {
      op: 'add',
      activation: act,
    } as unknown as NamedAttrMap,
  ) as Tensor;
}

/**
 * ShuffleNet's two-group channel shuffle of a concatenation, in one pass: the result of
 * `channelShuffle(concat([a[..., :c], b], 3), 2)` where `c` is `b`'s channel count, so output channel 2j is channel
 * j of `a` and channel 2j + 1 is channel j of `b`. `a` may have more channels than `b` (its first `c` are taken, as
 * the stride-1 unit passes its whole input for the half it keeps). NHWC, rank 4, the same batch, height and width.
 *
 * @example
 * const a = tf.zeros([1, 2, 2, 4]), b = tf.ones([1, 2, 2, 2]);
 * channelShuffleConcat(a, b).shape;   // [1, 2, 2, 4]: channels a0, b0, a1, b1
 */
export function channelShuffleConcat(a: Tensor, b: Tensor): Tensor4D {
  const op = 'channelShuffleConcat';
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  if (a.rank !== 4 || b.rank !== 4) {
    throw new TensorArgumentError(`${op}: a and b must be rank 4 (NHWC), got ranks ${a.rank} and ${b.rank}`);
  }
  if (a.dtype !== b.dtype) throw new TensorArgumentError(`${op}: a is ${a.dtype} and b is ${b.dtype}`);
  const [n, h, w, ca] = a.shape as [number, number, number, number];
  const c = b.shape[3]!;
  if (b.shape[0] !== n || b.shape[1] !== h || b.shape[2] !== w || ca < c) {
    throw new TensorArgumentError(
      `${op}: b [${b.shape.join(', ')}] must have a's batch, height and width, and at most a's ${ca} channels (a is [${a.shape.join(', ')}])`,
    );
  }
  if (!kernelRuns(SHUFFLE_CONCAT, a, b)) {
    return tf.tidy(() => {
      const first = ca === c ? a : tf.slice(a, [0, 0, 0, 0], [n, h, w, c]);
      const cat = tf.reshape(tf.concat([first, b], 3), [n, h, w, 2, c]);
      return tf.reshape(tf.transpose(cat, [0, 1, 2, 4, 3]), [n, h, w, 2 * c]) as Tensor4D;
    });
  }
  return engine().runKernel(SHUFFLE_CONCAT, { a, b } as NamedTensorMap, {}) as Tensor4D;
}

/** The gates {@link squeezeExcite} takes. */
export type SqueezeExciteGate = 'hardsigmoid' | 'sigmoid';

/**
 * A squeeze-and-excitation block (Hu et al.) for inference: per image, the channel means `m` of `x` (NHWC),
 * `s = relu(m w1 + b1)`, `g = gate(s w2 + b2)` and `x * g` per channel, where `w1` [1, 1, c, s] and `w2` [1, 1, s, c]
 * are the two 1x1 convolutions' filters (a `Conv2d`'s `weight`) and `b1` [s], `b2` [c] their biases. The gate is
 * PyTorch's hard sigmoid `relu6(z + 3) / 6` (MobileNetV3) or the logistic sigmoid (SENet). With the hard sigmoid,
 * on wasm and outside gradient recording, the whole block is one call of cnn's kernel (no intermediate tensors, on
 * the calling thread unless the input has at least 64K values per thread); otherwise it composes tfjs's ops
 * (differentiable).
 *
 * @example
 * const x = tf.ones([1, 2, 2, 4]);
 * const y = squeezeExcite(x, tf.ones([1, 1, 4, 2]), tf.zeros([2]), tf.zeros([1, 1, 2, 4]), tf.zeros([4]));
 * // every value 0.5: the gate of 0 is relu6(3) / 6
 */
export function squeezeExcite(
  x: Tensor,
  w1: Tensor,
  b1: Tensor,
  w2: Tensor,
  b2: Tensor,
  gate: SqueezeExciteGate = 'hardsigmoid',
): Tensor4D {
  const op = 'squeezeExcite';
  const named = { x, w1, b1, w2, b2 };
  for (const [name, t] of Object.entries(named)) checkTensor(op, name, t);
  if (gate !== 'hardsigmoid' && gate !== 'sigmoid') {
    throw new TensorArgumentError(`${op}: gate must be 'hardsigmoid' or 'sigmoid', got ${JSON.stringify(gate)}`);
  }
  for (const [name, t] of Object.entries(named)) {
    if (t.dtype !== 'float32') throw new TensorArgumentError(`${op}: ${name} must be float32, got ${t.dtype}`);
  }
  if (x.rank !== 4) throw new TensorArgumentError(`${op}: x must be rank 4 (NHWC), got shape [${x.shape.join(', ')}]`);
  const c = x.shape[3]!;
  const s = w1.shape[3] ?? 0;
  const is = (t: Tensor, shape: number[]) => t.rank === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!is(w1, [1, 1, c, s]) || s === 0 || !is(b1, [s]) || !is(w2, [1, 1, s, c]) || !is(b2, [c])) {
    throw new TensorArgumentError(
      `${op}: for x with ${c} channels, w1 must be [1, 1, ${c}, s] with s > 0, b1 [s], w2 [1, 1, s, ${c}] and b2 [${c}]; got w1 [${w1.shape.join(', ')}], b1 [${b1.shape.join(', ')}], w2 [${w2.shape.join(', ')}], b2 [${b2.shape.join(', ')}]`,
    );
  }
  if (gate === 'hardsigmoid' && kernelRuns(SQUEEZE_EXCITE, x, w1, b1, w2, b2)) {
    return engine().runKernel(SQUEEZE_EXCITE, named as unknown as NamedTensorMap, {}) as Tensor4D;
  }
  if (x.size === 0) return x.clone() as Tensor4D;
  return tf.tidy(() => {
    const m = tf.mean(x, [1, 2], true) as Tensor4D;
    const conv = (v: Tensor4D, filter: Tensor, bias: Tensor, activation: 'relu' | 'linear') =>
      tf.fused.conv2d({ x: v, filter: filter as Tensor4D, strides: 1, pad: 'valid', bias, activation });
    const z = conv(conv(m, w1, b1, 'relu'), w2, b2, 'linear');
    const g = gate === 'hardsigmoid' ? tf.div(tf.relu6(tf.add(z, 3)), 6) : tf.sigmoid(z);
    return tf.mul(x, g) as Tensor4D;
  });
}

/**
 * Max pooling of an NHWC tensor with explicit padding that counts as -infinity: `pads` = [top, bottom, left, right]
 * rows and columns around the input, as PyTorch's `MaxPool2d` pads (and `ceil_mode` adds past the bottom and right).
 * Every window must hold at least one input pixel (each padding smaller than its window). On wasm, outside gradient
 * recording, one pass of cnn's kernel with no padded copy (on the calling thread below 2^20 window reads); otherwise
 * `tf.pad` with -infinity and `tf.maxPool` (differentiable). Both give the same values. On wasm (where tfjs's MaxPool
 * is cnn's kernel too) a window that holds a NaN gives NaN, as PyTorch's; tfjs's kernels elsewhere let a NaN lose.
 *
 * @example
 * maxPoolPadded(tf.ones([1, 4, 4, 2]), [3, 3], [2, 2], [1, 1, 1, 1]).shape;   // [1, 2, 2, 2]
 */
export function maxPoolPadded(
  x: Tensor,
  filterSize: [number, number],
  strides: [number, number],
  pads: [number, number, number, number],
): Tensor4D {
  const op = 'maxPoolPadded';
  checkTensor(op, 'x', x);
  if (x.rank !== 4) throw new TensorArgumentError(`${op}: x must be rank 4 (NHWC), got shape [${x.shape.join(', ')}]`);
  const whole = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
  if (
    !Array.isArray(filterSize) ||
    filterSize.length !== 2 ||
    !filterSize.every((v) => whole(v, 1)) ||
    !Array.isArray(strides) ||
    strides.length !== 2 ||
    !strides.every((v) => whole(v, 1)) ||
    !Array.isArray(pads) ||
    pads.length !== 4 ||
    !pads.every((v) => whole(v, 0))
  ) {
    throw new TensorArgumentError(
      `${op}: filterSize and strides must be two whole numbers >= 1 and pads four whole numbers >= 0, got ${JSON.stringify({ filterSize, strides, pads })}`,
    );
  }
  const [, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = filterSize;
  const [top, bottom, left, right] = pads;
  if (top >= kh || bottom >= kh || left >= kw || right >= kw || h + top + bottom < kh || w + left + right < kw) {
    throw new TensorArgumentError(
      `${op}: each padding must be smaller than the ${kh}x${kw} window, which must fit the padded ${h}x${w} input; got pads ${JSON.stringify(pads)}`,
    );
  }
  if (!kernelRuns(PADDED_MAX_POOL, x)) {
    return tf.tidy(() => {
      const padded = tf.pad(
        x,
        [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        Number.NEGATIVE_INFINITY,
      ) as Tensor4D;
      return tf.maxPool(padded, filterSize, strides, 'valid');
    });
  }
  const attrs: PaddedMaxPoolAttrs = { filterSize, strides, pads };
  return engine().runKernel(PADDED_MAX_POOL, { x } as NamedTensorMap, attrs as unknown as NamedAttrMap) as Tensor4D;
}
