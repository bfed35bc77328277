// Backpropagation by hand on a 2-2-1 network, step by step, checked against tf.grads.
// Forward: a1 = x·W1 + b1, h = σ(a1), a2 = h·W2 + b2, y = σ(a2), L = ½(y − t)².
import { tf, setBackend } from '@cnn/tensor';

const x = [1.0, -2.0];
const t = 1.0;
const W1 = [
  [0.5, -0.3],
  [0.2, 0.4],
]; // [in, out], as cnn stores a linear layer's weight
const b1 = [0.1, -0.1];
const W2 = [0.7, -0.6]; // [2, 1], written as a vector
const b2 = 0.05;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const fmt = (v: number) => (v < 0 ? '' : ' ') + v.toFixed(6);
const vec = (v: number[]) => `[${v.map(fmt).join(',')}]`;

/** The chain rule applied by hand, layer by layer from the loss back to the input weights. */
export function manualGradients(log: (line: string) => void = () => {}): {
  W1: number[][];
  b1: number[];
  W2: number[];
  b2: number;
  loss: number;
} {
  // Forward pass, keeping every intermediate value: the backward pass needs them.
  const a1 = [0, 1].map((j) => x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j]);
  const h = a1.map(sigmoid);
  const a2 = h[0] * W2[0] + h[1] * W2[1] + b2;
  const y = sigmoid(a2);
  const loss = 0.5 * (y - t) ** 2;
  log(`forward:  a1 = x·W1 + b1 = ${vec(a1)}   h = σ(a1) = ${vec(h)}`);
  log(`          a2 = h·W2 + b2 = ${fmt(a2)}   y = σ(a2) = ${fmt(y)}   L = ½(y − t)² = ${fmt(loss)}`);

  // Backward pass: each line multiplies the gradient so far by one local derivative.
  const dy = y - t; // ∂L/∂y
  const da2 = dy * y * (1 - y); // σ'(a2) = y(1 − y)
  const dW2 = h.map((hj) => hj * da2); // ∂a2/∂W2 = h
  const db2 = da2;
  const dh = W2.map((w) => da2 * w); // ∂a2/∂h = W2
  const da1 = dh.map((g, j) => g * h[j] * (1 - h[j])); // σ'(a1) = h(1 − h)
  const dW1 = x.map((xi) => da1.map((g) => xi * g)); // ∂a1/∂W1 = x
  const db1 = da1;
  log(`backward: ∂L/∂y  = y − t              = ${fmt(dy)}`);
  log(`          ∂L/∂a2 = ∂L/∂y · y(1 − y)     = ${fmt(da2)}`);
  log(`          ∂L/∂W2 = h · ∂L/∂a2           = ${vec(dW2)}   ∂L/∂b2 = ${fmt(db2)}`);
  log(`          ∂L/∂h  = ∂L/∂a2 · W2          = ${vec(dh)}`);
  log(`          ∂L/∂a1 = ∂L/∂h · h(1 − h)     = ${vec(da1)}`);
  log(`          ∂L/∂W1 = xᵀ · ∂L/∂a1          = ${vec(dW1[0])} ${vec(dW1[1])}   ∂L/∂b1 = ${vec(db1)}`);
  return { W1: dW1, b1: db1, W2: dW2, b2: db2, loss };
}

/** The same gradients from tfjs's automatic differentiation (reverse mode: backpropagation done by the library). */
export function autoGradients(): { W1: number[][]; b1: number[]; W2: number[]; b2: number; loss: number } {
  const params = [tf.tensor2d(W1), tf.tensor1d(b1), tf.tensor2d(W2, [2, 1]), tf.tensor1d([b2])];
  const input = tf.tensor2d([x]);
  const f = (w1: tf.Tensor, c1: tf.Tensor, w2: tf.Tensor, c2: tf.Tensor) => {
    const h = tf.sigmoid(tf.add(tf.matMul(input, w1 as tf.Tensor2D), c1));
    const y = tf.sigmoid(tf.add(tf.matMul(h, w2 as tf.Tensor2D), c2));
    return tf.sum(tf.mul(0.5, tf.square(tf.sub(y, t))));
  };
  const { value, grads } = tf.valueAndGrads(f)(params);
  const out = {
    W1: grads[0].arraySync() as number[][],
    b1: grads[1].arraySync() as number[],
    W2: (grads[2].arraySync() as number[][]).map((r) => r[0]),
    b2: (grads[3].arraySync() as number[])[0],
    loss: value.dataSync()[0],
  };
  tf.dispose([...params, input, value, ...grads]);
  return out;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const manual = manualGradients(log);
  const auto = autoGradients();
  log(`tf.grads: ∂L/∂W2 = ${vec(auto.W2)}   ∂L/∂b2 = ${fmt(auto.b2)}`);
  log(`          ∂L/∂W1 = ${vec(auto.W1[0])} ${vec(auto.W1[1])}   ∂L/∂b1 = ${vec(auto.b1)}`);
  const flat = (g: typeof manual) => [...g.W1.flat(), ...g.b1, ...g.W2, g.b2];
  const diff = Math.max(...flat(manual).map((v, i) => Math.abs(v - flat(auto)[i])));
  log(
    `largest difference between the chain rule and tf.grads: ${diff.toExponential(1)} (float32): agree ${diff < 1e-6}`,
  );
}
