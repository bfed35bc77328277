// Inference ops that do in one pass what tfjs needs several for: an add with its activation, hard-swish, and
// ShuffleNet's concat-then-shuffle. Each runs cnn's kernel (kernel-names.ts) where the backend has one (wasm) and no
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
import { FUSED_ELTWISE, SHUFFLE_CONCAT, type EltwiseActivation } from './kernel-names';

export type { EltwiseActivation } from './kernel-names';

const ACTIVATIONS: readonly EltwiseActivation[] = ['linear', 'relu', 'relu6', 'hardswish'];

/** Whether cnn's kernel `name` runs now: the backend has it and no gradient tape is recording. */
function kernelRuns(name: string, ...ts: Tensor[]): boolean {
  return (
    getKernel(name, tf.getBackend()) !== undefined &&
    !engine().isTapeOn() &&
    ts.every((t) => t.dtype === 'float32' && t.size > 0)
  );
}

function checkTensor(op: string, name: string, t: unknown): Tensor {
  if (!(t instanceof tf.Tensor)) throw new Error(`${op}: ${name} must be a tf.Tensor, got ${typeof t}`);
  if (t.isDisposed) throw new Error(`${op}: ${name} is disposed`);
  return t;
}

function checkActivation(op: string, activation: unknown): EltwiseActivation {
  if (!ACTIVATIONS.includes(activation as EltwiseActivation)) {
    throw new Error(`${op}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  }
  return activation as EltwiseActivation;
}

/** The activation composed of tfjs's ops (hard-swish as x * (relu6(x + 3) * (1 / 6)), the kernel's order). */
function composeActivation(y: Tensor, activation: EltwiseActivation): Tensor {
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
  if (a.dtype !== b.dtype) throw new Error(`fusedAdd: a is ${a.dtype} and b is ${b.dtype}`);
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
    throw new Error(
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
    throw new Error(`${op}: a and b must be rank 4 (NHWC), got ranks ${a.rank} and ${b.rank}`);
  }
  if (a.dtype !== b.dtype) throw new Error(`${op}: a is ${a.dtype} and b is ${b.dtype}`);
  const [n, h, w, ca] = a.shape as [number, number, number, number];
  const c = b.shape[3]!;
  if (b.shape[0] !== n || b.shape[1] !== h || b.shape[2] !== w || ca < c) {
    throw new Error(
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
