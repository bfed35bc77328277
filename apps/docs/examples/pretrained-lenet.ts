// Getting started: classify real pictures with trained weights. LeNet-5's weights ship inside the package (trained on
// Fashion-MNIST's 60,000 training images by `cnn train`); the pictures are test images it never saw, saved as PNG
// files in the docs' public/ folder by scripts/render-fashion-mnist.mjs.
import { setBackend, loadPretrained, shippedWeights, loadImage, tf } from '@cnn/models-efficient';
// The weights files' URLs: importing them makes the bundler emit the files (Node reads them without it).
import { shippedWeightsFiles } from '@cnn/models-efficient/shipped-weights';

/** The first image of each class in Fashion-MNIST's test split: its file and its true class. */
export const IMAGES: ReadonlyArray<{ url: URL; label: string }> = [
  { url: new URL('../public/fashion-mnist/19-t-shirt-top.png', import.meta.url), label: 'T-shirt/top' },
  { url: new URL('../public/fashion-mnist/2-trouser.png', import.meta.url), label: 'Trouser' },
  { url: new URL('../public/fashion-mnist/1-pullover.png', import.meta.url), label: 'Pullover' },
  { url: new URL('../public/fashion-mnist/13-dress.png', import.meta.url), label: 'Dress' },
  { url: new URL('../public/fashion-mnist/6-coat.png', import.meta.url), label: 'Coat' },
  { url: new URL('../public/fashion-mnist/8-sandal.png', import.meta.url), label: 'Sandal' },
  { url: new URL('../public/fashion-mnist/4-shirt.png', import.meta.url), label: 'Shirt' },
  { url: new URL('../public/fashion-mnist/9-sneaker.png', import.meta.url), label: 'Sneaker' },
  { url: new URL('../public/fashion-mnist/18-bag.png', import.meta.url), label: 'Bag' },
  { url: new URL('../public/fashion-mnist/0-ankle-boot.png', import.meta.url), label: 'Ankle boot' },
];

/** A file's bytes: read from disk in Node (a file: URL), fetched in a browser. */
async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export interface Classified {
  url: URL;
  label: string;
  /** The three likeliest classes and their softmax scores, best first. */
  top: Array<{ label: string; score: number }>;
}

/** Loads the shipped LeNet-5 and classifies every picture in {@link IMAGES} in one batch. */
export async function classifyImages(): Promise<Classified[]> {
  const weights = shippedWeights('lenet5'); // what the weights were trained on: classes, input size, mean and std
  const net = await loadPretrained('lenet5', { shippedFiles: shippedWeightsFiles });
  const [h, w] = weights.inputSize;
  const pixels = new Float32Array(IMAGES.length * h * w);
  for (const [n, { url }] of IMAGES.entries()) {
    const image = await loadImage(await readBytes(url)); // decoded as RGB; the three channels are equal
    if (image.height !== h || image.width !== w)
      throw new Error(`${url.href}: ${image.height}x${image.width}, expected ${h}x${w}`);
    for (let i = 0; i < h * w; i++) pixels[n * h * w + i] = image.data[3 * i];
  }
  // The normalisation the weights were trained with: [0, 1] pixels, minus the mean, over the standard deviation.
  const x = tf.tidy(() =>
    tf.tensor4d(pixels, [IMAGES.length, h, w, 1]).div(255).sub(weights.mean[0]).div(weights.std[0]),
  );
  const { labels, scores } = net.predict(x, { topk: 3, classNames: weights.classes });
  x.dispose();
  net.dispose();
  return IMAGES.map(({ url, label }, n) => ({
    url,
    label,
    top: labels![n].map((l, k) => ({ label: l, score: scores[n][k] })),
  }));
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const weights = shippedWeights('lenet5');
  log(
    `lenet5, trained on ${weights.dataset}: input ${weights.inputSize.join('x')}, ${weights.numClasses} classes, test top-1 ${weights.top1}`,
  );
  const results = await classifyImages();
  for (const { url, label, top } of results) {
    const file = url.pathname.split('/').pop();
    const guesses = top.map((t) => `${t.label} ${t.score.toFixed(3)}`).join(', ');
    log(`${file}: ${top[0].label === label ? 'right' : 'WRONG'} (${guesses})`);
  }
  log(`${results.filter((r) => r.top[0].label === r.label).length} of ${results.length} right`);
}
