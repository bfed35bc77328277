// The activation functions of the Layers tutorial, computed with F.* on the active backend.
// The page plots the curves that sampleCurves() returns; run() prints a few values.
import { tf, setBackend } from '@cnn/tensor';
import { F } from '@cnn/layers';

/** Every activation the tutorial shows, by the name F uses. */
export const ACTIVATIONS = {
  relu: (x: tf.Tensor) => F.relu(x),
  relu6: (x: tf.Tensor) => F.relu6(x),
  leakyRelu: (x: tf.Tensor) => F.leakyRelu(x, 0.1), // slope 0.1 (PyTorch's default is 0.01) so it shows
  elu: (x: tf.Tensor) => F.elu(x),
  sigmoid: (x: tf.Tensor) => F.sigmoid(x),
  tanh: (x: tf.Tensor) => F.tanh(x),
  gelu: (x: tf.Tensor) => F.gelu(x),
  silu: (x: tf.Tensor) => F.silu(x),
  hardSigmoid: (x: tf.Tensor) => F.hardSigmoid(x),
  hardSwish: (x: tf.Tensor) => F.hardSwish(x),
};

export type ActivationName = keyof typeof ACTIVATIONS;

/** Each activation evaluated at `xs`. */
export function sampleCurves(xs: number[]): Array<{ name: ActivationName; ys: number[] }> {
  const x = tf.tensor1d(xs);
  const curves = Object.entries(ACTIVATIONS).map(([name, f]) => {
    const y = f(x);
    const ys = Array.from(y.dataSync());
    y.dispose();
    return { name: name as ActivationName, ys };
  });
  x.dispose();
  return curves;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const xs = [-3, -1, 0, 1, 3];
  log(`${'x'.padEnd(12)}${xs.map((v) => String(v).padStart(8)).join('')}`);
  for (const { name, ys } of sampleCurves(xs)) {
    log(`${name.padEnd(12)}${ys.map((v) => v.toFixed(3).padStart(8)).join('')}`);
  }
}
