// Convolution kernel benchmark of @cnn/tensor on this machine, one process: one thread, then every core.
//
//   npm run bench -w @cnn/tensor            full table (about three minutes)
//   npm run bench -w @cnn/tensor -- --quick fewer repetitions, no cpu column
//
// Prints, for each kernel on wasm, its time on one thread and on all threads (setThreads) and the
// ratio of the two, its GFLOP/s (2 FLOPs per multiply-accumulate) on one thread and its share of the
// 1024^3 matmul measured in the same run (the machine's wasm ceiling), and its speed-up over the
// pure-JS cpu backend measured in the same run. The cpu backend runs each case at batch 1 (and the
// matmul at 256^3): GFLOP/s does not depend on the batch, and the full shapes take minutes each on it.
// Last, ResNet-50 inference (batch 1, 224x224) on one thread and on all: a conv / batch-norm / ReLU stack
// of tfjs ops with random weights, and, when the workspace has it built, @cnn/models-classic's resnet50.
// Machines here are shared and noisy: read ratios. Each case alternates one thread and all threads over
// a few rounds and keeps each column's quickest round.
import { availableParallelism } from 'node:os';
import {
  tf,
  setBackend,
  setThreads,
  conv2d,
  conv2dBackpropInput,
  conv2dBackpropFilter,
  backendInfo,
} from '../dist/index.js';
import { parseFlags } from './flags.mjs';

const flags = parseFlags(
  process.argv.slice(2),
  { quick: false, 'no-cpu': false },
  'node packages/tensor/bench/bench.mjs [--quick] [--no-cpu]',
);
const quick = flags.quick;
const withCpu = !quick && !flags['no-cpu'];

function fill(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37 + seed) * 0.5;
  return tf.tensor(v, shape);
}

/**
 * Milliseconds of one call of fn(), which returns tensors to dispose: the median of `reps` calls after one
 * warm-up. The wasm and cpu backends run a kernel inside the call (they are synchronous), so the call's time is
 * the kernel's; reading the result back (`dataSync`, a copy out of the backend's memory on one thread) would
 * add a cost that no training or inference step pays and that no number of threads shortens.
 */
function time(fn, reps) {
  const once = () => {
    const t0 = performance.now();
    const out = fn();
    const ms = performance.now() - t0;
    tf.dispose(out);
    return ms;
  };
  once();
  const ms = [];
  for (let i = 0; i < reps; i++) ms.push(once());
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

function convMacs([n, h, w, c], [kh, kw, cig, co], o) {
  const y = tf.tidy(() => conv2d(tf.zeros([1, h, w, c]), tf.zeros([kh, kw, cig, co]), o));
  const [, oh, ow] = y.shape;
  y.dispose();
  return n * oh * ow * co * kh * kw * cig;
}

/** The benchmark cases: name, MACs and a function per backend-neutral op. */
function cases(batch = 8, mm = 1024) {
  const list = [];
  const conv = (label, xs, fs, o) => {
    const macs = convMacs(xs, fs, o);
    const setup = () => ({
      x: fill(xs, 1),
      f: fill(fs, 2),
      dy: tf.tidy(() => fill(conv2d(tf.zeros(xs), tf.zeros(fs), o).shape, 3)),
    });
    list.push({ group: label, name: 'forward', shape: desc(xs, fs, o), macs, setup, run: (d) => conv2d(d.x, d.f, o) });
    list.push({
      group: label,
      name: 'backprop-input',
      shape: desc(xs, fs, o),
      macs,
      setup,
      run: (d) => conv2dBackpropInput(xs, d.dy, d.f, o),
    });
    list.push({
      group: label,
      name: 'backprop-filter',
      shape: desc(xs, fs, o),
      macs,
      setup,
      run: (d) => conv2dBackpropFilter(d.x, d.dy, fs, o),
    });
  };
  conv('conv', [batch, 56, 56, 64], [3, 3, 64, 64], { pad: 1 });
  conv('conv', [batch, 28, 28, 128], [3, 3, 128, 128], { pad: 1, strides: 2 });
  conv('grouped 32x4', [batch, 56, 56, 128], [3, 3, 4, 128], { pad: 1, groups: 32 });
  conv('grouped 32x8', [batch, 28, 28, 256], [3, 3, 8, 256], { pad: 1, groups: 32 });
  const dw = (xs, strides) => {
    const c = xs[3];
    const fs = [3, 3, c, 1];
    const y = tf.tidy(() =>
      tf.depthwiseConv2d(tf.zeros([1, ...xs.slice(1)]), tf.zeros(fs), strides, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
    );
    const [, oh, ow] = y.shape;
    y.dispose();
    const macs = xs[0] * oh * ow * c * 9;
    const pad = [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ];
    const setup = () => ({ x: fill(xs, 1), f: fill(fs, 2), dy: fill([xs[0], oh, ow, c], 3) });
    const label = 'depthwise';
    const shape = `${xs.join('x')} 3x3${strides > 1 ? ' s2' : ''}`;
    list.push({
      group: label,
      name: 'forward (tfjs)',
      shape,
      macs,
      setup,
      run: (d) => tf.depthwiseConv2d(d.x, d.f, strides, pad),
    });
    // The two gradient kernels alone, through the public grouped API (groups = channels).
    const g = { strides, pad: 1, groups: c };
    list.push({
      group: label,
      name: 'backward (input+filter)',
      shape,
      macs: 2 * macs,
      setup,
      run: (d) => [
        conv2dBackpropInput(xs, d.dy, d.f.reshape([3, 3, 1, c]), g),
        conv2dBackpropFilter(d.x, d.dy, [3, 3, 1, c], g),
      ],
    });
  };
  dw([batch, 56, 56, 144], 1);
  dw([batch, 28, 28, 192], 1);
  dw([batch, 14, 14, 576], 1);
  dw([batch, 56, 56, 144], 2);
  list.push({
    group: 'matmul',
    name: '1024^3 (ceiling)',
    shape: `${mm}x${mm} @ ${mm}x${mm}`,
    macs: mm ** 3,
    setup: () => ({ a: fill([mm, mm], 1), b: fill([mm, mm], 2) }),
    run: (d) => tf.matMul(d.a, d.b),
  });
  return list;
}

function desc(xs, fs, o) {
  const bits = [`${xs.join('x')} -> ${fs[3]} ${fs[0]}x${fs[1]}`];
  if (o.strides && o.strides !== 1) bits.push(`s${o.strides}`);
  if (o.groups && o.groups !== 1) bits.push(`g${o.groups}`);
  return bits.join(' ');
}

async function measure(backend, list, reps) {
  await setBackend(backend);
  const out = [];
  for (const c of list) {
    const d = c.setup();
    const ms = time(() => c.run(d), reps);
    for (const t of Object.values(d)) t.dispose();
    out.push(ms);
    process.stderr.write('.');
  }
  return out;
}

/** ResNet-50 (v1.5, torchvision's layout) for inference from tfjs ops: conv, batch norm, ReLU, pooling. */
function resnet50() {
  const params = [];
  const keep = (t) => {
    params.push(t);
    return t;
  };
  let seed = 0;
  const convBn = (cin, cout, k, stride, relu = true) => {
    const w = keep(tf.mul(fill([k, k, cin, cout], ++seed), Math.sqrt(2 / (k * k * cin))));
    const [mean, variance, beta, gamma] = [
      keep(tf.zeros([cout])),
      keep(tf.ones([cout])),
      keep(tf.zeros([cout])),
      keep(tf.ones([cout])),
    ];
    const pad = k === 1 ? 0 : (k - 1) / 2;
    return (x) => {
      const y = tf.batchNorm(
        tf.conv2d(
          x,
          w,
          stride,
          pad === 0
            ? 'valid'
            : [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ],
        ),
        mean,
        variance,
        beta,
        gamma,
        1e-5,
      );
      return relu ? tf.relu(y) : y;
    };
  };
  const stem = convBn(3, 64, 7, 2);
  const blocks = [];
  let cin = 64;
  for (const [width, n, stride] of [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ]) {
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? stride : 1;
      const a = convBn(cin, width, 1, 1),
        b = convBn(width, width, 3, s),
        c = convBn(width, 4 * width, 1, 1, false);
      const down = i === 0 ? convBn(cin, 4 * width, 1, s, false) : null;
      blocks.push((x) => tf.relu(tf.add(c(b(a(x))), down ? down(x) : x)));
      cin = 4 * width;
    }
  }
  const fc = keep(tf.mul(fill([2048, 1000], ++seed), 0.02));
  const forward = (x) =>
    tf.tidy(() => {
      let y = tf.maxPool(stem(x), 3, 2, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
      for (const blk of blocks) y = blk(y);
      return tf.matMul(tf.mean(y, [1, 2]), fc);
    });
  return { forward, dispose: () => tf.dispose(params) };
}

async function measureResnet(build, reps) {
  await setBackend('wasm');
  const net = build();
  const x = fill([1, 224, 224, 3], 9);
  const ms = time(() => net.forward(x), reps);
  x.dispose();
  net.dispose();
  return ms;
}

/**
 * The real ResNet-50 of @cnn/models-classic in evaluation mode, when the workspace has it built. This package
 * does not depend on the model packages (they depend on it), so the script looks for it the way a consumer
 * would, and falls back to the op stack alone when it is missing.
 */
async function modelResnet() {
  try {
    const { resnet50: build } = await import('@cnn/models-classic');
    return () => {
      const net = build();
      net.eval();
      return { forward: (x) => tf.tidy(() => net.forward(x)), dispose: () => net.dispose() };
    };
  } catch (e) {
    console.error(
      `\n(@cnn/models-classic is not built, so only the op stack's ResNet-50 is measured: ${String(e.message).split('\n')[0]})`,
    );
    return null;
  }
}

const reps = quick ? 3 : 7;
// Each case is measured in `rounds` rounds, one thread then all threads, and each column keeps its
// quickest round's median: other processes on a shared machine only ever add time, and alternating
// lets a busy spell fall on both columns alike.
const rounds = quick ? 2 : 3;
const all = availableParallelism();
await setThreads(1);
await setBackend('wasm');
const oneInfo = backendInfo();
const list = cases();
const oneMs = list.map(() => Infinity);
const wasmMs = list.map(() => Infinity);
for (const [i, c] of list.entries()) {
  for (let round = 0; round < rounds; round++) {
    await setThreads(1);
    oneMs[i] = Math.min(oneMs[i], ...(await measure('wasm', [c], reps)));
    await setThreads(all);
    wasmMs[i] = Math.min(wasmMs[i], ...(await measure('wasm', [c], reps)));
  }
}
const info = backendInfo();
const nets = [{ kernel: 'ResNet-50 inference (op stack)', build: resnet50 }];
const model = await modelResnet();
if (model) nets.push({ kernel: 'ResNet-50 inference (models-classic)', build: model });
for (const net of nets) {
  net.one = Infinity;
  net.all = Infinity;
  for (let round = 0; round < rounds; round++) {
    await setThreads(1);
    net.one = Math.min(net.one, await measureResnet(net.build, quick ? 3 : 5));
    await setThreads(all);
    net.all = Math.min(net.all, await measureResnet(net.build, quick ? 3 : 5));
  }
}
const cpuList = withCpu ? cases(1, 256) : null;
const cpuMs = cpuList ? await measure('cpu', cpuList, 1) : null;

const gflops = (c, ms) => (2 * c.macs) / ms / 1e6;
const ceiling = gflops(list[list.length - 1], oneMs[oneMs.length - 1]);
const rows = list.map((c, i) => ({
  kernel: `${c.group} ${c.name}`,
  shape: c.shape,
  '1 thread ms': oneMs[i].toFixed(1),
  [`${info.threads} threads ms`]: wasmMs[i].toFixed(1),
  speed_up: `${(oneMs[i] / wasmMs[i]).toFixed(2)}x`,
  '1 thread GFLOP/s': gflops(c, oneMs[i]).toFixed(1),
  '% of matmul': `${((100 * gflops(c, oneMs[i])) / ceiling).toFixed(0)}%`,
  'cpu GFLOP/s': cpuMs ? gflops(cpuList[i], cpuMs[i]).toFixed(2) : '-',
  'wasm / cpu': cpuMs ? `${(gflops(c, oneMs[i]) / gflops(cpuList[i], cpuMs[i])).toFixed(1)}x` : '-',
}));
for (const net of nets) {
  rows.push({
    kernel: net.kernel,
    shape: '1x224x224x3',
    '1 thread ms': net.one.toFixed(1),
    [`${info.threads} threads ms`]: net.all.toFixed(1),
    speed_up: `${(net.one / net.all).toFixed(2)}x`,
    '1 thread GFLOP/s': '-',
    '% of matmul': '-',
    'cpu GFLOP/s': '-',
    'wasm / cpu': '-',
  });
}

console.log(`@cnn/tensor conv benchmark: ${oneInfo.device} vs ${info.device} (${all} cores); node ${process.version}`);
printTable(rows);

// The targets of the foundation issue, checked on this run's numbers.
const checks = [];
for (const [i, c] of list.entries()) {
  const share = (100 * gflops(c, oneMs[i])) / ceiling;
  if (c.group === 'conv' && c.name !== 'forward')
    checks.push([`${c.group} ${c.name} ${c.shape} >= 60% of matmul`, share >= 60, `${share.toFixed(0)}%`]);
  if (c.group === 'grouped 32x8')
    checks.push([`${c.group} ${c.name} >= 50% of matmul`, share >= 50, `${share.toFixed(0)}%`]);
  if (c.group === 'grouped 32x4')
    checks.push([`${c.group} ${c.name} >= 30% of matmul`, share >= 30, `${share.toFixed(0)}%`]);
  if (c.group === 'depthwise' && c.name.startsWith('backward')) {
    const fwd = oneMs[i - 1];
    const ratio = oneMs[i] / fwd;
    checks.push([`depthwise backward ${c.shape} <= 2x tfjs forward time`, ratio <= 2, `${ratio.toFixed(2)}x`]);
  }
}
console.log('\nTargets (one thread):');
for (const [what, ok, got] of checks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${what}: ${got}`);

// The targets of the threads issue: all threads against one, in this run.
const threadChecks = [];
for (const [i, c] of list.entries()) {
  if (c.group === 'conv' || c.group === 'matmul') {
    const ratio = oneMs[i] / wasmMs[i];
    threadChecks.push([
      `${c.group} ${c.name} ${c.shape}: ${info.threads} threads >= 1.7x one thread`,
      ratio >= 1.7,
      `${ratio.toFixed(2)}x`,
    ]);
  }
}
// The target is checked on the real model where it is built, else on the op stack. The two differ in their
// batch norm: the model's is a multiply and an add, the stack's is tfjs's tf.batchNorm kernel, which gains
// less from threads (both rows are printed).
const target = nets[nets.length - 1];
const resnetRatio = target.all / target.one;
threadChecks.push([
  `${target.kernel.replace('inference', 'batch-1 224x224 inference')}: ${info.threads} threads <= 0.6x one thread's time`,
  resnetRatio <= 0.6,
  `${resnetRatio.toFixed(2)}x (${target.one.toFixed(0)} -> ${target.all.toFixed(0)} ms)`,
]);
console.log(`\nTargets (${info.threads} threads against one):`);
for (const [what, ok, got] of threadChecks) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${what}: ${got}`);

function printTable(rs) {
  const cols = Object.keys(rs[0]);
  const width = cols.map((c) => Math.max(c.length, ...rs.map((r) => String(r[c]).length)));
  const line = (vals) =>
    vals.map((v, i) => (i < 2 ? String(v).padEnd(width[i]) : String(v).padStart(width[i]))).join('  ');
  console.log(line(cols));
  console.log(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rs) console.log(line(cols.map((c) => r[c])));
}
