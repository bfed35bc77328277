// A linear classifier on 2-D points of three classes, fitted with cross-entropy and plain gradient descent:
// z = x·W + b, p = softmax(z), loss = mean(−log p[label]); then W ← W − lr·∂loss/∂W, b ← b − lr·∂loss/∂b.
import { tf, setBackend } from '@cnn/tensor';
import { crossEntropy } from '@cnn/train';

/** A small seeded generator (mulberry32), so that the data is the same everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Three clouds of `perClass` points around (−1.5, −1), (1.5, −1) and (0, 1.5): points `[n][2]` and labels `[n]`. */
export function makeData(perClass = 30, seed = 7): { points: number[][]; labels: number[] } {
  const random = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = [
    [-1.5, -1],
    [1.5, -1],
    [0, 1.5],
  ];
  const points: number[][] = [];
  const labels: number[] = [];
  centres.forEach(([cx, cy], k) => {
    for (let i = 0; i < perClass; i++) {
      points.push([cx + normal(), cy + normal()]);
      labels.push(k);
    }
  });
  return { points, labels };
}

export interface Fit {
  /** Weights `[2][3]` and biases `[3]` after the last step. */
  W: number[][];
  b: number[];
  /** Loss and accuracy before every step, and after the last one. */
  losses: number[];
  accuracies: number[];
}

/** Fits W and b (starting from zeros) with `steps` steps of plain gradient descent on the whole data set. */
export function fitLinear(points: number[][], labels: number[], steps = 100, lr = 0.5): Fit {
  const x = tf.tensor2d(points);
  const y = tf.tensor1d(labels, 'int32');
  const [W, b] = [tf.zeros([2, 3]), tf.zeros([3])].map((zeros) => {
    const v = tf.variable(zeros); // shares the zeros' memory, which stays while the variable lives
    zeros.dispose();
    return v;
  });
  const losses: number[] = [];
  const accuracies: number[] = [];
  const accuracy = () =>
    tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(tf.add(tf.matMul(x, W), b), 1), y), 'float32')).dataSync()[0]);
  for (let step = 0; step <= steps; step++) {
    // Cross-entropy written out: the mean over the points of −log softmax(z)[label].
    const loss = () =>
      tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.add(tf.matMul(x, W), b)), tf.oneHot(y, 3)), 1))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, [W, b]);
    losses.push(value.dataSync()[0]);
    accuracies.push(accuracy());
    if (step < steps) {
      // The gradient-descent step: move every parameter a little against its gradient.
      tf.tidy(() => {
        W.assign(tf.sub(W, tf.mul(lr, grads[W.name])));
        b.assign(tf.sub(b, tf.mul(lr, grads[b.name])));
      });
    }
    tf.dispose([value, ...Object.values(grads)]);
  }
  const fit = { W: W.arraySync() as number[][], b: b.arraySync() as number[], losses, accuracies };
  tf.dispose([x, y, W, b]);
  return fit;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const { points, labels } = makeData();
  log(`${points.length} points in 3 classes; classifier z = x·W + b with W 2x3 and b 3 (9 parameters)`);
  const fit = fitLinear(points, labels, 100, 0.1);
  for (const step of [0, 1, 2, 5, 10, 20, 50, 100]) {
    log(
      `step ${String(step).padStart(3)}: loss ${fit.losses[step].toFixed(4)}, accuracy ${fit.accuracies[step].toFixed(3)}`,
    );
  }
  const falling = fit.losses.every((l, i) => i === 0 || l <= fit.losses[i - 1] + 1e-6);
  log(
    `the loss fell at every step: ${falling}; it started at ln 3 = ${Math.log(3).toFixed(4)} (all classes equally likely)`,
  );

  // The library's cross-entropy gives the same number as the formula above.
  const ce = tf.tidy(
    () =>
      crossEntropy(
        tf.add(tf.matMul(tf.tensor2d(points), tf.tensor2d(fit.W)), tf.tensor1d(fit.b)),
        labels,
      ).dataSync()[0],
  );
  log(`crossEntropy(z, labels) = ${ce.toFixed(4)} (the formula: ${fit.losses[100].toFixed(4)})`);
}
