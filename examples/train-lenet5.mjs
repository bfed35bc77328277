// The quick start's main job: trains LeNet-5 on the Fashion-MNIST sample that ships inside @cnn/datasets (3,000
// training and 1,000 test images, no network), on the wasm backend, and prints the loss per epoch and the test
// accuracy. Run it with `npm run demo` from the repository root.
//
//   EPOCHS=10 BACKEND=wasm node examples/train-lenet5.mjs
import { tf, setBackend, backendInfo } from '@cnn/tensor';
import { FashionMNIST, DataLoader, Compose, ToTensor, Normalize } from '@cnn/datasets';
import { manualSeed } from '@cnn/layers';
import { lenet5 } from '@cnn/models-classic';

const epochs = Number(process.env.EPOCHS ?? 10);
await setBackend(process.env.BACKEND ?? 'wasm');
console.log(`backend: ${backendInfo().device}`);

const { mean, std } = FashionMNIST.STATS;
const transform = new Compose([new ToTensor(), new Normalize(mean, std)]);
const train = await FashionMNIST.sample({ train: true, transform });
const test = await FashionMNIST.sample({ train: false, transform });
console.log(
  `Fashion-MNIST sample: ${train.length} training and ${test.length} test images, classes: ${train.classes.join(', ')}`,
);

manualSeed(0);
const net = lenet5({ numClasses: 10 });
const optimizer = tf.train.adam(2e-3);
const trainLoader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 1 });
const testLoader = new DataLoader(test, { batchSize: 250 });

async function evaluate() {
  net.eval();
  let correct = 0;
  for await (const batch of testLoader) {
    correct += tf.tidy(
      () => tf.sum(tf.cast(tf.equal(tf.argMax(net.call(batch.x), 1), batch.y), 'int32')).dataSync()[0],
    );
    batch.dispose();
  }
  return correct / test.length;
}

const t0 = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  net.train();
  let sum = 0;
  let batches = 0;
  for await (const batch of trainLoader) {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, 10), net.call(batch.x)),
      true,
      net.parameters(),
    );
    sum += loss.dataSync()[0];
    batches++;
    loss.dispose();
    batch.dispose();
  }
  const acc = await evaluate();
  console.log(
    `epoch ${epoch}/${epochs}  train loss ${(sum / batches).toFixed(4)}  test accuracy ${acc.toFixed(4)}  (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  if (epoch === epochs) {
    console.log(`test accuracy: ${acc.toFixed(4)}`);
    if (acc < 0.8) {
      console.error('expected at least 0.80 on the sample: something is wrong');
      process.exitCode = 1;
    }
  }
}
optimizer.dispose();
net.dispose();
