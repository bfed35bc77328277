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

  /**
   * PyTorch's CPU rule for the gradient of max pooling (stride s, `pad` rows and columns before, window k): tap by tap
   * in scan order over the window's taps inside the input, take v if v > best or v is NaN, starting from the first.
   * Output value i is weighted by i + 1, as grad() does.
   */
  function pytorchGrad(x: number[], [h, w, c]: number[], k: number, s: number, pad: number, [oh, ow]: number[]) {
    const want = new Array(h * w * c).fill(0);
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const y = oy * s - pad + i;
              const xx = ox * s - pad + j;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              const t = (y * w + xx) * c + ch;
              if (at < 0) at = t; // the first tap inside the input, kept while nothing beats -infinity
              if (x[t] > best || Number.isNaN(x[t])) {
                best = x[t];
                at = t;
              }
            }
          want[at] += 1 + (oy * ow + ox) * c + ch;
        }
    return want;
  }

  it("sends a window's gradient where PyTorch does: its first maximum, its last NaN, or its first tap if all are -infinity", async () => {
    await setBackend('wasm');
    // 4x4, 2x2 windows at stride 2 over 5 channels (a block of 4 lanes and one lone lane), channel-major in `grid`.
    // (Checked once against torch 1.13's max_pool2d on these values: the same gradient.)
    const grid = [
      [1, 5, 2, 5, 0, 0, 3, 1, 2, 2, 2, 2, 7, 7, 7, 7], // ties: the first maximum in scan order
      [1, NaN, 3, 4, NaN, 2, NaN, 1, 2, 2, 2, 2, 7, 7, 7, 7], // a NaN, and two NaN in one window: the last one
      [-Infinity, -Infinity, 3, 1, -Infinity, -Infinity, 0, 0, 2, 2, 2, 2, 7, 7, 7, 7], // all -infinity: the first tap
      [NaN, 1, 2, 3, 0, 0, 3, 1, 2, 2, 2, 2, 7, 7, 7, NaN],
      // the lone lane: a NaN window, and an all -infinity one
      [4, 3, NaN, -Infinity, -Infinity, -Infinity, NaN, NaN, -Infinity, -Infinity, 2, 2, -Infinity, -Infinity, 7, 7],
    ];
    const c = grid.length;
    const x = new Array(16 * c);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < 16; p++) x[p * c + ch] = grid[ch]![p];
    expect(grad(x, [1, 4, 4, c], 2, 2, 'valid')).toEqual(pytorchGrad(x, [4, 4, c], 2, 2, 0, [2, 2]));
  });

  it("with 'same' padding, a window of -infinity sends its gradient to its first tap inside the input", async () => {
    await setBackend('wasm');
    // 3x3 windows at stride 1 over a 3x3 input padded by one on each side, 5 channels: channel 0 all -infinity (every
    // window's first tap is padding but one), channel 4 (the lone lane) too; the others mix NaN and numbers.
    const c = 5;
    const x = new Array(9 * c);
    for (let p = 0; p < 9; p++)
      for (let ch = 0; ch < c; ch++)
        x[p * c + ch] = ch === 0 || ch === 4 ? -Infinity : ch === 2 && p === 4 ? NaN : Math.sin(p * 1.3 + ch);
    const want = pytorchGrad(x, [3, 3, c], 3, 1, 1, [3, 3]);
    // Pixel (0, 0), channel 0: the first tap inside the input of the outputs (0, 0), (0, 1), (1, 0) and (1, 1).
    expect(want[0]).toBe(1 + (1 + c) + (1 + 3 * c) + (1 + 4 * c));
    expect(grad(x, [1, 3, 3, c], 3, 1, 'same')).toEqual(want);
  });
});
