// Train LeNet-5 on the Fashion-MNIST sample that ships inside @cnn/datasets (3,000 training and 1,000 test images),
// with the Trainer of @cnn/train on the active backend (the page's: wasm, or WebGPU when chosen). The page's Train
// button calls trainLeNet() with its settings; run() below is the same loop at tiny settings (a few hundred images,
// one epoch) so that it finishes in a second.
import { tf, setBackend, backendInfo } from '@cnn/tensor';
import { manualSeed, type Module } from '@cnn/layers';
import { getModel, type LeNet5 } from '@cnn/models-classic';
import { FashionMNIST, DataLoader, Compose, ToTensor, Normalize, type Dataset, type Sample } from '@cnn/datasets';
// The sample's file URLs: importing them makes the bundler emit the files (Node reads them without it).
import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample';
import { Trainer, Adam, type EpochRecord, type EvaluateResult, type StepInfo } from '@cnn/train';

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Use only this many training / test images (spread over the classes); all of them when omitted. */
  trainImages?: number;
  testImages?: number;
  seed?: number;
}

/** The page's defaults: about 15-25 s on one wasm thread, above 0.75 test accuracy. */
export const DEFAULTS: TrainSettings = { epochs: 4, batchSize: 32, lr: 2e-3, seed: 0 };

export interface TrainEvents {
  onStep?: (step: StepInfo) => void | Promise<void>;
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
}

export interface TrainResult {
  model: LeNet5;
  history: EpochRecord[];
  evaluation: EvaluateResult;
  test: Dataset;
  classes: readonly string[];
  seconds: number;
}

/** Every k-th item of a dataset, so that a few hundred images still cover all ten classes. */
function spread(dataset: Dataset, count?: number): Dataset {
  if (count === undefined || count >= dataset.length) return dataset;
  const step = dataset.length / count;
  const pick = Array.from({ length: count }, (_, i) => Math.floor(i * step));
  return { length: count, classes: dataset.classes, stats: dataset.stats, get: (i, rng) => dataset.get(pick[i], rng) };
}

/** Loads the sample, builds LeNet-5 (28x28 input), trains it and evaluates it on the test images. */
export async function trainLeNet(settings: TrainSettings = DEFAULTS, events: TrainEvents = {}): Promise<TrainResult> {
  const { mean, std } = FashionMNIST.STATS;
  const transform = new Compose([new ToTensor(), new Normalize(mean, std)]);
  const train = spread(await FashionMNIST.sample({ transform, files: fashionMnistSampleFiles }), settings.trainImages);
  const test = spread(
    await FashionMNIST.sample({ train: false, transform, files: fashionMnistSampleFiles }),
    settings.testImages,
  );

  manualSeed(settings.seed ?? 0);
  const model = getModel('lenet5', { inputSize: 28, numClasses: 10 }) as LeNet5;
  const optimizer = new Adam(model, { lr: settings.lr });
  const trainer = new Trainer({
    model,
    optimizer,
    numClasses: 10,
    classNames: [...train.classes],
    log: 'quiet',
    callbacks: { onStepEnd: events.onStep, onEpochEnd: events.onEpoch },
  });
  const start = performance.now();
  const trainLoader = new DataLoader(train, { batchSize: settings.batchSize, shuffle: true, seed: settings.seed ?? 0 });
  const testLoader = new DataLoader(test, { batchSize: 250 });
  const history = await trainer.fit(trainLoader, { epochs: settings.epochs, valLoader: testLoader });
  const evaluation = await trainer.evaluate(testLoader);
  optimizer.dispose();
  return { model, history, evaluation, test, classes: train.classes, seconds: (performance.now() - start) / 1000 };
}

/** A test image as a [1, 28, 28, 1] tensor (normalised, as the model saw it) with its label. */
async function imageTensor(test: Dataset, index: number): Promise<{ x: tf.Tensor4D; label: number }> {
  const { image, label } = (await test.get(index)) as Sample;
  return { x: tf.tensor4d(Float32Array.from(image.data), [1, image.height, image.width, image.channels]), label };
}

/** The model's top-1 class for test images `indices`. */
export async function predict(
  model: Module,
  test: Dataset,
  indices: number[],
): Promise<Array<{ index: number; label: number; predicted: number }>> {
  model.eval();
  const out = [];
  for (const index of indices) {
    const { x, label } = await imageTensor(test, index);
    // `await data()`, not dataSync(): on WebGPU a synchronous read is slow, and wrong on some adapters.
    const top = tf.tidy(() => tf.argMax(model.call(x) as tf.Tensor2D, 1));
    const predicted = (await top.data())[0];
    tf.dispose([x, top]);
    out.push({ index, label, predicted });
  }
  return out;
}

/**
 * What the first convolution learned: its six 5x5 filters, and the six 28x28 feature maps (after tanh) it makes of
 * test image `index`. Plain arrays, ready to draw.
 */
export async function firstLayer(
  model: LeNet5,
  test: Dataset,
  index: number,
): Promise<{ filters: number[][][]; maps: number[][][] }> {
  model.eval();
  const { x } = await imageTensor(test, index);
  const conv = model.features.at(0);
  const act = model.features.at(1);
  const [w, m] = tf.tidy(() => {
    const weight = (conv as unknown as { weight: tf.Tensor4D }).weight; // [5, 5, 1, 6]
    return [
      tf.squeeze(tf.transpose(weight, [3, 0, 1, 2]), [3]),
      tf.transpose(tf.squeeze(act.call(conv.call(x)) as tf.Tensor4D, [0]), [2, 0, 1]),
    ];
  });
  const result = { filters: (await w.array()) as number[][][], maps: (await m.array()) as number[][][] };
  tf.dispose([x, w, m]);
  return result;
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');
  const info = backendInfo();
  log(`backend: ${info.backend}, SIMD ${info.simd}, threads ${info.threads}`);
  const losses: number[] = [];
  const settings: TrainSettings = { epochs: 1, batchSize: 32, lr: 2e-3, trainImages: 320, testImages: 200, seed: 0 };
  const { model, history, evaluation, test, seconds } = await trainLeNet(settings, {
    onStep: (s) => void losses.push(s.loss),
  });
  log(
    `lenet5: ${model.numParameters().toLocaleString('en-US')} parameters, trained on ${history[0].images} images in ${history[0].steps} steps`,
  );
  const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  log(`loss over the first 3 steps ${first.toFixed(3)}, over the last 3 ${last.toFixed(3)}: falling ${last < first}`);
  log(
    `test: ${evaluation.total} images, top-1 ${evaluation.top1.toFixed(3)}, confusion matrix ${evaluation.matrix.length}x${evaluation.matrix[0].length}`,
  );
  const { filters, maps } = await firstLayer(model, test, 0);
  log(
    `conv1: ${filters.length} filters of ${filters[0].length}x${filters[0][0].length}, feature maps ${maps.length}x${maps[0].length}x${maps[0][0].length}`,
  );
  const predictions = await predict(model, test, [0, 1, 2, 3]);
  log(
    `predictions for 4 test images: ${predictions.length}, in ${seconds < 60 ? 'under a minute' : `${seconds.toFixed(0)} s`}`,
  );
  model.dispose();
}
