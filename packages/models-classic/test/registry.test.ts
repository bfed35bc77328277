// Every registered model builds, runs a forward pass on wasm on a small input with the right output shape and no
// NaN, and has exactly its card's parameter and MAC counts; the cards hold the reference integers (torchvision 0.14,
// and scripts/count-models.py's PyTorch rebuilds for the ids torchvision lacks).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { summary, manualSeed } from '@cnn/layers';
import { listModels, getModel, getCard } from '../src/index';

const counts: Record<string, { params: number; macs: number }> = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'counts.json'), 'utf8'),
);

// The reference table (../shared/notes/reference-numbers.md), copied here so a wrong card cannot also fix its test.
const REFERENCE: Record<string, [number, number]> = {
  lenet5: [61706, 416520],
  alexnet: [61100840, 714188480],
  alexnet_2012: [60965224, 724406816],
  vgg11: [132863336, 7609090048],
  vgg13: [133047848, 11308466176],
  vgg16: [138357544, 15470264320],
  vgg19: [143667240, 19632062464],
  vgg11_bn: [132868840, 7609090048],
  vgg13_bn: [133053736, 11308466176],
  vgg16_bn: [138365992, 15470264320],
  vgg19_bn: [143678248, 19632062464],
  googlenet: [6624904, 1498376192],
  resnet18: [11689512, 1814073344],
  resnet34: [21797672, 3663761408],
  resnet50: [25557032, 4089184256],
  resnet101: [44549160, 7801405440],
  resnet152: [60192808, 11513626624],
  resnext50_32x4d: [25028904, 4230479872],
  resnext101_32x8d: [88791336, 16414015488],
};

describe('the registry', () => {
  it('lists every id of the issue, and globs', () => {
    const ids = listModels();
    for (const id of [
      ...Object.keys(REFERENCE),
      'resnet18_cifar',
      'resnet20_cifar',
      'resnet32_cifar',
      'resnet56_cifar',
    ])
      expect(ids).toContain(id);
    expect(listModels('resnext*')).toEqual(['resnext101_32x8d', 'resnext50_32x4d']);
    expect(listModels('vgg1?_bn')).toEqual(['vgg11_bn', 'vgg13_bn', 'vgg16_bn', 'vgg19_bn']);
    expect(() => getModel('resnet19')).toThrow(/unknown model 'resnet19'/);
  });

  for (const id of listModels()) {
    it(`${id}: card equals the reference and the real model's counts; forward on wasm is finite`, async () => {
      await setBackend('wasm');
      const card = getCard(id);
      const ref = REFERENCE[id] ?? (counts[id] ? [counts[id].params, counts[id].macs] : undefined);
      expect(ref, `no reference count for ${id}`).toBeDefined();
      expect([card.params, card.macs]).toEqual(ref);
      manualSeed(0);
      const before = tf.memory().numTensors;
      const model = getModel(id);
      // Counting MACs needs the card's input size (MACs scale with it); the forward check uses the same pass.
      const s = summary(model, card.inputSize);
      expect(s.totalParams).toBe(card.params);
      expect(s.totalMacs).toBe(card.macs);
      expect(s.outputShape).toEqual([1, card.numClasses]);
      model.eval();
      // A small input (96x96 for the ImageNet models) for the forward check: adaptive pooling takes any size.
      const small = card.inputSize[0] >= 224 ? [96, 96, card.inputSize[2]] : card.inputSize;
      const y = tf.tidy(() => model.call(tf.randomNormal([2, ...small])));
      expect(y.shape).toEqual([2, card.numClasses]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      y.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
