// Where a training step's time goes (issue 15): per-kernel time of cnn's training step (`tf.profile` over a few
// steps, by kernel name: calls, total ms, share) and the time outside kernels (JavaScript: dispatch, the gradient
// tape, the optimizer's bookkeeping). Run it under `node --cpu-prof` for the JavaScript side, then
// `--summarize <file.cpuprofile>` prints the functions with the most self time.
//
//   node packages/train/bench/profile-step.mjs [--model resnet20_cifar] [--batch 64] [--steps 5] [--threads 1]
//   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/train/bench/profile-step.mjs --model lenet5
//   node packages/train/bench/profile-step.mjs --summarize /tmp/prof/CPU.*.cpuprofile
//   node packages/train/bench/profile-step.mjs --model resnet20_cifar --threads 2 --flag CNN_IGEMM=auto
// `--flag NAME=value` sets a tfjs flag (cnn's routes: CNN_IGEMM, CNN_WINOGRAD) after the warm-up steps, once the
// routes have registered their flags.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'lenet5' },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    summarize: { type: 'string' },
    top: { type: 'string', default: '30' },
    flag: { type: 'string', multiple: true, default: [] },
  },
});

if (values.summarize) {
  // Self time per function (sampled), heaviest first.
  const prof = JSON.parse(readFileSync(values.summarize, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [k, us] of rows)
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  process.exit(0);
}

const m = await import('@cnn/models-efficient');
const { SGD, crossEntropy } = await import('@cnn/train');
const { tf } = m;
await m.setThreads(Number(values.threads));
await m.setBackend('wasm');
const sizes = {
  lenet5: [28, 1, 10],
  resnet20_cifar: [32, 3, 10],
  resnet18_cifar: [32, 3, 10],
  mobilenet_v2: [96, 3, 1000],
};
const [size, channels, classes] = sizes[values.model] ?? [32, 3, 10];
const batch = Number(values.batch);
const net = m.getModel(values.model);
net.train();
const opt = new SGD(net, { lr: 0.01, momentum: 0.9 });
const x = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 1);
const y = tf.tensor1d(
  Array.from({ length: batch }, (_, i) => (i * 7919) % classes),
  'int32',
);
const step = () => opt.minimize(() => crossEntropy(net.call(x), y));
for (let i = 0; i < 2; i++) step();
for (const f of values.flag) {
  const [name, v] = f.split('=');
  tf.env().set(name, Number.isNaN(Number(v)) ? v : Number(v));
}
const steps = Number(values.steps);
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const plain = (performance.now() - t0) / steps;
const prof = await tf.profile(() => {
  for (let i = 0; i < steps; i++) step();
});
const by = new Map();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? { calls: 0, ms: 0 };
  e.calls += 1;
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  by.set(k.name, e);
}
const kernelMs = [...by.values()].reduce((a, b) => a + b.ms, 0) / steps;
console.log(
  `${values.model} batch ${batch}, ${values.threads} thread(s): step ${plain.toFixed(1)} ms unprofiled; ${prof.kernels.length / steps} kernel calls per step, ${kernelMs.toFixed(1)} ms in kernels per step (profiled)`,
);
console.log('kernel                          calls/step   ms/step   share of kernel time');
for (const [name, e] of [...by].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(
    `${name.padEnd(32)}${String(e.calls / steps).padStart(10)}${(e.ms / steps).toFixed(2).padStart(10)}${((100 * e.ms) / steps / kernelMs).toFixed(1).padStart(9)}%`,
  );
}
