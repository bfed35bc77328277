// One training step (forward, backward, SGD) per family on wasm: the loss is finite, every parameter gets a
// gradient, and the live tensor count is the same after the step as before it. Also predict and fine-tuning.
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { manualSeed } from '@cnn/layers';
import { getModel, getCard, lenet5, googlenet, listModels } from '../src/index';

// Every id trains a step: small inputs (the adaptive pooling takes any size large enough for the network's strides).
const INPUT: Record<string, number[]> = {
  lenet5: [4, 28, 28, 1],
  alexnet: [2, 64, 64, 3],
  alexnet_2012: [2, 96, 96, 3],
  googlenet: [2, 64, 64, 3],
};
const FAMILIES: Array<[string, number[]]> = listModels().map((id) => [id, INPUT[id] ?? [2, 32, 32, 3]]);

describe('a training step for every id on wasm', () => {
  for (const [id, shape] of FAMILIES) {
    it(`${id}: finite loss, a gradient for every parameter, no leaked tensors`, async () => {
      await setBackend('wasm');
      manualSeed(3);
      const model = getModel(id, { numClasses: 5, ...(id === 'googlenet' ? { auxLogits: true } : {}) });
      model.train();
      const x = tf.randomNormal(shape);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: shape[0] }, (_, i) => i % 5),
          'int32',
        ),
        5,
      );
      const params = model.parameters();
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.call(x)) as tf.Scalar,
        params,
      );
      const loss = value.dataSync()[0];
      expect(Number.isFinite(loss)).toBe(true);
      // GoogLeNet's auxiliary heads take no part in this loss (forward gives the main logits): they get no gradient.
      const expected =
        id === 'googlenet'
          ? params.filter((p) => !model.namedParameters().find(([n, v]) => v === p && n.startsWith('aux')))
          : params;
      expect(Object.keys(grads).length).toBe(expected.length);
      for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      tf.tidy(() => {
        for (const p of params) if (grads[p.name]) p.assign(tf.sub(p, tf.mul(grads[p.name], 0.01)));
      });
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('googlenet with auxLogits gives auxiliary logits in training mode only', async () => {
    await setBackend('wasm');
    const net = googlenet({ numClasses: 4, auxLogits: true });
    const x = tf.randomNormal([1, 96, 96, 3]);
    net.train();
    const t = tf.tidy(() => {
      const o = net.forwardWithAux(x);
      return [o.logits, o.aux1, o.aux2].filter((v): v is tf.Tensor => v !== null);
    });
    expect(t.map((v) => v.shape)).toEqual([
      [1, 4],
      [1, 4],
      [1, 4],
    ]);
    net.eval();
    const e = tf.tidy(() => {
      const o = net.forwardWithAux(x);
      expect([o.aux1, o.aux2]).toEqual([null, null]);
      return o.logits;
    });
    tf.dispose([...t, e, x]);
    net.dispose();
  });
});

describe('predict and fine-tuning', () => {
  it('predict returns sorted top-k softmax scores with labels, in eval mode, and restores the mode', async () => {
    await setBackend('wasm');
    manualSeed(1);
    const net = lenet5();
    net.train();
    const x = tf.randomNormal([3, 28, 28, 1]);
    const names = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];
    const p = net.predict(x, { topk: 3, classNames: names });
    expect(p.indices.length).toBe(3);
    for (const [i, row] of p.scores.entries()) {
      expect(row.length).toBe(3);
      expect(row[0]).toBeGreaterThanOrEqual(row[1]);
      expect(row[1]).toBeGreaterThanOrEqual(row[2]);
      expect(p.labels![i]).toEqual(p.indices[i].map((c) => names[c]));
    }
    const full = net.predict(x, { topk: 10 });
    full.scores.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    expect(net.training).toBe(true);
    expect(() => net.predict(x, { topk: 11 })).toThrow(/topk must be an integer from 1 to 10/);
    x.dispose();
    net.dispose();
  });

  it('resetClassifier swaps the head for another class count in one call, keeping the backbone', async () => {
    await setBackend('wasm');
    for (const id of ['lenet5', 'resnet18', 'vgg11', 'googlenet', 'alexnet']) {
      const net = getModel(id);
      const card = getCard(id);
      const backbone = net
        .namedParameters()
        .filter(([n]) => !/^(fc|classifier)\./.test(n))
        .map(([, v]) => v);
      net.resetClassifier(7);
      const small = card.inputSize[0] >= 224 ? [1, 64, 64, card.inputSize[2]] : [1, ...card.inputSize];
      const y = tf.tidy(() => net.eval().call(tf.zeros(small)));
      expect(y.shape).toEqual([1, 7]);
      expect(net.classifier.outFeatures).toBe(7);
      // The backbone's variables are the same objects, still alive.
      for (const v of backbone) expect(v.isDisposed).toBe(false);
      y.dispose();
      net.dispose();
    }
  });
});
