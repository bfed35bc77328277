// Softmax turns any vector of scores into probabilities: every entry in (0, 1), each row summing to 1.
import { tf, setBackend } from '@cnn/tensor';
import { F, Softmax } from '@cnn/layers';

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');

  // The seed's snippet: z = torch.rand(3); F.softmax(z) and nn.Softmax()(z).
  const z = tf.tensor1d([0.2, 0.9, 0.4]);
  const p = F.softmax(z);
  const q = new Softmax().call(z);
  log(`z = [${fmt(z)}] -> p = [${fmt(p)}], nn-style [${fmt(q)}]`);

  // A batch of 3 score vectors over 5 classes: softmax along the last axis.
  const logits = tf.tensor2d([
    [2.0, 1.0, 0.1, -1.0, 0.5],
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [10, -10, 3, 3, 0],
  ]);
  const probs = F.softmax(logits);
  const sums = probs.sum(1);
  (probs.arraySync() as number[][]).forEach((row, i) => log(`row ${i}: [${row.map((v) => v.toFixed(3)).join(', ')}]`));
  log(`row sums: [${fmt(sums)}]`);

  tf.dispose([z, p, q, logits, probs, sums]);
}

function fmt(t: tf.Tensor): string {
  return Array.from(t.dataSync(), (v) => v.toFixed(3)).join(', ');
}
