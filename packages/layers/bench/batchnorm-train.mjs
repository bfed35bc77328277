// Training-mode BatchNorm: the written-out gradient of F.batchNormTrain (what BatchNorm2d runs) against the same
// normalisation traced through ops (F.batchMoments + F.batchNorm, what BatchNorm2d ran before), in one process.
//
//   npm run build && npm run bench -w @cnn/layers          (about a minute)
//
// A ResNet-style stack (conv 3x3 / BatchNorm / ReLU, 9 blocks over 3 widths) takes SGD steps with each BatchNorm
// kind, alternating; prints the live tensor bytes at the loss (what the tape holds for the backward pass), the
// median step time, and the ratios. Target: the written-out gradient holds at most 0.6x the traced path's bytes.
import { tf, setBackend, backendInfo } from '@cnn/tensor';
import { F, Module, Conv2d, BatchNorm2d, Linear, manualSeed } from '../dist/index.js';

/** BatchNorm2d's training step as it was: statistics and normalisation traced through tfjs ops. */
class TracedBatchNorm2d extends BatchNorm2d {
  forward(x) {
    if (!this.training) return super.forward(x);
    const { mean, variance, unbiased } = F.batchMoments(x);
    const m = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
    return F.batchNorm(x, { mean, variance, weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

class Net extends Module {
  constructor(Norm) {
    super();
    this.layers = [];
    let cin = 3;
    for (const [i, width] of [16, 16, 16, 32, 32, 32, 64, 64, 64].entries()) {
      const conv = this.registerModule(
        `conv${i}`,
        new Conv2d(cin, width, 3, { stride: i % 3 === 0 && i > 0 ? 2 : 1, padding: 1, bias: false }),
      );
      const bn = this.registerModule(`bn${i}`, new Norm(width));
      this.layers.push([conv, bn]);
      cin = width;
    }
    this.fc = this.registerModule('fc', new Linear(cin, 10));
  }
  forward(x) {
    let h = x;
    for (const [conv, bn] of this.layers) h = tf.relu(bn.call(conv.call(h)));
    return this.fc.call(F.globalAvgPool(h));
  }
}

function measure(Norm, x, y, steps) {
  manualSeed(0);
  const net = new Net(Norm);
  net.train();
  const opt = tf.train.momentum(0.01, 0.9);
  let peak = 0;
  const ms = [];
  for (let i = 0; i < steps + 1; i++) {
    const t0 = performance.now();
    const loss = opt.minimize(() => {
      const l = tf.losses.softmaxCrossEntropy(y, net.call(x));
      peak = Math.max(peak, tf.memory().numBytes);
      return l;
    }, true);
    loss.dataSync();
    loss.dispose();
    if (i > 0) ms.push(performance.now() - t0); // the first step compiles and allocates
  }
  opt.dispose();
  net.dispose();
  ms.sort((a, b) => a - b);
  return { bytes: peak, ms: ms[Math.floor(ms.length / 2)] };
}

await setBackend('wasm');
const [batch, side, steps] = process.argv.includes('--quick') ? [16, 32, 3] : [32, 32, 5];
const x = tf.randomNormal([batch, side, side, 3], 0, 1, 'float32', 1);
const y = tf.oneHot(
  tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  ),
  10,
);
const rows = { traced: { bytes: Infinity, ms: Infinity }, written: { bytes: Infinity, ms: Infinity } };
for (let round = 0; round < 2; round++) {
  for (const [name, Norm] of [
    ['traced', TracedBatchNorm2d],
    ['written', BatchNorm2d],
  ]) {
    const r = measure(Norm, x, y, steps);
    rows[name] = { bytes: Math.min(rows[name].bytes, r.bytes), ms: Math.min(rows[name].ms, r.ms) };
  }
}
tf.dispose([x, y]);
console.log(
  `@cnn/layers BatchNorm training benchmark: ${backendInfo().device}; 9 conv/BN/ReLU blocks, ${side}x${side}, batch ${batch}`,
);
console.log(`${'BatchNorm gradient'.padEnd(30)} ${'live MB at loss'.padStart(15)} ${'step ms'.padStart(9)}`);
for (const [name, r] of Object.entries(rows))
  console.log(
    `${(name === 'traced' ? 'traced (ops)' : 'written out (F.batchNormTrain)').padEnd(30)} ${(r.bytes / 1e6).toFixed(1).padStart(15)} ${r.ms.toFixed(1).padStart(9)}`,
  );
const bytes = rows.written.bytes / rows.traced.bytes;
const time = rows.written.ms / rows.traced.ms;
console.log(`written / traced: bytes ${bytes.toFixed(2)}x, time ${time.toFixed(2)}x`);
console.log(`Target: written-out gradient holds <= 0.6x the traced bytes: ${bytes <= 0.6 ? 'PASS' : 'FAIL'}`);
