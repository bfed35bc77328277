// tf.concat along the last axis on wasm: one call of cnn's copy kernel per input (winograd.ts tryConcat, kernels.c
// OP_COPY_COLS) in place of tfjs's row-by-row JavaScript copy. The same values as the cpu backend's concat, bit for bit
// (NaN, -0 and infinities included), on 1 and 2 threads and at a size that splits across threads; the other axes,
// dtypes, empty inputs and CNN_IGEMM 'off' stay tfjs's; shapes that do not agree are tfjs's error; no tensor leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads, tf } from '../src/index';
import { formula } from '../../../test-support/fixtures';
import { cnnKernelRuns } from './wasm-internals';

/** Deterministic values (the fixtures' formula) with a NaN, a -0 and both infinities among them. */
function values(n: number, seed: number): Float32Array {
  const v = formula(n, seed);
  const special = [Number.NaN, -0, Infinity, -Infinity];
  for (let k = 0; k < special.length && k < n; k++) v[(k * 7919 + seed) % n] = special[k]!;
  return v;
}

/** Each case: the shapes of the inputs (they differ in the last axis only). */
const CASES: number[][][] = [
  [
    [1, 4, 4, 12],
    [1, 4, 4, 108],
  ], // ShuffleNetV1's stride-2 unit: the pooled shortcut and the branch
  [
    [2, 3, 5, 64],
    [2, 3, 5, 128],
    [2, 3, 5, 32],
    [2, 3, 5, 32],
  ], // an inception block's four branches
  [
    [3, 1],
    [3, 3],
    [3, 4],
    [3, 5],
    [3, 17],
    [3, 37],
  ], // rank 2; widths that end in every tail of the copy (16, 4 and single values)
  [
    [2, 2, 7],
    [2, 2, 16],
  ], // rank 3
];

/** The concatenation on `backend`, as floats, and how many of cnn's kernels ran. */
async function concatOn(backend: 'cpu' | 'wasm', shapes: number[][], axis: number) {
  await setBackend(backend);
  const xs = shapes.map((s, i) =>
    tf.tensor(
      values(
        s.reduce((a, b) => a * b, 1),
        i + 1,
      ),
      s,
    ),
  );
  let y: tf.Tensor | undefined;
  const runs = cnnKernelRuns(() => void (y = tf.concat(xs, axis)));
  const out = { shape: y!.shape, data: Array.from(y!.dataSync()), runs };
  tf.dispose([...xs, y!]);
  return out;
}

afterAll(async () => {
  await setThreads(1);
  await setBackend('wasm');
});

describe('tf.concat along the last axis on wasm', () => {
  for (const threads of [1, 2]) {
    it(`gives the cpu backend's values, one kernel call per input (${threads} thread(s))`, async () => {
      await setThreads(threads);
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      for (const shapes of CASES) {
        const want = await concatOn('cpu', shapes, -1);
        const got = await concatOn('wasm', shapes, -1);
        expect(got.runs, JSON.stringify(shapes)).toBe(shapes.length);
        expect(got.shape).toEqual(want.shape);
        // toEqual tells -0 from 0 and takes NaN as equal to NaN.
        expect(got.data).toEqual(want.data);
        // The last axis named by its index gives the same.
        expect((await concatOn('wasm', shapes, shapes[0]!.length - 1)).data).toEqual(want.data);
      }
      await setBackend('wasm');
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('splits a large concatenation across two threads with the same values', async () => {
    await setThreads(2);
    // 2^18 rows: 3 and 5 floats per row make units of at least 2^18 floats on each input.
    const shapes = [
      [64, 64, 64, 3],
      [64, 64, 64, 5],
    ];
    const want = await concatOn('cpu', shapes, 3);
    const got = await concatOn('wasm', shapes, 3);
    expect(got.runs).toBe(2);
    expect(got.data).toEqual(want.data);
  });

  it("leaves other axes, dtypes, single and empty inputs and CNN_IGEMM 'off' to tfjs", async () => {
    await setThreads(1);
    await setBackend('wasm');
    const a = tf.ones([2, 3, 4]);
    const b = tf.zeros([2, 3, 4]);
    const counts = (fn: () => tf.Tensor) => {
      let y: tf.Tensor | undefined;
      const runs = cnnKernelRuns(() => void (y = fn()));
      const shape = y!.shape;
      y!.dispose();
      return { runs, shape };
    };
    expect(counts(() => tf.concat([a, b], 0))).toEqual({ runs: 0, shape: [4, 3, 4] });
    expect(counts(() => tf.concat([a, b], 1))).toEqual({ runs: 0, shape: [2, 6, 4] });
    const ai = tf.ones([2, 3], 'int32');
    expect(counts(() => tf.concat([ai, ai], 1))).toEqual({ runs: 0, shape: [2, 6] });
    const v3 = tf.ones([3]);
    const v2 = tf.ones([2]);
    expect(counts(() => tf.concat([v3, v2], 0))).toEqual({ runs: 0, shape: [5] });
    const empty = tf.zeros([2, 3, 0]);
    expect(counts(() => tf.concat([a, empty], 2))).toEqual({ runs: 0, shape: [2, 3, 4] });
    tf.env().set('CNN_IGEMM', 'off');
    try {
      expect(counts(() => tf.concat([a, b], 2))).toEqual({ runs: 0, shape: [2, 3, 8] });
    } finally {
      tf.env().set('CNN_IGEMM', 'small');
    }
    expect(counts(() => tf.concat([a, b], 2))).toEqual({ runs: 2, shape: [2, 3, 8] });
    // Leading axes that do not agree: tfjs's own error, nothing allocated.
    const other = tf.ones([2, 4, 4]);
    const before = tf.memory().numTensors;
    expect(() => tf.concat([a, other], 2)).toThrow(/shape/i);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, ai, empty, v3, v2, other]);
  });

  it('is differentiable: the gradient of each input is its columns of dy', async () => {
    await setThreads(1);
    await setBackend('wasm');
    const a = tf.tensor3d(values(12, 5), [2, 2, 3]);
    const b = tf.tensor3d(values(8, 6), [2, 2, 2]);
    const w = tf.tensor3d(values(20, 7), [2, 2, 5]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.concat([x, y], 2), w)))([a, b]);
    const want = tf.split(w, [3, 2], 2);
    expect(Array.from(ga!.dataSync())).toEqual(Array.from(want[0]!.dataSync()));
    expect(Array.from(gb!.dataSync())).toEqual(Array.from(want[1]!.dataSync()));
    tf.dispose([a, b, w, ga!, gb!, ...want]);
  });
});
