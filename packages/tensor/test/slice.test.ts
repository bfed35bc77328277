// cnn's wasm Slice route for last-axis slices (ShuffleNetV2's channel split): the same values as the cpu backend for
// every rank and offset, tfjs's own kernel for every other slice, gradients through it, no leaked tensors.
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '../src/index';

type Case = [shape: number[], begin: number[], size: number[]];

// biome-ignore format: one case per line reads as a table
const CASES: Case[] = [
  [[5, 8], [0, 3], [-1, 4]], // rank 2
  [[2, 3, 10], [0, 0, 5], [2, 3, 5]], // rank 3, the second half
  [[2, 4, 3, 116], [0, 0, 0, 58], [-1, -1, -1, 58]], // ShuffleNetV2's split
  [[2, 4, 3, 6], [0, 0, 0, 0], [2, 4, 3, 1]], // one channel
  [[1, 2, 2, 3, 7], [0, 0, 0, 0, 2], [1, 2, 2, 3, 3]], // rank 5
  [[2, 4, 3, 6], [1, 0, 0, 2], [1, 4, 3, 2]], // a leading axis cut too: tfjs's kernel
  [[2, 4, 3, 6], [0, 1, 0, 0], [2, 2, 3, 6]], // contiguous: tfjs's kernel
  [[0, 3, 6], [0, 0, 1], [0, 3, 2]], // no rows
];

const values = (shape: number[]): number[] =>
  Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 37) % 101) - 50 + i / 7);

async function sliceOn(backend: 'wasm' | 'cpu', [shape, begin, size]: Case) {
  await setBackend(backend);
  const x = tf.tensor(values(shape), shape);
  const before = tf.memory().numTensors;
  const y = tf.slice(x, begin, size);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, begin, size), 3)))(x);
  const out = { shape: y.shape, y: Array.from(y.dataSync()), dx: Array.from(dx.dataSync()) };
  tf.dispose([y, dx]);
  const leaked = tf.memory().numTensors - before;
  x.dispose();
  return { ...out, leaked };
}

describe('Slice on wasm (last-axis route)', () => {
  it.each(CASES)("shape %j, begin %j, size %j: the cpu backend's values and gradient", async (...c) => {
    const want = await sliceOn('cpu', c);
    const got = await sliceOn('wasm', c);
    expect(got.shape).toEqual(want.shape);
    expect(got.y).toEqual(want.y);
    expect(got.dx).toEqual(want.dx);
    expect(got.leaked).toBe(0);
  });

  it('a slice whose output makes the memory grow still copies the right rows', async () => {
    await setBackend('wasm');
    const memory = () =>
      (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory.buffer.byteLength;
    const x = tf.reshape(tf.range(0, 2 * 512 * 1024 * 8), [2, 512, 1024, 8]); // 32 MiB; values exact in float32
    const bytes = memory();
    const y = tf.slice(x, [0, 0, 0, 4], [-1, -1, -1, 4]); // 16 MiB more
    expect(memory(), 'the output needed more memory (else this test shows nothing)').toBeGreaterThan(bytes);
    const v = y.dataSync();
    let wrong = 0;
    for (let r = 0; r < v.length / 4; r++) for (let j = 0; j < 4; j++) if (v[r * 4 + j] !== r * 8 + 4 + j) wrong++;
    expect(wrong).toBe(0);
    tf.dispose([x, y]);
  });
});
