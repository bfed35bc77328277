// Fused inference, measured: the live tensor memory of a model unfused, with its folded inference tensors cached
// (eval mode's default), and folded in place (`fuse({ inPlace: true })`); and the forward time at batch 1 of the
// fused and the unfused eval path, in alternating rounds (best and median iteration), at 1 and 2 threads.
//
//   node bench/fuse.mjs memory [ids]            default vgg19_bn,resnet50
//   node bench/fuse.mjs time [ids] [--size 224] [--rounds 4] [--iters 5]   default resnet18,mobilenet_v2,resnet50
import { tf, setBackend, setThreads, backendInfo } from '@cnn/tensor';
import { manualSeed } from '@cnn/layers';
import { getModel } from '../dist/index.js';

const [mode = 'memory', ...rest] = process.argv.slice(2);
const flag = (name, def) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? Number(rest[i + 1]) : def;
};
const idsArg = rest.find((a, i) => !a.startsWith('--') && !rest[i - 1]?.startsWith('--'));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function memory(ids) {
  await setBackend('wasm');
  console.log('| model | weights (unfused) | + folded cache (eval default) | in place | in place vs cached |');
  console.log('|---|---:|---:|---:|---:|');
  for (const id of ids) {
    manualSeed(0);
    const base = tf.memory().numBytes;
    const model = getModel(id);
    const weights = tf.memory().numBytes - base;
    model.fuse();
    const cached = tf.memory().numBytes - base;
    model.fuse({ inPlace: true });
    const inPlace = tf.memory().numBytes - base;
    const x = tf.randomNormal([1, 64, 64, 3]);
    tf.dispose([model.call(x), x]);
    if (tf.memory().numBytes - base !== inPlace)
      throw new Error(`${id}: a call after the in-place fold allocated state`);
    console.log(
      `| ${id} | ${mb(weights)} | ${mb(cached)} | ${mb(inPlace)} | ${(100 * (1 - inPlace / cached)).toFixed(0)} % less |`,
    );
    model.dispose();
  }
}

async function time(ids) {
  const size = flag('size', 224);
  const rounds = flag('rounds', 4);
  const iters = flag('iters', 5);
  for (const threads of [1, 2]) {
    await setThreads(threads);
    await setBackend('wasm');
    console.log(`\n${backendInfo().device}; batch 1, ${size}x${size}; ${rounds} alternating rounds of ${iters}`);
    console.log('| model | fused best | unfused best | best ratio | fused median | unfused median |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const id of ids) {
      manualSeed(0);
      const model = getModel(id).eval();
      const x = tf.randomNormal([1, size, size, 3]);
      const runs = { fused: [], unfused: [] };
      const once = () => {
        const t0 = performance.now();
        tf.tidy(() => model.call(x).dataSync());
        return performance.now() - t0;
      };
      for (let r = 0; r < rounds; r++) {
        for (const m of r % 2 ? ['unfused', 'fused'] : ['fused', 'unfused']) {
          if (m === 'fused') model.fuse();
          else model.unfuse();
          once(); // warm-up (and the fold)
          for (let i = 0; i < iters; i++) runs[m].push(once());
        }
      }
      const best = (xs) => Math.min(...xs);
      const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const f = runs.fused;
      const u = runs.unfused;
      console.log(
        `| ${id} | ${best(f).toFixed(1)} | ${best(u).toFixed(1)} | ${(best(u) / best(f)).toFixed(2)}x | ${med(f).toFixed(1)} | ${med(u).toFixed(1)} |`,
      );
      x.dispose();
      model.dispose();
    }
  }
}

if (mode === 'memory') await memory((idsArg ?? 'vgg19_bn,resnet50').split(','));
else if (mode === 'time') await time((idsArg ?? 'resnet18,mobilenet_v2,resnet50').split(','));
else throw new Error(`usage: node bench/fuse.mjs memory|time [ids] [--size n] [--rounds n] [--iters n]`);
