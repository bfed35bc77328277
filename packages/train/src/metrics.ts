// Classification metrics on the host: top-k accuracy and a streaming confusion matrix with per-class and macro
// precision, recall and F1. Tensors are read (dataSync), never created, so nothing can leak.
import { tf, type Tensor } from '@cnn/tensor';
import { argmaxRows, fmtShape, readLabels, type Labels } from './host';

/**
 * How many samples have their label among the `k` highest logits, for each `k` of `topk`. A sample counts as
 * correct at `k` when fewer than `k` classes score strictly higher than its label (so ties go in the label's
 * favour); a NaN score for the label is never correct. `k` larger than the number of classes counts every sample.
 *
 * @param logits scores `[n, c]`.
 * @param labels class indices `[n]` (int32 tensor or numbers), or soft targets `[n, c]` (their argmax is the label).
 * @returns counts, one per `k`.
 */
export function topkCorrect(logits: Tensor, labels: Labels, topk: number[] = [1, 5]): number[] {
  const op = 'topkCorrect';
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2) {
    throw new Error(
      `${op}: logits must be a tensor [n, c], got ${logits instanceof tf.Tensor ? fmtShape(logits.shape) : typeof logits}`,
    );
  }
  topk.forEach((k) => {
    if (!Number.isInteger(k) || k < 1) throw new Error(`${op}: every k must be a positive integer, got ${k}`);
  });
  const [n, c] = logits.shape;
  const y = readLabels(op, labels, c, n, true);
  const scores = logits.dataSync();
  const counts = topk.map(() => 0);
  for (let i = 0; i < n; i++) {
    const target = scores[i * c + y[i]];
    let rank = 0;
    if (Number.isNaN(target)) rank = Infinity;
    else for (let j = 0; j < c; j++) if (scores[i * c + j] > target) rank++;
    topk.forEach((k, m) => {
      if (rank < k) counts[m]++;
    });
  }
  return counts;
}

/**
 * Top-k accuracy of a batch, as fractions in [0, 1], one per `k` (see {@link topkCorrect} for ties and k > c).
 *
 * @example
 * const [top1, top5] = accuracy(logits, labels);          // topk defaults to [1, 5]
 */
export function accuracy(logits: Tensor, labels: Labels, topk: number[] = [1, 5]): number[] {
  const n = logits instanceof tf.Tensor ? logits.shape[0] : 0;
  const counts = topkCorrect(logits, labels, topk);
  return counts.map((k) => (n === 0 ? 0 : k / n));
}

/** Per-class values and their unweighted mean over all classes. */
export interface ClassScores {
  /** One value per class. */
  perClass: number[];
  /** The mean over every class, each counting equally (classes never seen count too). */
  macro: number;
}

/** Options of {@link ConfusionMatrix}. */
export interface ConfusionMatrixOptions {
  /**
   * The value of a ratio whose denominator is 0: precision of a class never predicted, recall of a class absent
   * from the labels, F1 when both are 0 (default 0, scikit-learn's `zero_division=0`).
   */
  zeroDivision?: number;
  /** Class names, for {@link ConfusionMatrix.report}. */
  classNames?: string[];
}

/**
 * A confusion matrix accumulated over batches: rows are true classes, columns predicted classes (scikit-learn's
 * and torchmetrics' orientation). Everything is kept on the host as counts.
 *
 * Conventions (scikit-learn's with `zero_division=0`): a class never predicted has precision 0, a class never
 * present has recall 0, F1 is `2·tp / (2·tp + fp + fn)` (0 when that is 0/0), and macro values average all
 * `numClasses` classes equally. Macro F1 is the mean of the per-class F1 values, not the F1 of macro precision and
 * recall.
 *
 * @example
 * const cm = new ConfusionMatrix(10);
 * for (const { x, y } of batches) cm.update(model.call(x), y);   // logits [n, 10] or predicted indices [n]
 * cm.accuracy(); cm.f1().macro; cm.toArray()[3][5];             // true class 3 predicted as 5
 */
export class ConfusionMatrix {
  /** Number of classes. */
  readonly numClasses: number;
  private readonly counts: Float64Array;
  private readonly zeroDivision: number;
  private readonly classNames: string[] | null;

  /** An empty `numClasses` x `numClasses` matrix. */
  constructor(numClasses: number, opts: ConfusionMatrixOptions = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new Error(`ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    if (opts.classNames && opts.classNames.length !== numClasses) {
      throw new Error(`ConfusionMatrix: ${opts.classNames.length} class names for ${numClasses} classes`);
    }
    this.numClasses = numClasses;
    this.counts = new Float64Array(numClasses * numClasses);
    this.zeroDivision = opts.zeroDivision ?? 0;
    this.classNames = opts.classNames ? [...opts.classNames] : null;
  }

  /**
   * Adds a batch.
   *
   * @param predictions logits `[n, c]` (their argmax is the prediction) or predicted class indices `[n]`.
   * @param labels true class indices `[n]`, or soft targets `[n, c]` (their argmax).
   */
  update(predictions: Labels, labels: Labels): void {
    const c = this.numClasses;
    const isLogits = predictions instanceof tf.Tensor && predictions.rank === 2;
    if (isLogits && predictions.shape[1] !== c) {
      throw new Error(
        `ConfusionMatrix.update: logits ${fmtShape(predictions.shape)} have ${predictions.shape[1]} classes, the matrix ${c}`,
      );
    }
    const pred = isLogits
      ? argmaxRows(predictions.dataSync(), predictions.shape[0], c)
      : readLabels('ConfusionMatrix.update (predictions)', predictions, c);
    const truth = readLabels('ConfusionMatrix.update (labels)', labels, c, pred.length, true);
    for (let i = 0; i < pred.length; i++) this.counts[truth[i] * c + pred[i]] += 1;
  }

  /** Forgets every count. */
  reset(): void {
    this.counts.fill(0);
  }

  /** Number of samples seen. */
  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** The counts: `toArray()[trueClass][predictedClass]`. */
  toArray(): number[][] {
    const c = this.numClasses;
    return Array.from({ length: c }, (_, i) => Array.from(this.counts.subarray(i * c, (i + 1) * c)));
  }

  /** Fraction of samples on the diagonal (0 before any update). */
  accuracy(): number {
    const total = this.total;
    let correct = 0;
    for (let i = 0; i < this.numClasses; i++) correct += this.counts[i * this.numClasses + i];
    return total === 0 ? 0 : correct / total;
  }

  /** Samples per true class. */
  support(): number[] {
    return this.toArray().map((row) => row.reduce((a, b) => a + b, 0));
  }

  /** Precision per class, `tp / (tp + fp)` (a column's diagonal share), and its macro mean. */
  precision(): ClassScores {
    return this.scores((tp, fp) => [tp, tp + fp]);
  }

  /** Recall per class, `tp / (tp + fn)` (a row's diagonal share), and its macro mean. */
  recall(): ClassScores {
    return this.scores((tp, _fp, fn) => [tp, tp + fn]);
  }

  /** F1 per class, `2·tp / (2·tp + fp + fn)`, and its macro mean. */
  f1(): ClassScores {
    return this.scores((tp, fp, fn) => [2 * tp, 2 * tp + fp + fn]);
  }

  /** Every metric at once, with class names when given: for logs and reports. */
  report(): {
    /** Fraction of samples on the diagonal. */
    accuracy: number;
    /** Samples counted. */
    total: number;
    /** Unweighted means over the classes. */
    macro: {
      /** Mean precision. */
      precision: number;
      /** Mean recall. */
      recall: number;
      /** Mean F1. */
      f1: number;
    };
    /** One entry per class, in class order. */
    perClass: Array<{
      /** The class's name (its index when no names were given). */
      name: string;
      /** Of the samples predicted as this class, the fraction that are. */
      precision: number;
      /** Of the samples of this class, the fraction predicted as it. */
      recall: number;
      /** Harmonic mean of precision and recall. */
      f1: number;
      /** Samples of this class. */
      support: number;
    }>;
  } {
    const p = this.precision();
    const r = this.recall();
    const f = this.f1();
    const support = this.support();
    return {
      accuracy: this.accuracy(),
      total: this.total,
      macro: { precision: p.macro, recall: r.macro, f1: f.macro },
      perClass: support.map((s, i) => ({
        name: this.classNames ? this.classNames[i] : String(i),
        precision: p.perClass[i],
        recall: r.perClass[i],
        f1: f.perClass[i],
        support: s,
      })),
    };
  }

  private scores(ratio: (tp: number, fp: number, fn: number) => [number, number]): ClassScores {
    const c = this.numClasses;
    const perClass: number[] = [];
    for (let k = 0; k < c; k++) {
      const tp = this.counts[k * c + k];
      let predicted = 0;
      let actual = 0;
      for (let j = 0; j < c; j++) {
        predicted += this.counts[j * c + k];
        actual += this.counts[k * c + j];
      }
      const [num, den] = ratio(tp, predicted - tp, actual - tp);
      perClass.push(den === 0 ? this.zeroDivision : num / den);
    }
    return { perClass, macro: perClass.reduce((a, b) => a + b, 0) / c };
  }
}
