// XOR: the four points (0,0), (0,1), (1,0), (1,1) with classes 0, 1, 1, 0. No straight line separates the two
// classes, so a linear classifier cannot learn it; one hidden layer can.
import { tf, setBackend } from '@cnn/tensor';
import { Linear, Sequential, Tanh, manualSeed, type Module } from '@cnn/layers';
import { Adam, crossEntropy } from '@cnn/train';

export const POINTS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
export const LABELS = [0, 1, 1, 0];

/** A linear classifier (no hidden layer), or an MLP 2 → `hidden` (tanh) → 2. Two logits: class 0 and class 1. */
export function makeNet(hidden: number, seed = 3): Module {
  manualSeed(seed);
  return hidden === 0 ? new Linear(2, 2) : new Sequential(new Linear(2, hidden), new Tanh(), new Linear(hidden, 2));
}

/** P(class 1) for each point `[n][2]`. */
export function probabilities(net: Module, points: number[][]): number[] {
  return tf.tidy(() =>
    Array.from(
      tf
        .softmax(net.call(tf.tensor2d(points)) as tf.Tensor2D)
        .slice([0, 1], [-1, 1])
        .dataSync(),
    ),
  );
}

/**
 * Trains `net` on XOR with full-batch Adam and cross-entropy for `steps` steps; `onStep(step, loss)` after each one
 * (awaited, so a page can redraw). Returns the losses.
 */
export async function trainXor(
  net: Module,
  steps = 300,
  lr = 0.05,
  onStep?: (step: number, loss: number) => void | Promise<void>,
): Promise<number[]> {
  const x = tf.tensor2d(POINTS);
  const y = tf.tensor1d(LABELS, 'int32');
  const opt = new Adam(net, { lr });
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    losses.push(opt.minimize(() => crossEntropy(net.call(x), y)));
    await onStep?.(step, losses[losses.length - 1]);
  }
  opt.dispose();
  tf.dispose([x, y]);
  return losses;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  for (const hidden of [0, 4]) {
    const net = makeNet(hidden);
    const name = hidden ? `MLP 2-${hidden}-2 (tanh)` : 'linear 2-2 (no hidden layer)';
    const losses = await trainXor(net, 300);
    const p = probabilities(net, POINTS);
    const predicted = p.map((v) => (v > 0.5 ? 1 : 0));
    const correct = predicted.filter((c, i) => c === LABELS[i]).length;
    log(
      `${name}: loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)} after ${losses.length} steps`,
    );
    log(
      `  P(class 1) at (0,0) (0,1) (1,0) (1,1): ${p.map((v) => v.toFixed(2)).join(' ')} -> [${predicted.join(', ')}], ${correct}/4 right`,
    );
    net.dispose();
  }
}
