// The seed's fully connected layer: flatten a 1x2x2x2 feature map into 8 features, map them to 6.
import { tf, setBackend } from '@cnn/tensor';
import { F, Linear } from '@cnn/layers';

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const fmap = tf.randomNormal([1, 2, 2, 2]);
  const x = F.flatten(fmap); // [1, 8]: fmap.view(-1, 8)
  log(`flatten: ${fmap.shape.join('x')} -> ${x.shape.join('x')}`);

  // Functional API: weight is [in, out] (PyTorch stores [out, in]).
  const weight = tf.randomNormal([8, 6]);
  const bias = tf.randomNormal([6]);
  const y1 = F.linear(x, weight, bias);
  // Class API: in_features = 8, out_features = 6.
  const fc = new Linear(8, 6);
  const y2 = fc.call(x);
  log(`F.linear -> ${y1.shape.join('x')}, new Linear(8, 6) -> ${y2.shape.join('x')}, ${fc.numParameters()} parameters`);

  tf.dispose([fmap, x, weight, bias, y1, y2]);
  fc.dispose();
}
