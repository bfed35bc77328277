// cnn against its WebAssembly peers: onnxruntime-web's wasm EP and stock tfjs-wasm running a hand-fused graph, on
// torchvision's random-weight models. See README.md.
//
//   npm run bench:peers                                   the full matrix (long: batch 32 on 2 cores)
//   npm run bench:peers -- --quick                        batch 1, the three target models, 2 rounds, fewer iterations
//   npm run bench:peers -- --models resnet18,mobilenet_v2 --threads 1,2 --batch 1 --rounds 3
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_MODELS, LOGITS_TOLERANCE, RUNNER_LABEL, RUNNERS, TARGET_MODELS, median } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const t0 = performance.now();

function fail(message) {
  console.error(`bench:peers: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { quick: false, dir: join(tmpdir(), 'cnn-bench-peers') };
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
    else if (key === '--batch') opts.batches = list(value()).map(Number);
    else if (key === '--rounds') opts.rounds = Number(value());
    else if (key === '--runners') opts.runners = list(value());
    else if (key === '--dir') opts.dir = value();
    else if (key === '--help' || key === '-h') {
      console.log(
        'usage: npm run bench:peers -- [--quick] [--models a,b] [--threads 1,2] [--batch 1,32] [--rounds N] [--runners cnn,ort,tfjs] [--dir DIR]',
      );
      process.exit(0);
    } else fail(`unknown option '${a}' (try --help)`);
  }
  opts.models ??= opts.quick ? TARGET_MODELS : ALL_MODELS;
  opts.threads ??= [1, 2];
  opts.batches ??= opts.quick ? [1] : [1, 32];
  opts.rounds ??= opts.quick ? 2 : 3;
  opts.runners ??= RUNNERS;
  for (const m of opts.models)
    if (!ALL_MODELS.includes(m)) fail(`unknown model '${m}'; one of ${ALL_MODELS.join(', ')}`);
  for (const r of opts.runners) if (!RUNNERS.includes(r)) fail(`unknown runner '${r}'; one of ${RUNNERS.join(', ')}`);
  for (const t of opts.threads) if (!(Number.isInteger(t) && t >= 1 && t <= 64)) fail(`bad thread count '${t}'`);
  for (const b of opts.batches) if (!(Number.isInteger(b) && b >= 1 && b <= 256)) fail(`bad batch '${b}'`);
  if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1 && opts.rounds <= 20)) fail(`bad --rounds '${opts.rounds}'`);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const PY = '/usr/bin/python3';

// 1. The torchvision export (weights, ONNX, reference logits), cached in a temp folder.
const probe = spawnSync(PY, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  fail(
    `${PY} cannot import torch and torchvision (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}). ` +
      'The bench needs them to export the models and reference logits: on Debian, apt-get install python3-torch python3-torchvision.',
  );
}
mkdirSync(opts.dir, { recursive: true });
const exp = spawnSync(PY, [join(here, 'export.py'), '--out', opts.dir, ...opts.models], { stdio: 'inherit' });
if (exp.status !== 0) fail('export.py failed (see above)');

// 2. cnn's threaded-SIMD loader, bundled alone for the stock tfjs runner (tfjs's kernels only, no cnn kernels).
const loader = join(here, 'node_modules', '.cnn-bench', 'threaded.mjs');
if (opts.runners.includes('tfjs')) {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(here, '../../packages/tensor/src/wasm/threaded.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    define: { __CNN_BROWSER_BUILD__: 'false' },
    external: ['@tensorflow/*'],
    outfile: loader,
    logLevel: 'warning',
  });
}

console.log(
  `bench:peers: torch ${probe.stdout.trim()}; node ${process.version}; models ${opts.models.join(', ')}; ` +
    `threads ${opts.threads.join(', ')}; batch ${opts.batches.join(', ')}; ${opts.rounds} rounds\n`,
);

// 3. Alternating rounds: every (model, threads) runs each runner once per round, in an order that rotates.
const runnersFor = (model) => opts.runners.filter((r) => r !== 'tfjs' || TARGET_MODELS.includes(model));
const times = new Map(); // `${runner} ${model} ${threads} ${batch}` -> ms[]
const refused = new Map(); // `${runner} ${model}` -> why
const key = (...a) => a.join(' ');
let turn = 0;
for (let round = 0; round < opts.rounds; round++) {
  for (const model of opts.models) {
    for (const threads of opts.threads) {
      const rs = runnersFor(model);
      const order = rs.map((_, i) => rs[(i + turn) % rs.length]);
      turn++;
      for (const runner of order) {
        if (refused.has(key(runner, model))) continue;
        const cfg = { runner, model, threads, batches: opts.batches, dir: opts.dir, loader, quick: opts.quick };
        const child = spawnSync(process.execPath, [join(here, 'child.mjs'), JSON.stringify(cfg)], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
          timeout: 30 * 60_000,
        });
        const line = child.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
        const res = line ? JSON.parse(line.slice(7)) : { error: `exited ${child.status ?? child.signal}` };
        const label = `${RUNNER_LABEL[runner]}, ${model}, ${threads} thread${threads > 1 ? 's' : ''}`;
        if (res.error) {
          refused.set(key(runner, model), res.error);
          console.log(`round ${round + 1}: ${label}: ERROR ${res.error}`);
          if (child.stderr) console.log(child.stderr.trim().split('\n').slice(-5).join('\n'));
          continue;
        }
        const c = res.check;
        const checkText = `logits vs torchvision max abs ${c.maxAbs.toExponential(2)}, rel ${c.rel.toExponential(2)}`;
        if (!c.ok) {
          refused.set(key(runner, model), `logits differ from torchvision's: ${checkText}`);
          console.log(`round ${round + 1}: ${label}: REFUSED (${checkText} > ${LOGITS_TOLERANCE}); not timed`);
          continue;
        }
        const parts = Object.entries(res.times).map(([b, ts]) => {
          const k = key(runner, model, threads, b);
          times.set(k, [...(times.get(k) ?? []), ...ts]);
          return `batch ${b}: best ${Math.min(...ts).toFixed(1)} ms`;
        });
        const convs = res.convs !== undefined ? `; ${res.convs} fused conv ops per forward` : '';
        console.log(`round ${round + 1}: ${label}: ${checkText}${convs}; ${parts.join(', ')} [${res.info}]`);
      }
    }
  }
}

// 4. The table: each runner's best iteration over every round, its median beside it.
const best = (runner, model, threads, batch) => {
  const ts = times.get(key(runner, model, threads, batch));
  return ts?.length ? { best: Math.min(...ts), median: median(ts) } : undefined;
};
const fmt = (s) => (s ? `${s.best.toFixed(s.best < 100 ? 1 : 0)} (${s.median.toFixed(s.median < 100 ? 1 : 0)})` : '-');
const ratio = (a, b) => (a && b ? b.best / a.best : undefined);
const fmtRatio = (r) => (r === undefined ? '-' : `${r.toFixed(2)}x`);

console.log('\nms per forward pass, best iteration (median in brackets); ratios of best iterations, > 1: cnn faster\n');
for (const batch of opts.batches) {
  console.log(`batch ${batch}, 224x224:\n`);
  console.log('| model, threads | cnn | ORT-web | tfjs fused | cnn vs ORT-web | cnn vs tfjs fused |');
  console.log('|---|---|---|---|---|---|');
  for (const threads of opts.threads) {
    for (const model of opts.models) {
      const c = best('cnn', model, threads, batch);
      const o = best('ort', model, threads, batch);
      const t = best('tfjs', model, threads, batch);
      console.log(
        `| ${model}, ${threads} | ${fmt(c)} | ${fmt(o)} | ${fmt(t)} | ${fmtRatio(ratio(c, o))} | ${fmtRatio(ratio(c, t))} |`,
      );
    }
  }
  console.log('');
}
for (const [k, why] of refused) console.log(`not timed: ${k}: ${why}`);

// 5. The targets, checked on this run's best iterations.
const lines = [];
function target(name, value, need) {
  if (value === undefined) return lines.push(`  -     ${name}: not measured in this run (needs ${need.toFixed(2)}x)`);
  const ok = value >= need;
  const margin = ((value / need - 1) * 100).toFixed(0);
  lines.push(
    `  ${ok ? 'PASS' : 'MISS'}  ${name}: ${value.toFixed(2)}x, needs ${need.toFixed(2)}x (${ok ? '+' : ''}${margin} %)`,
  );
}
for (const threads of opts.threads) {
  for (const model of opts.models) {
    const c = best('cnn', model, threads, 1);
    const targetModel = TARGET_MODELS.includes(model);
    if (opts.batches.includes(1) && opts.runners.includes('ort'))
      target(
        `${model}, ${threads} thr, batch 1: cnn vs ORT-web`,
        ratio(c, best('ort', model, threads, 1)),
        targetModel ? 1.3 : 1,
      );
    if (opts.batches.includes(1) && targetModel && opts.runners.includes('tfjs'))
      target(
        `${model}, ${threads} thr, batch 1: cnn vs tfjs fused`,
        ratio(c, best('tfjs', model, threads, 1)),
        model === 'resnet18' ? 1.3 : 1,
      );
    for (const batch of opts.batches.filter((b) => b !== 1))
      if (opts.runners.includes('ort'))
        target(
          `${model}, ${threads} thr, batch ${batch}: cnn vs ORT-web`,
          ratio(best('cnn', model, threads, batch), best('ort', model, threads, batch)),
          1,
        );
  }
}
if (opts.threads.includes(1) && opts.threads.includes(2) && opts.batches.includes(1)) {
  for (const model of opts.models)
    target(
      `${model}, batch 1: cnn 2 threads vs 1 thread`,
      ratio(best('cnn', model, 2, 1), best('cnn', model, 1, 1)),
      TARGET_MODELS.includes(model) ? 1.5 : 1,
    );
}
console.log('Targets (issue 14; ratios of best iterations):');
for (const l of lines) console.log(l);
console.log(`\nbench:peers: total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
