// The wasm backend's tensors start on a cache line (cnn wraps the backend's _malloc / _free), and the
// wrapped allocator gives every block back: heap use stays flat over many allocations, and pointers it
// did not hand out (a result that tfjs's C++ side allocated) are freed unchanged.
import { afterAll, describe, expect, it } from 'vitest';
import { tf, setBackend, setThreads, conv2d, conv2dBackpropFilter, type Tensor4D } from '../src/index';
import { TENSOR_ALIGNMENT } from '../src/wasm/module';
import { heapBytes, memoryOffset as offset } from './wasm-internals';

describe.each([1, 2])('wasm backend with %i thread(s)', (threads) => {
  afterAll(async () => {
    await setThreads('auto');
  });

  it(`every tensor starts on a ${TENSOR_ALIGNMENT}-byte boundary, whatever its size`, async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const ts = [1, 2, 3, 5, 7, 13, 100, 1001, 4097].map((n) => tf.fill([n], n));
    const x = tf.randomNormal([2, 9, 9, 6]) as Tensor4D;
    const f = tf.randomNormal([3, 3, 1, 6]) as Tensor4D;
    const y = conv2d(x, f, { pad: 1, strides: 2, groups: 6 });
    const df = conv2dBackpropFilter(x, tf.onesLike(y) as Tensor4D, [3, 3, 1, 6], { pad: 1, strides: 2, groups: 6 });
    for (const t of [...ts, x, f, y, df]) expect(offset(t) % TENSOR_ALIGNMENT, `tensor of shape [${t.shape}]`).toBe(0);
    // The values are where the tensor says they are (nothing was shifted by the alignment).
    expect(Array.from(ts[2].dataSync())).toEqual([3, 3, 3]);
    tf.dispose([...ts, x, f, y, df]);
  });

  it('allocating and freeing 2,000 tensors of random sizes leaves the heap where it was', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const probe = () => {
      // The allocator hands back the lowest free block that fits: after everything is freed, a fresh
      // 1 MB block lands where it landed before.
      const t = tf.zeros([262144]);
      const at = offset(t);
      t.dispose();
      return at;
    };
    const before = probe();
    const heapBefore = heapBytes();
    let seed = 7;
    const live: tf.Tensor[] = [];
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      live.push(tf.zeros([1 + (seed % 5000)]));
      if (live.length > 50) live.splice(seed % live.length, 1)[0].dispose();
    }
    tf.dispose(live);
    expect(probe()).toBe(before);
    expect(heapBytes()).toBe(heapBefore);
  });

  it('frees unchanged a pointer that it did not hand out (non-max suppression result)', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const boxes = tf.tensor2d([
      [0, 0, 1, 1],
      [0, 0.1, 1, 1.1],
      [0, 2, 1, 3],
      [0, 2.05, 1, 3.05],
    ]);
    const scores = tf.tensor1d([0.9, 0.8, 0.7, 0.95]);
    for (let i = 0; i < 50; i++) {
      const keep = tf.image.nonMaxSuppression(boxes, scores, 4, 0.5);
      expect(Array.from(keep.dataSync())).toEqual([3, 0]);
      keep.dispose();
    }
    tf.dispose([boxes, scores]);
  });
});
