// Padding, stride, dilation and groups on one 7x7 input with 4 channels and a 3x3 kernel:
// the output size the real conv2d gives, next to the formula
//   out = floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
import { tf, setBackend } from '@cnn/tensor';
import { F } from '@cnn/layers';

const formula = (n: number, k: number, p: number, s: number, d: number) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const x = tf.ones([1, 7, 7, 4]);
  const cases = [
    { name: 'plain', padding: 0, stride: 1, dilation: 1, groups: 1 },
    { name: 'padding 1', padding: 1, stride: 1, dilation: 1, groups: 1 },
    { name: 'stride 2', padding: 1, stride: 2, dilation: 1, groups: 1 },
    { name: 'dilation 2', padding: 0, stride: 1, dilation: 2, groups: 1 },
    { name: 'groups 2', padding: 1, stride: 1, dilation: 1, groups: 2 },
    { name: 'depthwise', padding: 1, stride: 1, dilation: 1, groups: 4 },
  ];
  for (const { name, ...c } of cases) {
    // Each group sees in / groups input channels, so the weight is [3, 3, 4 / groups, 4].
    const w = tf.ones([3, 3, 4 / c.groups, 4]);
    const y = F.conv2d(x, w, c);
    const expected = formula(7, 3, c.padding, c.stride, c.dilation);
    log(`${name.padEnd(10)} -> ${y.shape.join('x')} (formula: ${expected}x${expected}), ${w.size} weights`);
    tf.dispose([w, y]);
  }
  x.dispose();
}
