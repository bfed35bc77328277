// A training step per efficient family on wasm: finite loss, a gradient for every parameter, no leaked tensors.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, manualSeed, getModel, EFFICIENT_CARDS } from '../src/index';

// Every id of this package trains a step.
const IDS = EFFICIENT_CARDS.map(([c]) => c.id);

describe('a training step for every id on wasm', () => {
  for (const id of IDS) {
    it(`${id}: finite loss, every parameter gets a finite gradient, no leaks`, async () => {
      await setBackend('wasm');
      manualSeed(2);
      const model = getModel(id, { numClasses: 4 });
      model.train();
      const x = tf.randomNormal([2, 32, 32, 3]);
      const y = tf.oneHot(tf.tensor1d([0, 3], 'int32'), 4);
      const params = model.parameters();
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.call(x)) as tf.Scalar,
        params,
      );
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads).length).toBe(params.length);
      for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      tf.tidy(() => {
        for (const p of params) p.assign(tf.sub(p, tf.mul(grads[p.name], 0.01)));
      });
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
      model.dispose();
    });
  }
});
