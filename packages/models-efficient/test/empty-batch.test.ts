// A batch of zero images, as PyTorch answers it: every model of the zoo (classic and efficient) gives an empty
// [0, classes] result in eval mode, and predict gives no rows, without a wasm trap (tfjs's Transpose divided by
// zero in global pooling) and without leaking a tensor. In training mode a model with BatchNorm refuses the batch
// with BatchNorm's own error (no values to take statistics of: PyTorch's "expected more than one value per
// channel"); one without trains on it with zero gradients.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, manualSeed, getModel, getCard, listModels, type ImageClassifier } from '../src/index';
import { BatchNorm2d } from '@cnn/layers';

const hasBatchNorm = (m: ImageClassifier) => m.namedModules().some(([, c]) => c instanceof BatchNorm2d);

/** Eval forward, predict and training-mode forward of one model on [0, h, w, c], counting tensors throughout. */
function emptyBatchChecks(id: string): void {
  const card = getCard(id);
  const before = tf.memory().numTensors;
  manualSeed(0);
  const model = getModel(id);
  const params = tf.memory().numTensors;
  const x = tf.zeros([0, ...card.inputSize]);

  model.eval();
  const y = model.call(x);
  expect({ id, shape: y.shape }).toEqual({ id, shape: [0, card.numClasses] });
  y.dispose();
  expect(model.predict(x, { topk: 1 })).toEqual({ indices: [], scores: [] });

  model.train();
  if (hasBatchNorm(model)) {
    expect(() => model.call(x)).toThrow(
      /batchNormTrain: expected more than one value per channel to normalise over, got input shape \[0, /,
    );
  } else {
    const t = model.call(x);
    expect(t.shape).toEqual([0, card.numClasses]);
    t.dispose();
  }
  expect(tf.memory().numTensors).toBe(params + 1);
  x.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
}

describe('a batch of zero images on wasm', () => {
  for (const id of listModels()) {
    it(`${id}: forward and predict give [0, classes], training mode as PyTorch, no leaks`, async () => {
      await setBackend('wasm');
      emptyBatchChecks(id);
    });
  }
});

// The cpu backend: one model per family (its kernels are JavaScript, the same for every id of a family).
const ON_CPU = [
  'lenet5',
  'alexnet_2012',
  'googlenet',
  'resnet18',
  'resnext50_32x4d',
  'resnet20_cifar',
  'seresnet50',
  'mobilenet_v1',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'shufflenet_v1_x0_5_g3',
  'shufflenet_v2_x0_5',
];

describe('a batch of zero images on cpu', () => {
  for (const id of ON_CPU) {
    it(`${id}: forward and predict give [0, classes], training mode as PyTorch, no leaks`, async () => {
      await setBackend('cpu');
      emptyBatchChecks(id);
    });
  }
});

describe('training on a batch of zero images', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const id of ['lenet5', 'alexnet_2012']) {
      it(`${id} on ${backend}: loss 0 and a zero gradient for every parameter`, async () => {
        await setBackend(backend);
        manualSeed(0);
        const model = getModel(id, { numClasses: 4 });
        const x = tf.zeros([0, ...getCard(id).inputSize]);
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() => tf.sum(model.call(x)) as tf.Scalar, model.parameters());
        expect(value.dataSync()[0]).toBe(0);
        expect(Object.keys(grads).length).toBe(model.parameters().length);
        for (const [name, g] of Object.entries(grads)) {
          const nonzero = tf.tidy(() => tf.any(tf.notEqual(g, 0)).dataSync()[0]);
          expect({ name, nonzero }).toEqual({ name, nonzero: 0 });
        }
        tf.dispose([value, ...Object.values(grads)]);
        expect(tf.memory().numTensors).toBe(before);
        x.dispose();
        model.dispose();
      });
    }
  }
});
