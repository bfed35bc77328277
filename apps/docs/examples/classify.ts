// Getting started: an ImageNet model from the registry, run on a drawn picture.
// The weights are RANDOM (seeded): the classes it picks mean nothing until trained weights are loaded
// (torchvision's files load with loadWeights; see the page).
import { setBackend, listModels, getCard, getModel, manualSeed, tf } from '@cnn/models-efficient';

/** A 224x224 RGB test picture (a sky gradient and a sun), as 0..255 values in NHWC order. */
function makePicture(h: number, w: number): tf.Tensor4D {
  const rgb = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sun = Math.hypot(x - 0.7 * w, y - 0.3 * h) < 0.12 * w;
      const i = (y * w + x) * 3;
      rgb[i] = sun ? 255 : 40 + (160 * y) / h;
      rgb[i + 1] = sun ? 220 : 90 + (100 * y) / h;
      rgb[i + 2] = sun ? 60 : 220 - (120 * y) / h;
    }
  }
  return tf.tensor4d(rgb, [1, h, w, 3]);
}

/** ImageNet normalisation, as torchvision's transforms do it: (x / 255 - mean) / std per channel. */
function normalize(pixels: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => pixels.div(255).sub([0.485, 0.456, 0.406]).div([0.229, 0.224, 0.225]));
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  log(`${listModels().length} models in the zoo, e.g. ${listModels('mobilenet_v3*').join(', ')}`);

  const id = 'mobilenet_v3_small';
  const card = getCard(id);
  log(
    `${id}: ${card.params.toLocaleString('en-US')} parameters, ${(card.macs / 1e6).toFixed(1)}M MACs at ${card.inputSize.join('x')}`,
  );

  manualSeed(0); // the same random weights every time, in Node and in the browser
  const net = getModel(id); // random weights; trained ones: await net.loadWeights(fileOrUrl)
  const [h, w] = card.inputSize;
  const pixels = makePicture(h, w);
  const x = normalize(pixels);

  const { indices, scores } = net.predict(x, { topk: 5 });
  log(`input [${x.shape.join(', ')}] -> top-5 classes [${indices[0].join(', ')}]`);
  log(`scores [${scores[0].map((s) => s.toFixed(5)).join(', ')}] (random weights: close to 1/${card.numClasses})`);

  tf.dispose([pixels, x]);
  net.dispose();
}
