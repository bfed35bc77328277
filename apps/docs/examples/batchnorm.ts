// BatchNorm2d: what it normalises (each channel, over the batch and all positions), and why training and evaluation
// give different outputs (batch statistics against running statistics).
import { tf, setBackend } from '@cnn/tensor';
import { BatchNorm2d } from '@cnn/layers';

const MEANS = [5, -2, 10];
const STDS = [2, 0.5, 4];

/** A batch of 8 feature maps 4x4 with 3 channels; channel c has mean MEANS[c] and spread STDS[c]. */
function batch(seed: number): tf.Tensor4D {
  return tf.tidy(
    () => tf.add(tf.mul(tf.randomNormal([8, 4, 4, 3], 0, 1, 'float32', seed), STDS), MEANS) as tf.Tensor4D,
  );
}

/** Per-channel mean and standard deviation (over N, H and W), as text. */
function stats(t: tf.Tensor): string {
  const [m, s] = tf.tidy(() => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return [Array.from(mean.dataSync()), Array.from(tf.sqrt(variance).dataSync())];
  });
  const f = (v: number[]) => `[${v.map((x) => (Math.abs(x) < 5e-4 ? 0 : x).toFixed(3)).join(', ')}]`;
  return `mean ${f(m)}, std ${f(s)}`;
}

const vec = (v: tf.Tensor) =>
  `[${Array.from(v.dataSync())
    .map((x) => x.toFixed(3))
    .join(', ')}]`;

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const bn = new BatchNorm2d(3); // γ = 1, β = 0, running mean 0, running variance 1, momentum 0.1
  log(
    `BatchNorm2d(3): ${bn.numParameters()} parameters (γ and β per channel), running mean ${vec(bn.runningMean)} and variance ${vec(bn.runningVar)} (buffers)`,
  );

  const x = batch(1);
  log(`input 8x4x4x3, per channel over 8·4·4 = 128 values: ${stats(x)}`);
  const y = bn.call(x); // train mode: normalise with this batch's own mean and variance
  log(`train mode output: ${stats(y)}`);
  log(`after 1 step: running mean ${vec(bn.runningMean)} = 0.9·0 + 0.1·batch mean`);

  bn.eval(); // eval mode: normalise with the running statistics instead
  const z = bn.call(x);
  log(`eval mode output after 1 step: ${stats(z)} (not normalised yet)`);

  bn.train();
  for (let step = 2; step <= 100; step++) tf.tidy(() => void bn.call(batch(step))); // 99 more batches
  bn.eval();
  const w = bn.call(x);
  log(`after 100 steps: running mean ${vec(bn.runningMean)}, eval mode output: ${stats(w)}`);
  tf.dispose([x, y, z, w]);
  bn.dispose();
}
