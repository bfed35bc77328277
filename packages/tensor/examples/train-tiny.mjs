// Quick-start demo of @cnn/tensor: trains a tiny conv net (grouped, dilated and depthwise
// convolutions, all differentiated by cnn's wasm kernels) on synthetic bar images, and prints the
// loss falling. Run it with `npm run demo` from the repository root.
import { tf, setBackend, backendInfo } from '@cnn/tensor';
import { tinyNet, forward, barsDataset } from './tiny-net.mjs';

const steps = Number(process.env.STEPS ?? 60);
await setBackend(process.env.BACKEND ?? 'wasm');
console.log(`backend: ${backendInfo().device}`);

const { x, y } = barsDataset(96);
const params = tinyNet(3);
const opt = tf.train.adam(0.02);
const lossOf = () => tf.losses.softmaxCrossEntropy(y, forward(params, x));

const t0 = performance.now();
let first = 0;
let last = 0;
for (let step = 1; step <= steps; step++) {
  const loss = opt.minimize(lossOf, true);
  last = loss.dataSync()[0];
  loss.dispose();
  if (step === 1) first = last;
  if (step === 1 || step % 10 === 0) console.log(`step ${String(step).padStart(3)}  loss ${last.toFixed(4)}`);
}
const acc = tf.tidy(() => tf.mean(tf.equal(tf.argMax(forward(params, x), 1), tf.argMax(y, 1))).dataSync()[0]);
console.log(
  `loss ${first.toFixed(4)} -> ${last.toFixed(4)} in ${steps} steps (${((performance.now() - t0) / 1000).toFixed(1)} s); training accuracy ${(acc * 100).toFixed(1)}%`,
);
if (!(last < first * 0.5)) {
  console.error('the loss did not fall by half: something is wrong');
  process.exit(1);
}
