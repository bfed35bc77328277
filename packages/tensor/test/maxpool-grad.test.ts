// cnn replaces tfjs's wasm MaxPoolGrad, which sends the gradient of a window whose maximum is negative to the wrong
// pixel: the gradient of max pooling on wasm must equal the cpu backend's, for every padding and stride, and follow
// PyTorch where the cpu backend cannot tell (a NaN, a window of -infinity).
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '../src/index';

function grad(
  x: number[],
  shape: [number, number, number, number],
  k: number,
  s: number,
  pad: 'valid' | 'same',
): number[] {
  return tf.tidy(() => {
    const t = tf.tensor4d(x, shape);
    const g = tf.grad((a: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.maxPool(a as tf.Tensor4D, k, s, pad),
          tf.range(1, 1 + tf.maxPool(t, k, s, pad).size).reshape(tf.maxPool(t, k, s, pad).shape),
        ),
      ),
    )(t);
    return Array.from(g.dataSync());
  });
}

describe('max pooling gradient on wasm', () => {
  it('a window with a negative maximum sends its gradient to that maximum', async () => {
    await setBackend('wasm');
    expect(grad([-0.9, -0.6, -0.7, -0.8], [1, 2, 2, 1], 2, 2, 'valid')).toEqual([0, 1, 0, 0]);
  });

  for (const [k, s, pad, shape] of [
    [2, 2, 'valid', [2, 6, 6, 5]],
    [3, 2, 'same', [1, 7, 9, 8]],
    [3, 1, 'same', [2, 5, 5, 3]],
    [3, 2, 'valid', [1, 9, 8, 12]],
  ] as const) {
    it(`matches the cpu backend: ${k}x${k} stride ${s} ${pad} on ${shape.join('x')}`, async () => {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      // Distinct values (no ties), half of them negative.
      const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + 0.3) - 0.2);
      await setBackend('cpu');
      const want = grad(x, [...shape], k, s, pad);
      await setBackend('wasm');
      const got = grad(x, [...shape], k, s, pad);
      expect(got).toEqual(want);
    });
  }

  it("sends a window's gradient where PyTorch does: its first maximum, its last NaN, or its first tap if all are -infinity", async () => {
    await setBackend('wasm');
    // 4x4, 2x2 windows at stride 2 over 5 channels (a block of 4 lanes and one lone lane), channel-major in `grid`.
    const grid = [
      [1, 5, 2, 5, 0, 0, 3, 1, 2, 2, 2, 2, 7, 7, 7, 7], // ties: the first maximum in scan order
      [1, NaN, 3, 4, NaN, 2, NaN, 1, 2, 2, 2, 2, 7, 7, 7, 7], // a NaN, and two NaN in one window: the last one
      [-Infinity, -Infinity, 3, 1, -Infinity, -Infinity, 0, 0, 2, 2, 2, 2, 7, 7, 7, 7], // all -infinity: the first tap
      [NaN, 1, 2, 3, 0, 0, 3, 1, 2, 2, 2, 2, 7, 7, 7, NaN],
      [4, 3, NaN, -Infinity, -Infinity, -Infinity, NaN, NaN, 2, 2, 2, 2, 7, 7, 7, 7],
    ];
    const c = grid.length;
    const x = new Array(16 * c);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < 16; p++) x[p * c + ch] = grid[ch]![p];
    // PyTorch's CPU rule, tap by tap in scan order: take v if v > best or v is NaN; start at the first tap. (Checked
    // once against torch 1.13's max_pool2d on these values: the same gradient.)
    const want = new Array(16 * c).fill(0);
    for (let ch = 0; ch < c; ch++)
      for (let wy = 0; wy < 2; wy++)
        for (let wx = 0; wx < 2; wx++) {
          const taps = [0, 1, 4, 5].map((d) => (wy * 8 + wx * 2 + d) * c + ch).sort((a, b) => a - b);
          let best = -Infinity;
          let at = taps[0]!;
          for (const t of taps)
            if (x[t] > best || Number.isNaN(x[t])) {
              best = x[t];
              at = t;
            }
          want[at] += 1 + (wy * 2 + wx) * c + ch; // grad() weights output i by i + 1
        }
    expect(grad(x, [1, 4, 4, c], 2, 2, 'valid')).toEqual(want);
  });
});
