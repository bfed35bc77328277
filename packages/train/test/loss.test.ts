// crossEntropy against PyTorch 1.13's F.cross_entropy (values and gradients) on the cpu and wasm backends.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import { crossEntropy, type HostArray, type Reduction } from '../src/index';
import { expectClose, fixture, tensorOf } from './helpers';

interface LossCase {
  name: string;
  target: number[] | HostArray;
  labelSmoothing: number;
  weight: number[] | null;
  reduction: Reduction;
  loss: number | number[];
  grad: HostArray;
}
const F = fixture<{ logits: HostArray; cases: LossCase[] }>('losses');

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`crossEntropy on ${backend}`, () => {
    it(`matches PyTorch's values and gradients in all ${F.cases.length} cases`, async () => {
      await setBackend(backend);
      const logits = tensorOf(F.logits);
      const before = tf.memory().numTensors;
      for (const c of F.cases) {
        const target = Array.isArray(c.target) ? c.target : tensorOf(c.target);
        const opts = { labelSmoothing: c.labelSmoothing, weight: c.weight ?? undefined, reduction: c.reduction };
        const loss = crossEntropy(logits, target, opts);
        expectClose(loss.dataSync(), typeof c.loss === 'number' ? [c.loss] : c.loss, 1e-5, `${c.name}: loss`);
        expect(loss.shape).toEqual(c.reduction === 'none' ? [F.logits.shape[0]] : []);
        const grad = tf.grad((x: Tensor) => tf.sum(crossEntropy(x, target, opts)))(logits);
        expectClose(grad.dataSync(), c.grad.data, 1e-5, `${c.name}: gradient`);
        tf.dispose([loss, grad]);
        if (!Array.isArray(target)) target.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      logits.dispose();
    });

    it('takes class indices as an int32 tensor, a number array or an Int32Array alike', async () => {
      await setBackend(backend);
      const c = F.cases.find(
        (k) => Array.isArray(k.target) && k.weight && k.labelSmoothing > 0 && k.reduction === 'mean',
      )!;
      const logits = tensorOf(F.logits);
      const labels = c.target as number[];
      const t = tf.tensor1d(labels, 'int32');
      const opts = { labelSmoothing: c.labelSmoothing, weight: tf.tensor1d(c.weight!) };
      for (const target of [t, labels, Int32Array.from(labels)]) {
        const loss = crossEntropy(logits, target, opts);
        expectClose(loss.dataSync(), [c.loss as number], 1e-5, 'loss');
        loss.dispose();
      }
      tf.dispose([logits, t, opts.weight]);
    });
  });
}

describe('crossEntropy errors name the problem', () => {
  it('rejects bad shapes, indices, weights and options', async () => {
    await setBackend('cpu');
    const logits = tf.zeros([3, 4]);
    const cases: Array<[() => unknown, RegExp]> = [
      [() => crossEntropy(tf.zeros([4]), [0]), /logits must be a tensor \[n, c\], got \[4\]/],
      [() => crossEntropy(logits, [0, 1]), /2 labels for 3 samples/],
      [() => crossEntropy(logits, [0, 4, 1]), /class index 4 \(sample 1\) is out of range for 4 classes/],
      [() => crossEntropy(logits, [0, -1, 1]), /class index -1/],
      [() => crossEntropy(logits, [0, 1.5, 1]), /class index 1 is 1.5, not an integer/],
      [() => crossEntropy(logits, tf.tensor1d([0, 1, 2])), /class indices must be int32, got float32/],
      [() => crossEntropy(logits, tf.zeros([3, 5])), /soft targets \[3, 5\] do not match logits \[3, 4\]/],
      [() => crossEntropy(logits, [0, 1, 2], { weight: [1, 2, 3] }), /weight has 3 values for 4 classes/],
      [() => crossEntropy(logits, [0, 1, 2], { weight: [1, 2, NaN, 1] }), /weight\[2\] is NaN/],
      [() => crossEntropy(logits, [0, 1, 2], { labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\], got 1.5/],
      [
        () => crossEntropy(logits, [0, 1, 2], { reduction: 'avg' as Reduction }),
        /reduction must be 'mean', 'sum' or 'none'/,
      ],
    ];
    const before = tf.memory().numTensors;
    for (const [f, message] of cases) expect(f).toThrow(message);
    expect(tf.memory().numTensors - before).toBe(3); // the three the cases themselves built: crossEntropy leaves none
    logits.dispose();
  });
});
