// One fuzz worker: loads cases `from`..`to` of a jobs file through the libraries' PUBLIC entry points and prints,
// for each, `@@fuzz start <id>` before and one `@@fuzz {json}` result line after. Started by run.mjs under an
// address-space cap; run.mjs kills it past the time cap and restarts one for the rest of the batch.
//
//   node child.mjs <jobs.json> <from> <to>
//
// Outcomes: 'ok' (loaded), 'named' (an instance of an error class the @cnn packages export), 'raw' (any other
// error: TypeError, RangeError, a plain Error, a dependency's error), 'wrapped' (a named error whose cause or
// message is a stack overflow, a wasm trap or a failed allocation: a catch-all, not a limit), 'oom' (a failed
// allocation). A load that fails but changed the model, or leaves tensors behind, is flagged too.
import { readFileSync, writeSync } from 'node:fs';
import * as tensor from '@cnn/tensor';
import * as layers from '@cnn/layers';
import * as datasets from '@cnn/datasets';
import * as train from '@cnn/train';
import * as classic from '@cnn/models-classic';
import * as efficient from '@cnn/models-efficient';

const { tf, setBackend } = tensor;
const { BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential, loadWeights } = layers;

const say = (line) => writeSync(1, `@@fuzz ${line}\n`); // synchronous, so a hang cannot swallow the last line

// Every error class the packages export is a "named" error.
const NAMED = [];
for (const ns of [tensor, layers, datasets, train, classic, efficient]) {
  for (const v of Object.values(ns))
    if (typeof v === 'function' && v.prototype instanceof Error && !NAMED.includes(v)) NAMED.push(v);
}

// The fixture network of packages/layers/test/fixtures/checkpoint (net.pth and net.safetensors hold its weights).
class Net extends Module {
  stem = this.registerModule('stem', new Conv2d(3, 4, 3, { padding: 1 }));
  blocks = this.registerModule(
    'blocks',
    new Sequential(
      new Sequential(new Conv2d(4, 8, 3, { padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
      new Sequential(new Conv2d(8, 8, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(8), new ReLU()),
    ),
  );
  head = this.registerModule('head', new Linear(8, 5));
  forward(x) {
    return this.head.call(tf.mean(this.blocks.call(this.stem.call(x)), [1, 2]));
  }
}

/** FNV-1a over every parameter's and buffer's bytes: tells whether a failed load changed the model. */
function fingerprint(model) {
  let h = 2166136261;
  for (const [, v] of model.stateDict()) {
    const d = v.dataSync();
    const b = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619);
  }
  return h >>> 0;
}

const OVERFLOW =
  /Maximum call stack size exceeded|allocation failed|out of memory|Insufficient memory|Invalid (typed )?array length|Invalid string length|Cannot create a Buffer larger|Array buffer allocation|RuntimeError|unreachable|memory access out of bounds/i;

function causes(err) {
  const out = [];
  for (let e = err?.cause, n = 0; e !== undefined && e !== null && n < 8; e = e.cause, n++) out.push(e);
  return out;
}

/** The first stack frame outside node internals: where a raw error was thrown. */
function thrownAt(err) {
  const frames = String(err?.stack ?? '')
    .split('\n')
    .slice(1)
    .map((s) => s.trim())
    .filter((s) => s.startsWith('at ') && !s.includes('node:internal'));
  const f = frames.find((s) => s.includes('/packages/') && !s.includes('/test/fuzz/')) ?? frames[0];
  if (!f) return undefined;
  return f.replace(/file:\/\/\S*?\/(packages|node_modules)\//, '$1/').slice(0, 160);
}

function describeError(err) {
  const cls = err?.constructor?.name ?? typeof err;
  const message = String(err?.message ?? err);
  const res = { cls, msg: message.slice(0, 200), msgLength: message.length };
  if (NAMED.some((C) => err instanceof C)) {
    const bad =
      causes(err).find(
        (e) =>
          e instanceof RangeError || e instanceof WebAssembly.RuntimeError || OVERFLOW.test(String(e?.message ?? e)),
      ) ?? (OVERFLOW.test(message) ? err : undefined);
    if (bad)
      return {
        ...res,
        outcome: 'wrapped',
        cause: `${bad?.constructor?.name}: ${String(bad?.message ?? bad).slice(0, 120)}`,
      };
    return { ...res, outcome: 'named' };
  }
  if (/allocation failed|out of memory|Array buffer allocation/i.test(message))
    return { ...res, outcome: 'oom', at: thrownAt(err) };
  return { ...res, outcome: 'raw', at: thrownAt(err) };
}

const file = (job, name) => job.paths[name];
const readBytes = (path) => new Uint8Array(readFileSync(path));

/** Runs one case; returns a short description of what loaded. */
async function run(job) {
  const names = Object.keys(job.paths);
  switch (job.target) {
    case 'loadWeights(path)':
    case 'loadWeights(bytes)': {
      const model = new Net();
      const before = fingerprint(model);
      const tensorsBefore = tf.memory().numTensors;
      try {
        const src = job.target === 'loadWeights(path)' ? file(job, names[0]) : readBytes(file(job, names[0]));
        const r = await loadWeights(model, src);
        return `loaded ${r.loaded.length} tensors`;
      } catch (err) {
        const changed = fingerprint(model) !== before;
        const leaked = tf.memory().numTensors - tensorsBefore;
        if (changed || leaked) err.fuzzFlags = { ...(changed && { changed: true }), ...(leaked && { leaked }) };
        throw err;
      } finally {
        model.dispose();
      }
    }
    case 'MNIST.fromFiles': {
      const images = names.find((n) => n.includes('images'));
      const labels = names.find((n) => n.includes('labels'));
      const ds = await datasets.MNIST.fromFiles(file(job, images), file(job, labels));
      return `${ds.length} images`;
    }
    case 'CIFAR10.load': {
      const ds = await datasets.CIFAR10.load(job.dir, { train: false });
      return `${ds.length} images`;
    }
    case 'decodeImage(bytes)':
    case 'loadImage(path)':
    case 'efficient.loadImage(path)':
    case 'efficient.loadImage(bytes)': {
      const path = file(job, names[0]);
      const img =
        job.target === 'decodeImage(bytes)'
          ? await datasets.decodeImage(readBytes(path), names[0], job.channels ?? 3)
          : job.target === 'loadImage(path)'
            ? await datasets.loadImage(path, job.channels ?? 3)
            : job.target === 'efficient.loadImage(path)'
              ? await efficient.loadImage(path)
              : await efficient.loadImage(readBytes(path));
      return `${img.width}x${img.height}x${img.channels}`;
    }
    default:
      throw new Error(`fuzz child: unknown target '${job.target}'`);
  }
}

// A rejection or exception that escapes a case (a promise the library forgot): reported against the case
// running, or the one that ran last.
let current = null;
let last = null;
const stray = (kind) => (err) => {
  say(JSON.stringify({ id: current ?? last, stray: kind, ...describeError(err), outcome: 'raw' }));
};
process.on('unhandledRejection', stray('unhandled rejection'));
process.on('uncaughtException', stray('uncaught exception'));

const [jobsFile, fromArg, toArg] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobsFile, 'utf8'));
const from = Number(fromArg ?? 0);
const to = Math.min(Number(toArg ?? jobs.length), jobs.length);

// The 'cpu' backend: the loaders parse files on the host, and loadWeights only creates small tensors. The wasm
// backend would reserve ~10 GiB of address space for its memory (V8's guard regions), which rules out an
// address-space cap low enough to catch a loader allocating hundreds of MB (see run.mjs).
await setBackend('cpu');

for (let i = from; i < to; i++) {
  const job = jobs[i];
  current = job.id;
  say(`start ${job.id}`);
  const t0 = performance.now();
  let res;
  try {
    res = { outcome: 'ok', detail: await run(job) };
  } catch (err) {
    res = { ...describeError(err), ...(err?.fuzzFlags ?? {}) };
    if (process.env.CNN_FUZZ_VERBOSE) res.stack = String(err?.stack ?? err).slice(0, 4000);
  }
  res.ms = Math.round(performance.now() - t0);
  res.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  say(JSON.stringify({ id: job.id, ...res }));
  last = current;
  current = null;
}
// The process's peak virtual size, for the parent's calibration of the address-space cap.
const peak = /VmPeak:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
say(`vmpeak ${peak ? peak[1] : 0}`);
process.exit(0);
