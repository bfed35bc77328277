// predict checks its input before running the network: NaN or infinite values (which used to come back as NaN
// scores without a word) give a NonFiniteInputError with their count and the first one's position; a tensor of the
// wrong rank or dtype, or a bad topk, a ModelInputError. Nothing runs, nothing leaks, the mode is restored.
// forward / call do not check (training pays for no extra pass): a NaN there comes out as NaN.
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { manualSeed, setForwardHook } from '@cnn/layers';
import { ModelInputError, NonFiniteInputError, getModel } from '../src/index';

/** [2, 28, 28, 1] of ones with `bad` values put at flat positions. */
function batchWith(bad: Array<[number, number]>): tf.Tensor {
  const data = new Float32Array(2 * 28 * 28).fill(0.5);
  for (const [i, v] of bad) data[i] = v;
  return tf.tensor4d(data, [2, 28, 28, 1]);
}

/** Runs `f` expecting an error of class `cls` matching `re`; asserts the network never ran and nothing leaked. */
function refusedBeforeRunning<E extends Error>(f: () => unknown, cls: new (...a: never[]) => E, re: RegExp): E {
  let calls = 0;
  setForwardHook(() => void calls++);
  const before = tf.memory().numTensors;
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  } finally {
    setForwardHook(null);
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(re);
  expect(calls).toBe(0);
  expect(tf.memory().numTensors).toBe(before);
  return err as E;
}

describe.each(['wasm', 'cpu'] as const)('predict on %s', (backend) => {
  it('one NaN: NonFiniteInputError with the count, the position and the value; nothing runs', async () => {
    await setBackend(backend);
    manualSeed(0);
    const m = getModel('lenet5', { inputSize: 28 });
    m.train();
    // Flat 784 + 3 * 28 + 4 = image 1, row 3, column 4.
    const x = batchWith([[784 + 3 * 28 + 4, NaN]]);
    const e = refusedBeforeRunning(
      () => m.predict(x),
      NonFiniteInputError,
      /^predict: input holds 1 NaN or infinite value \(of 1568\); the first, NaN, is at \[1, 3, 4, 0\] \(\[n, h, w, c\]\); nothing was run$/,
    );
    expect(e.name).toBe('NonFiniteInputError');
    expect(e).toBeInstanceOf(ModelInputError);
    expect([e.count, e.index, e.value]).toEqual([1, [1, 3, 4, 0], NaN]);
    expect(m.training).toBe(true);
    x.dispose();
    m.dispose();
  });

  it('Infinity and -Infinity count too; the first in memory order is reported', async () => {
    await setBackend(backend);
    const m = getModel('lenet5', { inputSize: 28 });
    const x = batchWith([
      [900, -Infinity],
      [27, Infinity],
      [1500, NaN],
    ]);
    const e = refusedBeforeRunning(
      () => m.predict(x, { topk: 3 }),
      NonFiniteInputError,
      /^predict: input holds 3 NaN or infinite values \(of 1568\); the first, Infinity, is at \[0, 0, 27, 0\]/,
    );
    expect([e.count, e.index, e.value]).toEqual([3, [0, 0, 27, 0], Infinity]);
    x.dispose();
    m.dispose();
  });

  it('finite input predicts as before, and forward does not check (a NaN comes out as NaN)', async () => {
    await setBackend(backend);
    manualSeed(0);
    const m = getModel('lenet5', { inputSize: 28 });
    const x = batchWith([]);
    const before = tf.memory().numTensors;
    const p = m.predict(x, { topk: 2 });
    expect(p.indices.length).toBe(2);
    expect(p.scores.flat().every((s) => Number.isFinite(s) && s > 0 && s <= 1)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    const bad = batchWith([[0, NaN]]);
    const y = m.eval().call(bad);
    expect(Number.isNaN(y.dataSync()[0])).toBe(true);
    tf.dispose([x, bad, y]);
    m.dispose();
  });

  it('finite values whose sum overflows float32 are accepted (the exact count finds none): predict runs', async () => {
    await setBackend(backend);
    manualSeed(0);
    const m = getModel('lenet5', { inputSize: 28 });
    // 1568 values of 3e38: each finite, their sum far beyond float32's 3.4e38.
    const x = tf.tensor4d(new Float32Array(2 * 28 * 28).fill(3e38), [2, 28, 28, 1]);
    const sum = tf.sum(x);
    expect(Number.isFinite(sum.dataSync()[0]!)).toBe(false);
    sum.dispose();
    let calls = 0;
    setForwardHook(() => void calls++);
    const before = tf.memory().numTensors;
    let p: ReturnType<typeof m.predict>;
    try {
      p = m.predict(x, { topk: 1 });
    } finally {
      setForwardHook(null);
    }
    expect(p.indices.length).toBe(2);
    expect(calls).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    m.dispose();
  });

  it('a wrong rank, dtype, non-tensor or topk is a ModelInputError before anything runs', async () => {
    await setBackend(backend);
    const m = getModel('lenet5', { inputSize: 28 });
    const x = batchWith([]);
    const img = tf.zeros([28, 28, 1]);
    const ints = tf.zeros([1, 28, 28, 1], 'int32');
    refusedBeforeRunning(
      () => m.predict(img),
      ModelInputError,
      /^predict: input must be a batch of NHWC images \[n, h, w, c\], got shape \[28, 28, 1\]$/,
    );
    refusedBeforeRunning(() => m.predict(ints), ModelInputError, /^predict: input must be float32, got int32$/);
    refusedBeforeRunning(
      () => m.predict([1, 2] as never),
      ModelInputError,
      /^predict: input must be a tf\.Tensor or decoded images \(ImageHWC, from loadImage\), got 1 at 0$/,
    );
    // A decoded image needs preprocessing: a model with random weights has none unless given.
    const image = { data: new Uint8Array(28 * 28), height: 28, width: 28, channels: 1 };
    refusedBeforeRunning(
      () => m.predict(image),
      ModelInputError,
      /^predict: LeNet5 has no preprocessing for images \(it was not loaded with loadPretrained\): pass \{ preprocess \}, or a tensor \(imagenetPreprocess\)$/,
    );
    refusedBeforeRunning(
      () => m.predict(x, { topk: 11 }),
      ModelInputError,
      /^predict: topk must be an integer from 1 to 10, got 11$/,
    );
    refusedBeforeRunning(
      () => m.predict(x, { topk: 1.5 }),
      ModelInputError,
      /^predict: topk must be an integer from 1 to 10, got 1\.5$/,
    );
    refusedBeforeRunning(
      () => m.predict(x, { classNames: 'cat' as never }),
      ModelInputError,
      /^predict: classNames must be an array of strings, got "cat"$/,
    );
    tf.dispose([x, img, ints]);
    m.dispose();
  });
});
