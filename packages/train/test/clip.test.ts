// clipGradNorm against torch.nn.utils.clip_grad_norm_ (2-norm and inf-norm, clipping and not).
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import { clipGradNorm, type HostArray } from '../src/index';
import { expectClose, fixture, tensorOf } from './helpers';

const F = fixture<{
  grads: HostArray[];
  cases: Array<{ maxNorm: number; normType: number | 'inf'; totalNorm: number; clipped: HostArray[] }>;
}>('clip');

describe('clipGradNorm (wasm)', () => {
  for (const c of F.cases) {
    it(`maxNorm ${c.maxNorm}, norm ${c.normType}: PyTorch's total norm and clipped gradients`, async () => {
      await setBackend('wasm');
      const normType = c.normType === 'inf' ? Infinity : c.normType;
      const before = tf.memory().numTensors;
      // an array, a Map and a record: each entry replaced by its clipped copy
      const arr: Array<Tensor | null> = F.grads.map(tensorOf);
      const map = new Map(F.grads.map((g, i) => [`p${i}`, tensorOf(g)]));
      const rec: Record<string, Tensor | null> = Object.fromEntries(F.grads.map((g, i) => [`p${i}`, tensorOf(g)]));
      rec.frozen = null;
      for (const grads of [arr, map, rec]) {
        const total = clipGradNorm(grads, c.maxNorm, { normType });
        expectClose(total, c.totalNorm, 1e-5 * c.totalNorm, 'total norm');
        const values = Array.isArray(grads)
          ? grads
          : grads instanceof Map
            ? [...grads.values()]
            : F.grads.map((_, i) => grads[`p${i}`]);
        values.forEach((g, i) => expectClose(g!.dataSync(), c.clipped[i].data, 1e-6, `gradient ${i}`));
      }
      tf.dispose([...(arr as Tensor[]), ...map.values(), ...F.grads.map((_, i) => rec[`p${i}`] as Tensor)]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('returns 0 for no gradients, and can refuse a non-finite norm', async () => {
    await setBackend('wasm');
    expect(clipGradNorm({}, 1)).toBe(0);
    const g = [tf.tensor1d([1, NaN])];
    expect(() => clipGradNorm(g, 1, { errorIfNonfinite: true })).toThrow(
      /total norm of order 2 of the gradients is NaN/,
    );
    expect(() => clipGradNorm(g, -1)).toThrow(/maxNorm must be a number >= 0/);
    g[0].dispose();
  });
});
