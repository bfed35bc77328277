// Bad arguments to @cnn/tensor's ops and set-up functions throw a TensorArgumentError (a named Error) whose message
// starts with the function's name, before any work: no tensor is made and the backend stays as it was.
import { afterAll, describe, expect, it } from 'vitest';
import {
  TensorArgumentError,
  channelShuffleConcat,
  conv2d,
  fusedActivation,
  fusedAdd,
  fusedConv2d,
  getBackend,
  maxPoolPadded,
  setBackend,
  setThreads,
  squeezeExcite,
  tf,
  type BackendName,
  type EltwiseActivation,
} from '../src/index';

afterAll(async () => {
  await setBackend('wasm');
});

/** Runs `f`, expecting a TensorArgumentError whose message matches `re`; checks that no tensor was left behind. */
async function refuses(f: () => unknown, re: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TensorArgumentError);
  expect(caught).toBeInstanceOf(Error);
  const err = caught as Error;
  expect(err.name).toBe('TensorArgumentError');
  expect(err.message).toMatch(re);
  expect(tf.memory().numTensors).toBe(before);
}

describe('TensorArgumentError', () => {
  it('names the op and the argument for convolutions, one-pass ops and set-up functions', async () => {
    await setBackend('wasm');
    const x = tf.zeros([1, 4, 4, 4]);
    const w = tf.zeros([3, 3, 4, 6]);
    const [bias5, vec3, rank3] = [tf.zeros([5]), tf.zeros([3]), tf.zeros([4, 4, 4])];
    const [w1, b1, w2, b2] = [tf.zeros([1, 1, 4, 2]), tf.zeros([2]), tf.zeros([1, 1, 2, 4]), tf.zeros([4])];
    try {
      await refuses(() => conv2d(x, w, { groups: 3 }), /^conv2d: input has 4 channels, which groups=3 does not divide/);
      await refuses(() => conv2d(x, w, { pad: 'full' as 'same' }), /^conv2d: pad must be/);
      await refuses(() => conv2d(x, w, { strides: 0 }), /^conv2d: strides must be a positive integer/);
      await refuses(() => fusedConv2d(x, w, { bias: bias5 }), /^fusedConv2d: bias must have shape \[6\]/);
      await refuses(() => fusedAdd(x, vec3), /^fusedAdd: b must have a's shape/);
      await refuses(() => fusedActivation(x, 'gelu' as EltwiseActivation), /^fusedActivation: activation must be/);
      await refuses(() => channelShuffleConcat(x, rank3), /^channelShuffleConcat: a and b must be rank 4/);
      await refuses(() => maxPoolPadded(x, [0, 2], [1, 1], [0, 0, 0, 0]), /^maxPoolPadded: filterSize and strides/);
      await refuses(
        () => squeezeExcite(x, w1, b1, w2, b2, 'relu' as 'sigmoid'),
        /^squeezeExcite: gate must be 'hardsigmoid' or 'sigmoid'/,
      );
    } finally {
      tf.dispose([x, w, bias5, vec3, rank3, w1, b1, w2, b2]);
    }
  });

  it('refuses an unknown backend and a bad thread count, leaving the backend as it was', async () => {
    await setBackend('wasm');
    await refuses(() => setBackend('gpu' as BackendName), /^setBackend: unknown backend 'gpu'/);
    await refuses(() => setThreads(0), /^setThreads: expected a whole number of threads from 1 to 1024/);
    await refuses(() => setThreads(1.5), /^setThreads:/);
    expect(getBackend()).toBe('wasm');
  });
});
