// Model benchmark of @cnn/models-classic: forward latency at batch 1 and training throughput at batch 32 on the
// wasm backend, with the pure-JS cpu backend measured in the same run as the baseline.
//
//   npm run bench -w @cnn/models-classic            (about five minutes: the cpu backend is slow)
//   npm run bench -w @cnn/models-classic -- --quick wasm only
import { tf, setBackend, backendInfo } from '@cnn/tensor';
import { manualSeed } from '@cnn/layers';
import { getModel } from '../dist/index.js';

const quick = process.argv.includes('--quick');

const FORWARD = [
  ['lenet5', [28, 28, 1]],
  ['resnet20_cifar', [32, 32, 3]],
  ['resnet18_cifar', [32, 32, 3]],
  ['resnet50', [224, 224, 3]],
  ['resnext50_32x4d', [224, 224, 3]],
];
const TRAIN = [
  ['lenet5', [28, 28, 1]],
  ['resnet20_cifar', [32, 32, 3]],
  ['resnet18_cifar', [32, 32, 3]],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function forwardMs(model, shape, reps) {
  const x = tf.randomNormal([1, ...shape]);
  model.eval();
  const run = () => {
    const t0 = performance.now();
    const y = model.call(x);
    y.dataSync();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  run();
  const ms = median(Array.from({ length: reps }, run));
  x.dispose();
  return ms;
}

function trainImagesPerSecond(model, shape, steps, batch) {
  const x = tf.randomNormal([batch, ...shape]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const opt = tf.train.momentum(0.01, 0.9);
  model.train();
  const step = () => {
    const t0 = performance.now();
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.call(x)), true, model.parameters());
    loss.dataSync();
    loss.dispose();
    return performance.now() - t0;
  };
  step();
  const ms = median(Array.from({ length: steps }, step));
  opt.dispose();
  tf.dispose([x, y]);
  return (batch * 1000) / ms;
}

async function measure(backend) {
  await setBackend(backend);
  const slow = backend === 'cpu';
  const fwd = {};
  for (const [id, shape] of FORWARD) {
    manualSeed(0);
    const m = getModel(id, { numClasses: 10 });
    fwd[id] = forwardMs(m, shape, slow ? 1 : 7);
    m.dispose();
    process.stderr.write('.');
  }
  const train = {};
  for (const [id, shape] of TRAIN) {
    // tfjs's cpu Conv2DBackpropFilter runs at about 0.01 GFLOP/s: one ResNet-18 step takes many minutes there.
    if (slow && id === 'resnet18_cifar') continue;
    manualSeed(0);
    const m = getModel(id, { numClasses: 10 });
    // The cpu backend trains at batch 4 (one step of ResNet-18 at batch 32 takes minutes there); images/s hardly
    // depends on the batch on it.
    train[id] = trainImagesPerSecond(m, shape, slow ? 1 : 5, slow ? 4 : 32);
    m.dispose();
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return { fwd, train, info: backendInfo() };
}

const wasm = await measure('wasm');
const cpu = quick ? null : await measure('cpu');

console.log(`@cnn/models-classic benchmark: ${wasm.info.device}; node ${process.version}\n`);
console.log('forward, batch 1        input         wasm ms   cpu ms   wasm speed-up');
for (const [id, shape] of FORWARD) {
  const w = wasm.fwd[id];
  const c = cpu?.fwd[id];
  console.log(
    `${id.padEnd(22)}  ${shape.join('x').padEnd(12)}  ${w.toFixed(1).padStart(7)}  ${c ? c.toFixed(0).padStart(7) : '      -'}   ${c ? `${(c / w).toFixed(1)}x` : '-'}`,
  );
}
console.log('\ntraining (wasm batch 32, cpu batch 4)  input   wasm img/s  cpu img/s  wasm speed-up');
for (const [id, shape] of TRAIN) {
  const w = wasm.train[id];
  const c = cpu?.train[id];
  console.log(
    `${id.padEnd(22)}  ${shape.join('x').padEnd(12)}  ${w.toFixed(1).padStart(10)}  ${c ? c.toFixed(2).padStart(9) : '        -'}  ${c ? `${(w / c).toFixed(1)}x` : '-'}`,
  );
}
const ratio = wasm.fwd.resnext50_32x4d / wasm.fwd.resnet50;
console.log(
  `\nTarget: resnext50_32x4d forward <= 1.5x resnet50's (MACs 4.23 G vs 4.09 G): ${ratio.toFixed(2)}x ${ratio <= 1.5 ? 'PASS' : 'FAIL'}`,
);
