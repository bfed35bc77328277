// Training speed against PyTorch on the same cores (issue 15, "How it is measured"): cnn's training step and
// PyTorch's for lenet5, resnet20_cifar, resnet18_cifar and mobilenet_v2, at 1 and 2 threads, in one command.
// A benchmark, not a test: nothing here runs in `npm test`.
//
//   npm run build && npm run bench:peers -w @cnn/train                    every model, 1 and 2 threads, 2 rounds
//   node packages/train/bench/train-peers.mjs --models lenet5,resnet20_cifar --threads 1,2 --rounds 3
//   node packages/train/bench/train-peers.mjs --quick                     lenet5 and resnet20_cifar, fewer steps
//   node packages/train/bench/train-peers.mjs --baseline /tmp/old          also time an older build of cnn
//
// `--baseline DIR`: DIR is another checkout of the repository with its packages built (tensor, layers, train, ...)
// and a node_modules that resolves `@cnn/*` to DIR/packages; a copy of this script is written to
// DIR/packages/train/bench/ and run from there as a third runner ('before'), in the same alternating rounds, and
// the table adds its images/s and cnn's speed-up over it.
//
// One step, both sides: forward in training mode, cross-entropy, backward, SGD with momentum 0.9, the loss read
// back as a number. cnn: `SGD.minimize` of @cnn/train on the model from @cnn/models-efficient (NHWC, wasm);
// PyTorch: torch_step.py (NCHW eager, `torch.set_num_threads(N)`, `set_num_interop_threads(1)`,
// `OPENBLAS_NUM_THREADS=N`) through Debian's /usr/bin/python3, when it imports torch (else only cnn's numbers).
// Data is random and made before the timed loop; warm-up steps are excluded. Every (runner, model, threads) runs in
// its own process, rounds alternate the runners, and the tables keep each runner's best step (median beside).
// Effective GFLOP/s = 3 x 2 x MACs per image x images/s (forward, input gradient, filter gradient); the 1-thread
// matmul ceiling is tfjs's 1024^3 matMul on cnn's wasm backend, measured in every round of the same command.
// So is the memory bandwidth of a streaming pass at each thread count (cnn's element-wise add of two 32 MB tensors):
// on these 2-core machines one thread already takes all of it (about 20 GB/s on either count), so a step's passes
// that only stream memory (BatchNorm, activations and their gradients at MobileNetV2's 48x48x96 activations) gain
// nothing from the second thread, and its 2T/1T ratio is bounded by their share of the step.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PY = '/usr/bin/python3';

/** The models, their input and batch (issue 15: batch 64; mobilenet_v2 batch 32 at 96x96x3). */
const MODELS = {
  lenet5: { size: 28, channels: 1, classes: 10, batch: 64, warmup: 3, minIters: 10, minSeconds: 2, maxIters: 40 },
  resnet20_cifar: {
    size: 32,
    channels: 3,
    classes: 10,
    batch: 64,
    warmup: 2,
    minIters: 4,
    minSeconds: 3,
    maxIters: 20,
  },
  resnet18_cifar: { size: 32, channels: 3, classes: 10, batch: 64, warmup: 1, minIters: 2, minSeconds: 0, maxIters: 3 },
  mobilenet_v2: { size: 96, channels: 3, classes: 1000, batch: 32, warmup: 1, minIters: 3, minSeconds: 2, maxIters: 8 },
};

/** Targets of issue 15. */
const RATIO_TARGETS = { lenet5: 0.5, resnet20_cifar: 0.4 };
const CEILING_TARGETS = { resnet18_cifar: 0.65, mobilenet_v2: 0.4 };
const SCALING_TARGET = 1.8;

function fail(message) {
  console.error(`train-peers: ${message}`);
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Child mode: one runner of cnn (a model's training step, or the matmul ceiling) at one thread count.

async function cnnChild(cfg) {
  const m = await import('@cnn/models-efficient');
  const { SGD } = await import('@cnn/train');
  const { summary } = await import('@cnn/layers');
  const { tf } = m;
  await m.setThreads(cfg.threads);
  await m.setBackend('wasm');
  if (cfg.model === 'matmul') {
    const n = 1024;
    const fill = (seed) =>
      tf.tensor(
        Float32Array.from({ length: n * n }, (_, i) => Math.sin(i * 0.37 + seed)),
        [n, n],
      );
    const a = fill(1);
    const b = fill(2);
    const times = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      const ms = performance.now() - t0;
      c.dispose();
      if (i > 0) times.push(ms);
    }
    return { times, info: m.backendInfo().device };
  }
  if (cfg.model === 'stream') {
    // a + b of two 32 MB tensors into a third on cnn's element-wise kernel (split among the threads): the memory
    // bandwidth a pass that only streams (BatchNorm, activations and their gradients) gets at this thread count.
    tf.env().set('CNN_IGEMM', 'on');
    const n = 8 << 20;
    const a = tf.fill([n], 1.5);
    const b = tf.fill([n], 0.25);
    const times = [];
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now();
      const c = tf.add(a, b); // wasm computes synchronously; dataSync would time a 32 MB copy out too
      const ms = performance.now() - t0;
      c.dispose();
      if (i > 0) times.push(ms);
    }
    return { times, info: m.backendInfo().device };
  }
  // The parent's spec (cfg carries it: --quick shortens the runs there), over this module's defaults.
  const spec = { ...MODELS[cfg.model], ...cfg };
  const net = m.getModel(cfg.model);
  const macs = summary(net, [spec.size, spec.size, spec.channels]).totalMacs;
  net.train();
  const opt = new SGD(net, { lr: 0.01, momentum: 0.9 });
  const { batch, size, channels, classes } = { ...spec, batch: cfg.batch };
  const x = tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => (i * 7919) % classes),
    'int32',
  );
  const { crossEntropy } = await import('@cnn/train');
  const step = () => opt.minimize(() => crossEntropy(net.call(x), y));
  for (let i = 0; i < spec.warmup; i++) step();
  const times = [];
  const start = performance.now();
  const before = tf.memory().numTensors;
  while (
    times.length < spec.maxIters &&
    (times.length < spec.minIters || performance.now() - start < spec.minSeconds * 1000)
  ) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const leaked = tf.memory().numTensors - before;
  return { times, macs, leaked, info: m.backendInfo().device };
}

if (process.argv[2] === '--child') {
  const cfg = JSON.parse(process.argv[3]);
  const out = await cnnChild(cfg);
  console.log(`RESULT ${JSON.stringify(out)}`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

function parseArgs(argv) {
  const opts = { quick: false };
  const list = (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes('=') ? a.split(/=(.*)/s) : [a, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${key} needs a value`);
    if (key === '--quick') opts.quick = true;
    else if (key === '--models') opts.models = list(value());
    else if (key === '--threads') opts.threads = list(value()).map(Number);
    else if (key === '--rounds') opts.rounds = Number(value());
    else if (key === '--runners') opts.runners = list(value());
    else if (key === '--baseline') opts.baseline = value();
    else if (key === '--help' || key === '-h') {
      console.log(
        'usage: node packages/train/bench/train-peers.mjs [--quick] [--models a,b] [--threads 1,2] [--rounds N] [--runners cnn,torch] [--baseline DIR]',
      );
      process.exit(0);
    } else fail(`unknown option '${a}' (try --help)`);
  }
  opts.models ??= opts.quick ? ['lenet5', 'resnet20_cifar'] : Object.keys(MODELS);
  opts.threads ??= [1, 2];
  opts.rounds ??= 2;
  opts.runners ??= ['cnn', 'torch'];
  for (const m of opts.models) if (!MODELS[m]) fail(`unknown model '${m}'; one of ${Object.keys(MODELS).join(', ')}`);
  for (const r of opts.runners) if (r !== 'cnn' && r !== 'torch') fail(`unknown runner '${r}'; cnn or torch`);
  if (opts.baseline !== undefined) {
    if (!existsSync(join(opts.baseline, 'packages', 'train', 'dist')))
      fail(`--baseline ${opts.baseline}: no built packages/train/dist there`);
    opts.runners.push('before');
  }
  for (const t of opts.threads) if (!(Number.isInteger(t) && t >= 1 && t <= 64)) fail(`bad thread count '${t}'`);
  if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1 && opts.rounds <= 20)) fail(`bad --rounds '${opts.rounds}'`);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const t0 = performance.now();
if (opts.quick) {
  for (const s of Object.values(MODELS)) {
    s.minIters = Math.max(2, s.minIters >> 1);
    s.minSeconds /= 2;
  }
}

let torchOk = false;
if (opts.runners.includes('torch')) {
  const probe = spawnSync(PY, ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8' });
  torchOk = probe.status === 0;
  if (torchOk) console.log(`PyTorch ${probe.stdout.trim()} through ${PY}`);
  else
    console.log(
      `${PY} cannot import torch (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}): printing cnn's numbers only. On Debian: apt-get install python3-torch python3-torchvision.`,
    );
}
const runners = opts.runners.filter((r) => r !== 'torch' || torchOk);
const baselineScript = opts.baseline ? join(opts.baseline, 'packages', 'train', 'bench', 'train-peers.mjs') : null;
if (baselineScript) {
  mkdirSync(dirname(baselineScript), { recursive: true });
  copyFileSync(fileURLToPath(import.meta.url), baselineScript);
  console.log(`baseline: cnn built in ${opts.baseline} (runner 'before')`);
}
console.log(
  `machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(2)}; models ${opts.models.join(', ')}; threads ${opts.threads.join(', ')}; ${opts.rounds} rounds`,
);

function runChild(runner, cfg) {
  const script = runner === 'before' ? baselineScript : fileURLToPath(import.meta.url);
  const r =
    runner !== 'torch'
      ? spawnSync(process.execPath, [script, '--child', JSON.stringify(cfg)], {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        })
      : spawnSync(PY, [join(here, 'torch_step.py'), JSON.stringify(cfg)], {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
          env: { ...process.env, OPENBLAS_NUM_THREADS: String(cfg.threads), OMP_NUM_THREADS: String(cfg.threads) },
        });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) {
    console.error(
      `  ${runner} ${cfg.model} ${cfg.threads}T failed (exit ${r.status}):\n${(r.stderr ?? '').trim().slice(-2000)}`,
    );
    return null;
  }
  return JSON.parse(line.slice(7));
}

// results[runner][model][threads] = { times: [...], macs, info }
const results = { cnn: {}, torch: {}, before: {} };
let ceiling = null;
// matmulTimes[threads]: the 1024^3 matMul's times; threads 1 is the ceiling, the others bound what a second
// thread can give a step made of such products (the scaling target's yardstick).
const matmulTimes = {};
// streamTimes[threads]: the streaming pass's times (see cnnChild's 'stream').
const streamTimes = {};
const add = (runner, model, threads, out) => {
  results[runner][model] ??= {};
  const cell = (results[runner][model][threads] ??= { times: [], medians: [] });
  cell.times.push(...out.times);
  cell.medians.push(median(out.times));
  if (out.macs) cell.macs = out.macs;
  if (out.leaked) cell.leaked = Math.max(cell.leaked ?? 0, out.leaked);
  cell.info = out.info;
};

for (let round = 0; round < opts.rounds; round++) {
  for (const threads of new Set([1, ...opts.threads])) {
    const mm = runChild('cnn', { model: 'matmul', threads });
    if (mm) (matmulTimes[threads] ??= []).push(...mm.times);
  }
  for (const threads of opts.threads) {
    const st = runChild('cnn', { model: 'stream', threads });
    if (st) (streamTimes[threads] ??= []).push(...st.times);
  }
  let k = round;
  for (const model of opts.models) {
    for (const threads of opts.threads) {
      const order = runners.map((_, i) => runners[(i + k) % runners.length]);
      k++;
      for (const runner of order) {
        const spec = MODELS[model];
        const cfg = { model, threads, ...spec };
        const out = runChild(runner, cfg);
        if (!out) continue;
        add(runner, model, threads, out);
        const best = Math.min(...out.times);
        console.log(
          `round ${round + 1}: ${runner.padEnd(6)} ${model.padEnd(15)} ${threads}T  best ${best.toFixed(1)} ms  median ${median(out.times).toFixed(1)} ms  (${out.times.length} steps)`,
        );
      }
    }
  }
}
const gflops = (times) => (times?.length ? (2 * 1024 ** 3) / (Math.min(...times) / 1000) / 1e9 : null);
ceiling = gflops(matmulTimes[1]);

// ---------------------------------------------------------------------------------------------
// Tables and targets.

const fmt = (v, d = 1) => (v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));
const ips = (model, ms) => (MODELS[model].batch * 1000) / ms;
console.log(
  `\n1-thread matmul ceiling (tfjs matMul 1024^3 on cnn's wasm, best of ${matmulTimes[1]?.length ?? 0}): ${fmt(ceiling)} GFLOP/s`,
);
const matmulScaling = {};
for (const [t, ts] of Object.entries(matmulTimes)) {
  if (Number(t) === 1 || !ceiling) continue;
  matmulScaling[t] = gflops(ts) / ceiling;
  console.log(
    `the same matMul on ${t} threads (XNNPACK's pool): ${fmt(gflops(ts))} GFLOP/s, ${fmt(matmulScaling[t], 2)}x one thread: no step of such products scales further`,
  );
}
const streamed = Object.entries(streamTimes).map(([t, ts]) => [
  Number(t),
  (3 * 4 * (8 << 20)) / (Math.min(...ts) / 1000) / 1e9,
]);
if (streamed.length) {
  const one = streamed.find(([t]) => t === 1)?.[1];
  console.log(
    `memory bandwidth of a streaming pass (a + b of 2 x 32 MB into a third on cnn's element-wise kernel, best): ${streamed
      .map(([t, gb]) => `${t}T ${fmt(gb)} GB/s${one && t !== 1 ? ` (${fmt(gb / one, 2)}x)` : ''}`)
      .join(', ')}; passes bound by it gain that much from more threads`,
  );
}
console.log(
  '\nimages/s of the best step (median step in brackets); GFLOP/s = 3 x 2 x MACs x images/s; share = GFLOP/s per thread / ceiling',
);
const header = [
  'model',
  'batch',
  'T',
  'cnn img/s',
  'PyTorch img/s',
  'ratio',
  'cnn GFLOP/s',
  'share/thread',
  'PyTorch GFLOP/s',
];
if (baselineScript) header.push('before img/s', 'cnn/before');
const rows = [header];
const summaryByModel = {};
for (const model of opts.models) {
  for (const threads of opts.threads) {
    const c = results.cnn[model]?.[threads];
    const p = results.torch[model]?.[threads];
    const cBest = c ? Math.min(...c.times) : null;
    const pBest = p ? Math.min(...p.times) : null;
    const macs = c?.macs;
    const cIps = cBest ? ips(model, cBest) : null;
    const pIps = pBest ? ips(model, pBest) : null;
    const gf = (v) => (macs && v ? (6 * macs * v) / 1e9 : null);
    const share = ceiling && gf(cIps) ? gf(cIps) / threads / ceiling : null;
    (summaryByModel[model] ??= {})[threads] = { cIps, pIps, share, ratio: cIps && pIps ? cIps / pIps : null };
    rows.push([
      model,
      String(MODELS[model].batch),
      String(threads),
      c ? `${fmt(cIps)} (${fmt(ips(model, median(c.times)))})` : '-',
      p ? `${fmt(pIps)} (${fmt(ips(model, median(p.times)))})` : '-',
      cIps && pIps ? `${(cIps / pIps).toFixed(2)}x` : '-',
      fmt(gf(cIps)),
      share !== null ? `${(100 * share).toFixed(0)}%` : '-',
      fmt(gf(pIps)),
    ]);
    if (baselineScript) {
      const b = results.before[model]?.[threads];
      const bIps = b ? ips(model, Math.min(...b.times)) : null;
      rows[rows.length - 1].push(
        b ? `${fmt(bIps)} (${fmt(ips(model, median(b.times)))})` : '-',
        cIps && bIps ? `${(cIps / bIps).toFixed(2)}x` : '-',
      );
    }
    if (c?.leaked) console.log(`warning: cnn ${model} ${threads}T: ${c.leaked} tensors more after the timed steps`);
  }
}
const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((v, i) => (i < 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '));

console.log('\ntargets (issue 15)');
const verdict = (ok, text) => console.log(`  ${ok === null ? 'n/a ' : ok ? 'PASS' : 'MISS'}  ${text}`);
for (const model of opts.models) {
  const s = summaryByModel[model];
  for (const threads of opts.threads) {
    const r = s[threads];
    if (RATIO_TARGETS[model] !== undefined) {
      const t = RATIO_TARGETS[model];
      verdict(
        r.ratio === null ? null : r.ratio >= t,
        `${model} ${threads}T: >= ${t}x PyTorch: ${r.ratio === null ? 'no PyTorch numbers' : `${r.ratio.toFixed(2)}x`}`,
      );
    }
    if (CEILING_TARGETS[model] !== undefined) {
      const t = CEILING_TARGETS[model];
      verdict(
        r.share === null ? null : r.share >= t,
        `${model} ${threads}T: >= ${100 * t}% of the 1-thread matmul ceiling per thread: ${r.share === null ? '-' : `${(100 * r.share).toFixed(0)}%`} (${r.ratio === null ? 'no PyTorch' : `${r.ratio.toFixed(2)}x PyTorch`})`,
      );
    }
  }
  if (CEILING_TARGETS[model] !== undefined && s[1]?.cIps && s[2]?.cIps) {
    const sc = s[2].cIps / s[1].cIps;
    const mm = matmulScaling[2] ? ` (the matMul alone: ${matmulScaling[2].toFixed(2)}x)` : '';
    verdict(sc >= SCALING_TARGET, `${model}: 2 threads >= ${SCALING_TARGET}x one: ${sc.toFixed(2)}x${mm}`);
  }
}
console.log(
  `\nload average ${loadavg()[0].toFixed(2)} at the end; ${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
);
