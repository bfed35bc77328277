// Max pooling against average pooling on a real picture: a Fashion-MNIST test image from the sample that ships inside
// @cnn/datasets, pooled 2x2 at stride 2 twice (28x28 -> 14x14 -> 7x7).
import { tf, setBackend } from '@cnn/tensor';
import { F } from '@cnn/layers';
import { FashionMNIST } from '@cnn/datasets';
// The sample's file URLs: importing them makes the bundler emit the files (Node reads them without it).
import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample';

export interface Pooled {
  className: string;
  /** Pixels in [0, 1]: the image, then max and average pooling once (14x14) and twice (7x7). */
  original: number[][];
  max: [number[][], number[][]];
  avg: [number[][], number[][]];
}

const rows = (t: tf.Tensor4D) => (t.arraySync()[0] as number[][][]).map((r) => r.map((px) => px[0]));

/** Pools test image `index` of the embedded sample. */
export async function poolImage(index = 0): Promise<Pooled> {
  const test = await FashionMNIST.sample({ train: false, files: fashionMnistSampleFiles });
  const { data, height, width } = test.raw(index);
  const result = tf.tidy(() => {
    const x = tf.div(tf.tensor4d(Float32Array.from(data), [1, height, width, 1]), 255) as tf.Tensor4D;
    const max1 = F.maxPool2d(x, 2, { stride: 2 });
    const avg1 = F.avgPool2d(x, 2, { stride: 2 });
    return {
      original: rows(x),
      max: [rows(max1), rows(F.maxPool2d(max1, 2, { stride: 2 }))] as [number[][], number[][]],
      avg: [rows(avg1), rows(F.avgPool2d(avg1, 2, { stride: 2 }))] as [number[][], number[][]],
    };
  });
  return { className: test.classes[test.labels[index]], ...result };
}

const mean = (m: number[][]) => m.flat().reduce((s, v) => s + v, 0) / m.flat().length;
const maxOf = (m: number[][]) => Math.max(...m.flat());

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const p = await poolImage(0);
  log(`test image 0 of the sample ("${p.className}"): 28x28, mean brightness ${mean(p.original).toFixed(3)}`);
  for (const k of [0, 1] as const) {
    const n = p.max[k].length;
    log(
      `${k ? 'twice' : 'once '} -> ${n}x${n}: max pool mean ${mean(p.max[k]).toFixed(3)}, average pool mean ${mean(p.avg[k]).toFixed(3)}`,
    );
  }
  log(`average pooling keeps the mean brightness: ${Math.abs(mean(p.avg[1]) - mean(p.original)) < 1e-4}`);
  log(
    `max pooling keeps the brightest pixel: ${maxOf(p.max[1]).toFixed(3)} (original ${maxOf(p.original).toFixed(3)}, average pooled ${maxOf(p.avg[1]).toFixed(3)})`,
  );
}
