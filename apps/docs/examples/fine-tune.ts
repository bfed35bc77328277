// Fine-tuning with another number of classes: load a 10-class checkpoint, swap the classifier for a 3-class one
// (resetClassifier), and train only the new head while the backbone stays frozen.
import { setBackend, manualSeed, getModel, tf } from '@cnn/models-efficient';
import { SGD, crossEntropy } from '@cnn/train';

/** 12 images of 3 "classes": a bright square in the top-left, centre or bottom-right corner. */
function toyBatch(): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const n = 12;
  const data = new Float32Array(n * 32 * 32 * 3);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels.push(c);
    const at = [2, 12, 22][c];
    for (let y = at; y < at + 8; y++)
      for (let x = at; x < at + 8; x++) for (let ch = 0; ch < 3; ch++) data[((i * 32 + y) * 32 + x) * 3 + ch] = 2;
  }
  return { x: tf.tensor4d(data, [n, 32, 32, 3]), y: tf.tensor1d(labels, 'int32') };
}

export async function run(log: (line: string) => void): Promise<void> {
  await setBackend('wasm');

  // Stand-in for a downloaded checkpoint: the weights of a 10-class model.
  manualSeed(0);
  const pretrained = getModel('resnet20_cifar');
  const checkpoint = pretrained.saveWeights();
  pretrained.dispose();

  // 1. Build the architecture the checkpoint was saved from, load it, then swap the head.
  const net = getModel('resnet20_cifar');
  await net.loadWeights(checkpoint);
  net.resetClassifier(3);
  log(
    `classifier: Linear(${net.classifier.inFeatures}, ${net.classifier.outFeatures}), weight [${net.classifier.weight.shape.join(', ')}]`,
  );

  // 2. Train only the head: give the optimizer the head's parameters; eval mode keeps BatchNorm's statistics.
  const head = net.namedParameters().filter(([name]) => name.startsWith('fc.'));
  log(
    `trainable: ${head.map(([name]) => name).join(', ')} (${head.reduce((n, [, v]) => n + v.size, 0)} of ${net.numParameters()} parameters)`,
  );
  const opt = new SGD(head, { lr: 2, momentum: 0.9 });
  net.eval();
  const { x, y } = toyBatch();
  const conv1Before = net.stateDict().get('conv1.weight')!.clone();
  const losses: number[] = [];
  for (let step = 0; step < 10; step++) losses.push(opt.minimize(() => crossEntropy(net.call(x), y)));
  log(`loss: ${losses.map((l) => l.toFixed(3)).join(' -> ')}`);
  log(`loss went down: ${losses[losses.length - 1] < losses[0]}`);
  const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(net.stateDict().get('conv1.weight')!, conv1Before))).dataSync()[0]);
  log(`backbone unchanged (conv1.weight moved by ${moved})`);

  opt.dispose();
  tf.dispose([x, y, conv1Before]);
  net.dispose();
}
