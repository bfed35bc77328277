// Top-k accuracy and the confusion matrix on hand-computed cases.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { accuracy, ConfusionMatrix, topkCorrect } from '../src/index';

beforeAll(async () => {
  await setBackend('wasm');
});

describe('accuracy', () => {
  // 4 samples, 6 classes. Ranks of the label's score: sample 0 -> 0 (top-1), 1 -> 2, 2 -> 5 (last), 3 -> 1.
  const logits = [
    [0.1, 5.0, 0.2, 0.3, 0.4, 0.5],
    [3.0, 2.0, 1.0, 0.0, -1.0, -2.0],
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    [9.0, 1.0, 8.5, 0.0, 0.0, 0.0],
  ];
  const labels = [1, 2, 0, 2];

  it('counts the label among the k highest scores (hand-computed)', () => {
    const x = tf.tensor2d(logits);
    const before = tf.memory().numTensors;
    expect(topkCorrect(x, labels, [1, 2, 3, 5, 6])).toEqual([1, 2, 3, 3, 4]);
    expect(accuracy(x, labels)).toEqual([0.25, 0.75]);
    expect(accuracy(x, tf.tensor1d(labels, 'int32'), [1])).toEqual([0.25]);
    expect(accuracy(x, labels, [10])).toEqual([1]); // k > classes: every sample
    expect(tf.memory().numTensors).toBe(before + 1); // only the labels tensor built above
    x.dispose();
  });

  it('ties go to the label; a NaN label score is never correct; soft targets use their argmax', () => {
    const x = tf.tensor2d([
      [1, 1, 0],
      [NaN, 0, 0],
      [0, 2, 1],
    ]);
    expect(topkCorrect(x, [1, 0, 2], [1, 2])).toEqual([1, 2]); // sample 0 tied at top: correct; sample 2: rank 1
    const soft = tf.tensor2d([
      [0.3, 0.7, 0],
      [0.6, 0.4, 0],
      [0.1, 0.2, 0.7],
    ]);
    expect(topkCorrect(x, soft, [1, 2])).toEqual([1, 2]);
    expect(() => accuracy(x, [0, 1])).toThrow(/2 labels for 3 samples/);
    expect(() => accuracy(x, [0, 1, 3])).toThrow(/class index 3 \(sample 2\) is out of range for 3 classes/);
    expect(() => accuracy(x, [0, 1, 2], [0])).toThrow(/every k must be a positive integer, got 0/);
    tf.dispose([x, soft]);
  });
});

describe('ConfusionMatrix', () => {
  // 3 classes, 10 samples over two batches; class 2 is never predicted.
  //            predicted: 0  1  2
  //   true 0           [  3, 1, 0 ]
  //   true 1           [  1, 2, 0 ]
  //   true 2           [  2, 1, 0 ]
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const pred = [0, 0, 0, 1, 0, 1, 1, 0, 0, 1];

  function filled(): ConfusionMatrix {
    const cm = new ConfusionMatrix(3);
    cm.update(pred.slice(0, 6), truth.slice(0, 6));
    // the second batch as logits [n, 3] and int32 labels
    const logits = tf.oneHot(tf.tensor1d(pred.slice(6), 'int32'), 3).toFloat();
    const y = tf.tensor1d(truth.slice(6), 'int32');
    cm.update(logits, y);
    tf.dispose([logits, y]);
    return cm;
  }

  it('accumulates batches into counts, rows true and columns predicted', () => {
    const cm = filled();
    expect(cm.toArray()).toEqual([
      [3, 1, 0],
      [1, 2, 0],
      [2, 1, 0],
    ]);
    expect(cm.total).toBe(10);
    expect(cm.support()).toEqual([4, 3, 3]);
    expect(cm.accuracy()).toBeCloseTo(0.5, 12);
  });

  it('precision, recall and F1 per class and macro (hand-computed; never-predicted class -> precision 0)', () => {
    const cm = filled();
    const p = cm.precision();
    // class 0: 3 / (3+1+2) = 1/2; class 1: 2 / (1+2+1) = 1/2; class 2: never predicted -> 0 (zeroDivision)
    expect(p.perClass).toEqual([0.5, 0.5, 0]);
    expect(p.macro).toBeCloseTo(1 / 3, 12);
    const r = cm.recall();
    // class 0: 3/4; class 1: 2/3; class 2: 0/3
    expect(r.perClass[0]).toBeCloseTo(0.75, 12);
    expect(r.perClass[1]).toBeCloseTo(2 / 3, 12);
    expect(r.perClass[2]).toBe(0);
    expect(r.macro).toBeCloseTo((0.75 + 2 / 3) / 3, 12);
    const f = cm.f1();
    // class 0: 2*3 / (6 + 3 + 1) = 0.6; class 1: 4 / (4 + 2 + 1) = 4/7; class 2: 0 / (0 + 0 + 3) = 0
    expect(f.perClass[0]).toBeCloseTo(0.6, 12);
    expect(f.perClass[1]).toBeCloseTo(4 / 7, 12);
    expect(f.perClass[2]).toBe(0);
    expect(f.macro).toBeCloseTo((0.6 + 4 / 7) / 3, 12);
  });

  it('zeroDivision sets the convention for empty classes; report and reset', () => {
    const cm = new ConfusionMatrix(3, { zeroDivision: NaN, classNames: ['cat', 'dog', 'eel'] });
    cm.update([0, 1, 1], [0, 1, 0]);
    // class 2: never predicted and never present -> precision, recall and F1 are 0/0
    expect(cm.precision().perClass).toEqual([1, 0.5, NaN]);
    expect(cm.recall().perClass).toEqual([0.5, 1, NaN]);
    expect(Number.isNaN(cm.f1().macro)).toBe(true);
    const rep = cm.report();
    expect(rep.perClass[1]).toEqual({ name: 'dog', precision: 0.5, recall: 1, f1: 2 / 3, support: 1 });
    expect(rep.accuracy).toBeCloseTo(2 / 3, 12);
    cm.reset();
    expect(cm.total).toBe(0);
    expect(cm.accuracy()).toBe(0);
  });

  it('rejects bad input, naming it', () => {
    const cm = new ConfusionMatrix(3);
    expect(() => cm.update([0, 1], [0])).toThrow(/1 labels for 2 samples/);
    expect(() => cm.update([0, 3], [0, 1])).toThrow(
      /\(predictions\): class index 3 \(sample 1\) is out of range for 3 classes/,
    );
    const logits = tf.zeros([2, 4]);
    expect(() => cm.update(logits, [0, 1])).toThrow(/logits \[2, 4\] have 4 classes, the matrix 3/);
    logits.dispose();
    expect(() => new ConfusionMatrix(0)).toThrow(/numClasses must be a positive integer/);
  });
});
