// Winograd F(2x2, 3x3) against XNNPACK's direct convolution (tfjs's FusedConv2D) on the 3x3 stride-1
// convolutions of the zoo, at batch 1 and 32, on 1 and 2 threads; and each path's error against float64.
//
//   npm run build -w @cnn/tensor && node packages/tensor/bench/winograd.mjs [--quick] [--threads 1,2]
//
// Each case is `tf.fused.conv2d` with pad 1, a bias and ReLU (what a folded model calls), timed with the
// CNN_WINOGRAD flag 'on' and 'off' in alternating rounds; each column keeps its quickest round's median
// (other processes on a shared machine only ever add time). Read the ratio column: the machine is noisy.
// ResNeXt's 3x3 convolutions are grouped and MobileNet's are depthwise: neither reaches this kernel.
import { tf, setBackend, setThreads } from '../dist/index.js';
import { parseFlags } from './flags.mjs';

const flags = parseFlags(
  process.argv.slice(2),
  { quick: false, threads: '1,2', only: '' },
  'node packages/tensor/bench/winograd.mjs [--quick] [--threads 1,2] [--only <label text>]',
);
const quick = flags.quick;
const threadList = flags.threads.split(',').map(Number);
const only = flags.only;

// [label, h(=w), c, co, batches]
const SHAPES = [
  ['resnet 56x56x64', 56, 64, 64, [1, 32]],
  ['resnet 28x28x128', 28, 128, 128, [1, 32]],
  ['resnet 14x14x256', 14, 256, 256, [1, 32]],
  ['resnet 7x7x512', 7, 512, 512, [1, 32]],
  ['vgg 224x224x3>64', 224, 3, 64, [1]],
  ['vgg 224x224x64', 224, 64, 64, [1]],
  ['vgg 112x112x128', 112, 128, 128, [1]],
  ['vgg 56x56x256', 56, 256, 256, [1]],
  ['vgg 28x28x512', 28, 512, 512, [1]],
  ['vgg 14x14x512', 14, 512, 512, [1]],
  ['small 56x56x16', 56, 16, 16, [1]],
  ['small 14x14x16', 14, 16, 16, [1]],
  ['small 7x7x32', 7, 32, 32, [1]],
  ['small 7x7x64', 7, 64, 64, [1]],
  ['small 28x28x24', 28, 24, 24, [1]],
  ['small 4x4x256', 4, 256, 256, [1]],
  ['small 28x28x32', 28, 32, 32, [1]],
  ['small 8x8x8', 8, 8, 8, [1]],
];

function fill(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37 + seed) * 0.5;
  return tf.tensor(v, shape);
}

function medianMs(fn, reps) {
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = fn();
    ms.push(performance.now() - t0);
    y.dispose();
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

const rows = [];
for (const threads of threadList) {
  await setThreads(threads);
  await setBackend('wasm');
  for (const [label, hw, c, co, batches] of SHAPES) {
    if (!label.includes(only)) continue;
    for (const n of batches) {
      const macs = n * hw * hw * c * co * 9;
      const x = fill([n, hw, hw, c], 1);
      const filter = tf.tidy(() => fill([3, 3, c, co], 2).mul(1 / Math.sqrt(9 * c)));
      const bias = fill([co], 3);
      const run = () => tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
      const reps = Math.max(3, Math.min(quick ? 5 : 15, Math.round(2e9 / macs)));
      const best = { on: Infinity, off: Infinity };
      for (const mode of ['on', 'off']) {
        tf.env().set('CNN_WINOGRAD', mode);
        run().dispose(); // warm-up (and the filter transform, cached from then on)
      }
      for (let round = 0; round < (quick ? 2 : 3); round++) {
        for (const mode of ['on', 'off']) {
          tf.env().set('CNN_WINOGRAD', mode);
          best[mode] = Math.min(best[mode], medianMs(run, reps));
        }
      }
      tf.env().set('CNN_WINOGRAD', 'auto');
      tf.dispose([x, filter, bias]);
      const row = {
        shape: label,
        batch: n,
        threads,
        'winograd ms': +best.on.toFixed(3),
        'direct ms': +best.off.toFixed(3),
        'direct / winograd': +(best.off / best.on).toFixed(2),
        'winograd GFLOP/s*': +((2 * macs) / best.on / 1e6).toFixed(1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
console.table(rows);
console.log("* GFLOP/s of the direct convolution's FLOPs (2 per multiply-add) in Winograd's time.");
process.exit(0);
