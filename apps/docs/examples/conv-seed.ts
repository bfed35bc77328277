// The seed's convolution snippet, in both of its styles. Tensors are NHWC, weights [kh, kw, in, out]:
// PyTorch's img (1, 3, 8, 12) is [1, 8, 12, 3] here, its weight (6, 3, 3, 3) is [3, 3, 3, 6].
import { tf, setBackend } from '@cnn/tensor';
import { F, Conv2d } from '@cnn/layers';

const shape = (t: { shape: number[] }) => t.shape.join('x');

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');

  // Functional API: you hold the weights.
  const img = tf.randomNormal([1, 8, 12, 3]); // N, H, W, C
  const weight = tf.randomNormal([3, 3, 3, 6]); // kh, kw, C, C'
  const bias = tf.randomNormal([6]); // C'
  const out = F.conv2d(img, weight, { bias, padding: 1 });
  log(`F.conv2d:   ${shape(img)} with weight ${shape(weight)} -> ${shape(out)}`);

  // Class API: the layer owns its weight and bias (PyTorch's initialisation).
  const conv = new Conv2d(3, 6, 3, { padding: 1 }); // C, C', kernel size
  const y = conv.call(img);
  log(`new Conv2d: weight ${shape(conv.weight)}, bias ${shape(conv.bias!)} -> ${shape(y)}`);
  log(`parameters: ${conv.numParameters()} = 3*3*3*6 weights + 6 biases`);

  // The seed's two rules: a filter has as many channels as the input,
  // and the output has as many channels as there are filters.
  log(`filter channels = input channels: ${weight.shape[2] === img.shape[3]}`);
  log(`output channels = number of filters: ${out.shape[3] === weight.shape[3]}`);

  tf.dispose([img, weight, bias, out, y]);
  conv.dispose();
}
