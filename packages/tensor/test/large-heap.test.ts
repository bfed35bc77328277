// Above 2 GiB of wasm memory, Emscripten's _malloc returns addresses as negative numbers; cnn's kernels
// must still find their parameter block and scratch there. (Its own file: the backend never gives the
// memory back, so the 2.2 GB stay with this worker until it exits.)
import { describe, expect, it } from 'vitest';
import { tf, setBackend, conv2d, type Tensor4D } from '../src/index';
import { memoryOffset as offset } from './wasm-internals';

function gradients(): { at: number; values: Float32Array[] } {
  return tf.tidy(() => {
    const x = tf.tensor(
      Float32Array.from({ length: 2 * 9 * 9 * 8 }, (_, i) => Math.sin(i * 0.37)),
      [2, 9, 9, 8],
    ) as Tensor4D;
    const f = tf.tensor(
      Float32Array.from({ length: 3 * 3 * 4 * 8 }, (_, i) => Math.cos(i * 0.11)),
      [3, 3, 4, 8],
    ) as Tensor4D;
    const d = tf.tensor(
      Float32Array.from({ length: 3 * 3 * 1 * 8 }, (_, i) => Math.cos(i * 0.7)),
      [3, 3, 1, 8],
    ) as Tensor4D;
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      conv2d(a as Tensor4D, b as Tensor4D, { pad: 1, strides: 2, groups: 2 })
        .square()
        .sum(),
    )([x, f]);
    const [dx2, dd] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      conv2d(a as Tensor4D, b as Tensor4D, { pad: 1, groups: 8 })
        .square()
        .sum(),
    )([x, d]);
    return { at: offset(x), values: [dx, df, dx2, dd].map((t) => t.dataSync() as Float32Array) };
  });
}

describe('wasm kernels above 2 GiB of memory', () => {
  it('compute the same gradients with their tensors and scratch past the 2 GiB mark', async () => {
    await setBackend('wasm');
    const low = gradients();
    expect(low.at).toBeLessThan(2 ** 31);
    const filler = tf.zeros([560_000_000]); // 2.24 GB, so that what comes next lands past 2 GiB...
    const plugs: tf.Tensor[] = []; // ...once the free blocks below it are taken
    while (plugs.length < 100_000 && offset(plugs[plugs.length - 1] ?? filler) < 2 ** 31) plugs.push(tf.zeros([256]));
    try {
      const high = gradients();
      expect(high.at).toBeGreaterThan(2 ** 31);
      for (let i = 0; i < low.values.length; i++) expect(Array.from(high.values[i])).toEqual(Array.from(low.values[i]));
    } finally {
      tf.dispose([filler, ...plugs]);
    }
  }, 60_000);
});
