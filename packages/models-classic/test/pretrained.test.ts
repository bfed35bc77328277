// The trained weights that ship in weights/: each file is small, says what it is in its header, loads through
// loadPretrained (ESM source here; the built package resolves weights/ the same way), and scores the accuracy its
// card states on the full Fashion-MNIST test split (Debian's dataset-fashion-mnist, which .ci/run installs).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { readSafetensors } from '@cnn/layers';
import { Compose, DataLoader, FashionMNIST, Normalize, ToTensor } from '@cnn/datasets';
import { getCard, loadPretrained, pretrainedModels, pretrainedUrl, shippedWeights } from '../src/index';
import { shippedWeightsFiles } from '../src/shipped-weights';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('shipped weights', () => {
  it('load from the URLs that @cnn/models-classic/shipped-weights names (what a page passes as shippedFiles)', async () => {
    expect(Object.keys(shippedWeightsFiles).sort()).toEqual(pretrainedModels().map((id) => shippedWeights(id).file));
    for (const id of pretrainedModels())
      expect(pretrainedUrl(id, undefined, shippedWeightsFiles).href).toBe(pretrainedUrl(id).href);
    const before = tf.memory().numTensors;
    const viaFiles = await loadPretrained('lenet5', { weights: 'fashion-mnist', shippedFiles: shippedWeightsFiles });
    const plain = await loadPretrained('lenet5', { weights: 'fashion-mnist' });
    const x = tf.tidy(() => tf.randomUniform([2, 28, 28, 1], -1, 1, 'float32', 7));
    const a = viaFiles.predict(x, { topk: 3 });
    const b = plain.predict(x, { topk: 3 });
    expect(a.indices).toEqual(b.indices);
    expect(a.scores).toEqual(b.scores);
    x.dispose();
    viaFiles.dispose();
    plain.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ship for LeNet-5 and ResNet-20, trained on Fashion-MNIST, each well under 2 MB, described in their header', () => {
    expect(pretrainedModels()).toEqual(['lenet5', 'resnet20_cifar']);
    for (const id of pretrainedModels()) {
      const w = shippedWeights(id);
      const file = fileURLToPath(pretrainedUrl(id));
      expect(existsSync(file), file).toBe(true);
      expect(statSync(file).size).toBeLessThan(1.5 * 1024 * 1024);
      const meta = readSafetensors(readFileSync(file)).metadata;
      const info = JSON.parse(meta['cnn.model']!);
      expect(info).toMatchObject({
        id,
        dataset: w.dataset,
        numClasses: w.numClasses,
        inputSize: w.inputSize,
        classes: w.classes,
        mean: w.mean,
        std: w.std,
      });
      expect(meta['cnn.trained_with']).toBe(w.trainedWith);
      expect(Number(meta['cnn.top1'])).toBe(w.top1);
      expect(w.dataset).toBe('fashion-mnist');
      expect(w.classes).toEqual(FashionMNIST.CLASSES);
    }
  });

  it('name what exists when asked for weights that do not', async () => {
    expect(() => shippedWeights('alexnet')).toThrow(
      /no trained weights ship with 'alexnet'; models with weights: lenet5, resnet20_cifar/,
    );
    expect(() => shippedWeights('lenet5', 'cifar10')).toThrow(
      /'lenet5' ships weights for 'fashion-mnist', not 'cifar10'/,
    );
    // An id with neither shipped nor published ImageNet weights (vgg11 has torchvision's).
    await expect(loadPretrained('resnet18_cifar')).rejects.toThrow(/no pretrained weights for 'resnet18_cifar'/);
  });

  for (const id of pretrainedModels()) {
    it(`${id}: scores its card's test accuracy on the full Fashion-MNIST test split`, async () => {
      const w = getCard(id).weights![0]!;
      const test = await FashionMNIST.debian({
        train: false,
        transform: new Compose([new ToTensor(), new Normalize(w.mean, w.std)]),
      });
      // fuse(): evaluation mode with the folded inference tensors made now, so that only the calls' own tensors count.
      const model = (await loadPretrained(id)).fuse();
      const before = tf.memory().numTensors;
      let correct = 0;
      for await (const b of new DataLoader(test, { batchSize: 500 })) {
        correct += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.call(b.x), 1), b.y), 'int32')).dataSync()[0]!);
        b.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(correct / test.length).toBeCloseTo(w.top1, 3);
      expect(w.top1).toBeGreaterThanOrEqual(id === 'lenet5' ? 0.89 : 0.92);
      model.dispose();
    }, 300_000);
  }
});
