// cnn's batch-1 inference in headless Chromium, threaded: a Vite-built page served cross-origin isolated (COOP
// same-origin + COEP require-corp, as the docs site serves it), so tfjs's threaded-SIMD wasm build and cnn's kernel
// pool run on every core the browser reports. A benchmark, not a test: it prints times, it asserts nothing (the
// fused-vs-unfused check in Chromium is packages/models-efficient/test/browser-fused.test.ts).
//
//   npm run browser -w @cnn/bench-peers -- [--models mobilenet_v2,resnet18] [--rounds 2] [--size 224]
//
// Needs the packages built (npm run bench:peers builds them; or npx turbo run build --filter=@cnn/models-efficient...)
// and Debian's chromium (/usr/bin/chromium, or CNN_CHROMIUM). Random-weight models (times do not depend on the
// values); each (model, threads) alternates over rounds, 1 thread then all; best iteration and median, ms.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const requireHere = createRequire(join(here, 'package.json'));
const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';

function fail(message) {
  console.error(`bench:peers browser: ${message}`);
  process.exit(1);
}

const opts = { models: ['mobilenet_v2', 'resnet18'], rounds: 2, size: 224 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const [key, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
  const value = () => inline ?? argv[++i] ?? fail(`${key} needs a value`);
  if (key === '--models') opts.models = value().split(',').filter(Boolean);
  else if (key === '--rounds') opts.rounds = Number(value());
  else if (key === '--size') opts.size = Number(value());
  else fail(`unknown option '${argv[i]}' (--models a,b --rounds N --size S)`);
}
if (!(Number.isInteger(opts.rounds) && opts.rounds >= 1 && opts.rounds <= 10)) fail(`bad --rounds '${opts.rounds}'`);
if (!(Number.isInteger(opts.size) && opts.size >= 32 && opts.size <= 512)) fail(`bad --size '${opts.size}'`);
if (!opts.models.every((m) => /^[a-z0-9_]+$/.test(m))) fail(`bad --models '${opts.models.join(',')}'`);
if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CNN_CHROMIUM)`);

const MAIN = `
import { setBackend, setThreads, backendInfo, getModel, tf } from '@cnn/models-efficient';
const out = document.getElementById('out');
const { models, rounds, size } = ${JSON.stringify(opts)};
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
try {
  const cores = navigator.hardwareConcurrency;
  const rows = {};
  for (let round = 0; round < rounds; round++) {
    for (const threads of [...new Set([1, cores])]) {
      await setThreads(threads);
      await setBackend('wasm');
      for (const id of models) {
        const net = getModel(id);
        net.eval();
        const x = tf.randomNormal([1, size, size, 3], 0, 1, 'float32', 1);
        const run = () => { const y = net.call(x); y.dataSync(); y.dispose(); };
        for (let i = 0; i < 3; i++) run();
        const times = [];
        const start = performance.now();
        while (times.length < 20 && (times.length < 5 || performance.now() - start < 4000)) {
          const t0 = performance.now();
          run();
          times.push(performance.now() - t0);
        }
        x.dispose();
        net.dispose();
        const key = id + ' ' + threads;
        rows[key] = { id, threads, real: backendInfo().threads, times: [...(rows[key]?.times ?? []), ...times] };
      }
    }
  }
  out.textContent = JSON.stringify({ ok: true, isolated: crossOriginIsolated, cores, ua: navigator.userAgent,
    rows: Object.values(rows).map((r) => ({ ...r, best: Math.min(...r.times), median: median(r.times) })) });
} catch (e) {
  out.textContent = JSON.stringify({ ok: false, error: String((e && (e.stack || e.message)) || e) });
}
`;

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};
const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const t0 = performance.now();
const work = await mkdtemp(join(tmpdir(), 'cnn-bench-browser-'));
let server;
let context;
try {
  const app = join(work, 'app');
  await mkdir(join(app, 'node_modules', '@cnn'), { recursive: true });
  for (const name of ['models-efficient', 'models-classic', 'tensor', 'layers', 'datasets']) {
    const dir = dirname(requireHere.resolve(`@cnn/${name}/package.json`));
    await symlink(dir, join(app, 'node_modules', '@cnn', name), 'dir');
  }
  await writeFile(
    join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script type="module" src="./main.js"></script></body></html>',
  );
  await writeFile(join(app, 'main.js'), MAIN);
  const dist = join(app, 'dist');
  const { build } = await import('vite');
  await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: dist, target: 'es2022' } });
  server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = normalize(join(dist, path === '/' ? 'index.html' : decodeURIComponent(path.slice(1))));
    try {
      if (!file.startsWith(dist + sep) || !(await stat(file)).isFile()) throw new Error('not found');
      res.writeHead(200, { ...ISOLATED, 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404, ISOLATED).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
    timeout: 20 * 60_000,
  });
  const r = JSON.parse((await page.textContent('#out')) ?? '{}');
  if (!r.ok) fail(`the page failed: ${r.error}`);
  const version = r.ua.match(/Chrome\/[\d.]+/)?.[0] ?? r.ua;
  console.log(
    `bench:peers browser: ${version}, cross-origin isolated: ${r.isolated}, ${r.cores} cores; batch 1, ${opts.size}x${opts.size}, ${opts.rounds} rounds\n`,
  );
  console.log('| model | threads | best ms | median ms | iterations |');
  console.log('|---|---|---|---|---|');
  for (const row of r.rows)
    console.log(
      `| ${row.id} | ${row.real} | ${row.best.toFixed(1)} | ${row.median.toFixed(1)} | ${row.times.length} |`,
    );
  const speedups = opts.models.map((id) => {
    const one = r.rows.find((x) => x.id === id && x.threads === 1);
    const all = r.rows.find((x) => x.id === id && x.threads === r.cores);
    return one && all && all !== one ? `${id} ${(one.best / all.best).toFixed(2)}x` : `${id} -`;
  });
  console.log(`\n${r.cores} threads vs 1, best iterations: ${speedups.join(', ')}`);
} finally {
  await context?.close();
  if (server) await new Promise((ok) => server.close(ok));
  await rm(work, { recursive: true, force: true });
}
console.log(`bench:peers browser: total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
