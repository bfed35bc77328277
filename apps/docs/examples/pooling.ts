// Max pooling against average pooling on a small generated image: 2x2 windows at stride 2.
import { tf, setBackend } from '@cnn/tensor';
import { F, MaxPool2d } from '@cnn/layers';

/** An 8x8 single-channel image: a bright diagonal stripe on a soft horizontal ramp, values 0..9. */
export function makeImage(size = 8): number[][] {
  return Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => (Math.abs(x - y) <= 1 ? 9 : Math.round((x * 4) / (size - 1)))),
  );
}

/** The image and both poolings of it, as plain 2-D arrays. */
export function poolBoth(image: number[][]): { max: number[][]; avg: number[][] } {
  const x = tf.tensor4d(image.flat(), [1, image.length, image[0].length, 1]);
  const maxT = F.maxPool2d(x, 2, { stride: 2 });
  const avgT = F.avgPool2d(x, 2, { stride: 2 });
  const toRows = (t: tf.Tensor4D) => (t.arraySync()[0] as number[][][]).map((row) => row.map((px) => px[0]));
  const result = { max: toRows(maxT), avg: toRows(avgT) };
  tf.dispose([x, maxT, avgT]);
  return result;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const image = makeImage();
  const { max, avg } = poolBoth(image);
  const rows = (m: number[][]) => m.map((r) => `  ${r.map((v) => v.toFixed(2).padStart(5)).join(' ')}`);
  log(`input 1x8x8x1:`);
  rows(image).forEach((l) => log(l));
  log(`max pool 2x2, stride 2 -> 1x4x4x1 (keeps the stripe at full strength):`);
  rows(max).forEach((l) => log(l));
  log(`average pool 2x2, stride 2 -> 1x4x4x1 (blurs it into its surroundings):`);
  rows(avg).forEach((l) => log(l));

  // The seed's snippet: x = torch.randn(1, 1, 4, 4); F.max_pool2d(x, kernel_size=2, stride=2); nn.MaxPool2d.
  const x = tf.randomNormal([1, 4, 4, 1]);
  const y1 = F.maxPool2d(x, 2, { stride: 2 });
  const y2 = new MaxPool2d(2, { stride: 2 }).call(x);
  log(`seed: F.maxPool2d ${x.shape.join('x')} -> ${y1.shape.join('x')}, new MaxPool2d -> ${y2.shape.join('x')}`);
  tf.dispose([x, y1, y2]);
}
