// The universal approximation theorem, illustrated: one hidden layer of tanh units fitting a curve, better and better
// as the layer gets wider.
import { tf, setBackend } from '@cnn/tensor';
import { Linear, Sequential, Tanh, manualSeed } from '@cnn/layers';
import { Adam } from '@cnn/train';

/** The curve to fit on [−3, 3]: a wave whose swing grows to the right. */
export const target = (x: number) => Math.sin(3 * x) * (1 + x / 4) + 0.3 * x;

/** `n` evenly spaced points of [−3, 3]. */
export const grid = (n = 64) => Array.from({ length: n }, (_, i) => -3 + (6 * i) / (n - 1));

export interface CurveFit {
  width: number;
  xs: number[];
  ys: number[];
  /** The network's output at `xs` after training. */
  fit: number[];
  /** Mean squared error of that output. */
  mse: number;
}

/** Fits 1 → `width` (tanh) → 1 to the curve with full-batch Adam on the mean squared error. */
export function fitWidth(width: number, steps = 400, lr = 0.05): CurveFit {
  manualSeed(width);
  const net = new Sequential(new Linear(1, width), new Tanh(), new Linear(width, 1));
  const xs = grid();
  const ys = xs.map(target);
  const x = tf.tensor2d(xs, [xs.length, 1]);
  const y = tf.tensor2d(ys, [ys.length, 1]);
  const opt = new Adam(net, { lr });
  for (let i = 0; i < steps; i++) opt.minimize(() => tf.mean(tf.square(tf.sub(net.call(x), y))));
  const out = net.call(x);
  const fit = Array.from(out.dataSync());
  const mse = fit.reduce((s, v, i) => s + (v - ys[i]) ** 2, 0) / fit.length;
  tf.dispose([x, y, out]);
  opt.dispose();
  net.dispose();
  return { width, xs, ys, fit, mse };
}

export const WIDTHS = [1, 2, 4, 8, 16];

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const mses: number[] = [];
  for (const width of WIDTHS) {
    const { mse } = fitWidth(width);
    mses.push(mse);
    log(`${String(width).padStart(2)} hidden units (${3 * width + 1} weights): mean squared error ${mse.toFixed(4)}`);
  }
  log(`the widest fits ${(mses[0] / mses[mses.length - 1]).toFixed(0)} times better than a single unit`);
}
