// Batch-1 eval forward of zoo models on 1 and 2 threads: best and median time, and where the time goes
// (tfjs's per-kernel timing, summed by kernel name). Needs the model packages built (npx turbo run build).
//
//   node packages/tensor/bench/profile-models.mjs [--models mobilenet_v2,resnet18,resnet50] [--winograd on|off|auto]
//     [--igemm small|on|off|auto] [--reps 8] [--rounds 2] [--batch 1] [--profile]
// `--winograd off --igemm off` runs every forward convolution and element-wise op on tfjs's kernels (as before #14).
//
// Each model alternates 1 and 2 threads over rounds (setThreads re-creates the backend, so the model is
// rebuilt on it). The machine is shared: compare within a run, read best times.
import { setBackend, setThreads, tf } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const ids = arg('models', 'mobilenet_v2,resnet18,resnet50').split(',');
const winograd = arg('winograd', 'auto');
const igemm = arg('igemm', 'small');
const reps = Number(arg('reps', 8));
const rounds = Number(arg('rounds', 2));
const batch = Number(arg('batch', 1));
const profile = process.argv.includes('--profile');

async function measure(id, threads) {
  await setThreads(threads);
  await setBackend('wasm');
  tf.env().set('CNN_WINOGRAD', winograd);
  tf.env().set('CNN_IGEMM', igemm);
  const { getModel } = await import('@cnn/models-efficient').catch(() => ({}));
  let net;
  try {
    net = getModel(id);
  } catch {
    net = (await import('@cnn/models-classic')).getModel(id);
  }
  net.eval();
  const x = tf.randomNormal([batch, 224, 224, 3]);
  const fwd = () => tf.tidy(() => net.call(x));
  for (let i = 0; i < 2; i++) fwd().dispose();
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = fwd();
    ms.push(performance.now() - t0);
    y.dispose();
  }
  ms.sort((a, b) => a - b);
  let kernels;
  let calls;
  if (profile) {
    const p = await tf.profile(() => fwd());
    kernels = {};
    calls = {};
    for (const k of p.kernels) {
      const t = await k.kernelTimeMs;
      kernels[k.name] = (kernels[k.name] ?? 0) + (typeof t === 'number' ? t : 0);
      calls[k.name] = (calls[k.name] ?? 0) + 1;
    }
  }
  x.dispose();
  net.dispose?.();
  return { best: ms[0], median: ms[Math.floor(ms.length / 2)], kernels, calls };
}

const rows = [];
for (const id of ids) {
  const res = { 1: { best: Infinity }, 2: { best: Infinity } };
  for (let r = 0; r < rounds; r++) {
    for (const t of [1, 2]) {
      const m = await measure(id, t);
      if (m.best < res[t].best) res[t] = m;
    }
  }
  const row = {
    model: id,
    batch,
    winograd,
    igemm,
    '1 thread best': +res[1].best.toFixed(1),
    '1 thread median': +res[1].median.toFixed(1),
    '2 threads best': +res[2].best.toFixed(1),
    '2 threads median': +res[2].median.toFixed(1),
    speed_up_best: +(res[1].best / res[2].best).toFixed(2),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  if (profile) {
    for (const t of [1, 2]) {
      const { kernels, calls } = res[t];
      const top = Object.entries(kernels)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([k, v]) => `${k} ${v.toFixed(1)} (${calls[k]}x)`);
      const sum = Object.values(kernels).reduce((a, b) => a + b, 0);
      const n = Object.values(calls).reduce((a, b) => a + b, 0);
      // What the forward's best time spends outside kernels: JavaScript, dispatch, tensor bookkeeping.
      console.log(
        `  ${id} ${t} thread(s): ${n} kernel calls, ${sum.toFixed(1)} ms in kernels (profiled pass), best forward ${res[t].best.toFixed(1)} ms`,
      );
      console.log(`  ${id} ${t} thread(s), ms by kernel (calls): ${top.join(', ')}`);
    }
  }
}
console.table(rows);
process.exit(0);
