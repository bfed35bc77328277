// cnn's own wasm kernels alone, compiled from two (or more) versions of kernels.c, timed side by side in one
// process on one thread: no tfjs, no JavaScript between the calls, so a change in the compiled code itself shows
// (session 8 found the Winograd products and the filter gradient 10-60 % slower once the training kernels had
// joined the file; see the KERNEL comment in kernels.c).
//
//   node packages/tensor/bench/kernel-ops.mjs [--revs HEAD,work] [--rounds 30] [--only wino,filter] [--batch N]
//
// Each entry of --revs is a git revision (kernels.c as committed there), `work` (the working tree's kernels.c) or
// the path of a .c file (a variant being tried).
// Each is compiled by scripts/build-kernels.mjs --src/--wasm (the shared-memory module tfjs's threaded build
// loads) and driven through its own OP_ numbers and struct layout (read from that revision's source). Rounds
// alternate between the versions; each keeps its best time. Outputs are compared too: a version whose results
// differ from the first one's is reported (the kernels are deterministic on one thread).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseKernelAbi } from '../scripts/kernel-abi.mjs';
import { parseFlags } from './flags.mjs';

const flags = parseFlags(
  process.argv.slice(2),
  { revs: 'HEAD,work', rounds: '30', only: '', batch: '' },
  'node packages/tensor/bench/kernel-ops.mjs [--revs HEAD,work] [--rounds 30] [--only wino,filter] [--batch N]',
);
const revs = flags.revs.split(',');
const rounds = Number(flags.rounds);
const only = flags.only;
const batch = flags.batch; // overrides every case's batch

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const rel = 'packages/tensor/src/wasm/kernels.c';
const tmp = mkdtempSync(join(tmpdir(), 'cnn-kernel-ops-'));

function build(rev, i) {
  const source =
    rev === 'work'
      ? readFileSync(join(pkg, 'src/wasm/kernels.c'), 'utf8')
      : rev.endsWith('.c')
        ? readFileSync(rev, 'utf8')
        : execFileSync('git', ['show', `${rev}:${rel}`], { cwd: pkg, encoding: 'utf8', maxBuffer: 16 << 20 });
  const src = join(tmp, `k${i}.c`);
  const wasm = join(tmp, `k${i}.wasm`);
  writeFileSync(src, source);
  execFileSync('node', [join(pkg, 'scripts/build-kernels.mjs'), '--src', src, '--wasm', wasm], { stdio: 'ignore' });
  const abi = parseKernelAbi(source);
  const op = Object.fromEntries(abi.ops.map((o) => [o.name, o.value]));
  return { rev, bytes: readFileSync(wasm), op, fields: abi.fields.map((f) => f.name) };
}

// [label, op, parameters, setup op run first on the same block (Winograd's filter transform) or undefined]
const conv3 = (n, h, c, co, extra = {}) => ({ n, h, w: h, c, oh: h, ow: h, co, kh: 3, kw: 3, pt: 1, pl: 1, ...extra });
const CASES = [
  ['wino fwd 56x56x64 b8', 'wino_fwd', conv3(8, 56, 64, 64), 'wino_filter'],
  ['wino4 fwd 56x56x64 b8', 'wino4_fwd', conv3(8, 56, 64, 64), 'wino4_filter'],
  ['wino fwd 28x28x128 b8', 'wino_fwd', conv3(8, 28, 128, 128), 'wino_filter'],
  ['wino4 fwd 28x28x128 b8', 'wino4_fwd', conv3(8, 28, 128, 128), 'wino4_filter'],
  ['wino fwd 14x14x256 b8', 'wino_fwd', conv3(8, 14, 256, 256), 'wino_filter'],
  ['wino4 fwd 14x14x256 b8', 'wino4_fwd', conv3(8, 14, 256, 256), 'wino4_filter'],
  ['wino fwd 7x7x512 b8', 'wino_fwd', conv3(8, 7, 512, 512), 'wino_filter'],
  ['wino4 fwd 7x7x512 b8', 'wino4_fwd', conv3(8, 7, 512, 512), 'wino4_filter'],
  ['wino fwd 32x32x16 b8', 'wino_fwd', conv3(8, 32, 16, 16), 'wino_filter'],
  ['wino4 fwd 32x32x16 b8', 'wino4_fwd', conv3(8, 32, 16, 16), 'wino4_filter'],
  ['wino fwd 16x16x32 b8', 'wino_fwd', conv3(8, 16, 32, 32), 'wino_filter'],
  ['wino4 fwd 16x16x32 b8', 'wino4_fwd', conv3(8, 16, 32, 32), 'wino4_filter'],
  ['wino fwd 8x8x64 b8', 'wino_fwd', conv3(8, 8, 64, 64), 'wino_filter'],
  ['wino4 fwd 8x8x64 b8', 'wino4_fwd', conv3(8, 8, 64, 64), 'wino4_filter'],
  ['wino fwd 28x28x96>128 b8', 'wino_fwd', conv3(8, 28, 96, 128), 'wino_filter'],
  ['wino4 fwd 28x28x96>128 b8', 'wino4_fwd', conv3(8, 28, 96, 128), 'wino4_filter'],
  ['wino fwd 224x224x64 b1', 'wino_fwd', conv3(1, 224, 64, 64), 'wino_filter'],
  ['wino4 fwd 224x224x64 b1', 'wino4_fwd', conv3(1, 224, 64, 64), 'wino4_filter'],
  ['wino fwd 28x28x512 b1', 'wino_fwd', conv3(1, 28, 512, 512), 'wino_filter'],
  ['wino4 fwd 28x28x512 b1', 'wino4_fwd', conv3(1, 28, 512, 512), 'wino4_filter'],
  [
    'conv fwd 28x28x1 5x5>6 b1',
    'conv_fwd',
    { n: 1, h: 28, w: 28, c: 1, oh: 28, ow: 28, co: 6, kh: 5, kw: 5, pt: 2, pl: 2 },
  ],
  ['conv fwd 28x28x1 1x1>6 b1', 'conv_fwd', { n: 1, h: 28, w: 28, c: 1, oh: 28, ow: 28, co: 6, kh: 1, kw: 1 }],
  [
    'conv fwd 28x28x1 3x3>6 b1',
    'conv_fwd',
    { n: 1, h: 28, w: 28, c: 1, oh: 28, ow: 28, co: 6, kh: 3, kw: 3, pt: 1, pl: 1 },
  ],
  [
    'conv fwd 28x28x8 5x5>6 b1',
    'conv_fwd',
    { n: 1, h: 28, w: 28, c: 8, oh: 28, ow: 28, co: 6, kh: 5, kw: 5, pt: 2, pl: 2 },
  ],
  ['conv fwd 14x14x6 5x5>16 b1', 'conv_fwd', { n: 1, h: 14, w: 14, c: 6, oh: 10, ow: 10, co: 16, kh: 5, kw: 5 }],
  ['conv fwd 5x5x16 5x5>120 b1', 'conv_fwd', { n: 1, h: 5, w: 5, c: 16, oh: 1, ow: 1, co: 120, kh: 5, kw: 5 }],
  // ShuffleNetV1 0.5x's first 1x1 and ResNet-20's stride-2 3x3 (batch 1): below XNNPACK on one thread in session 12.
  ['conv fwd 56x56x12 1x1>18 b1', 'conv_fwd', { n: 1, h: 56, w: 56, c: 12, oh: 56, ow: 56, co: 18, kh: 1, kw: 1 }],
  ['conv fwd 32x32x16 3x3 s2>32 b1', 'conv_fwd', conv3(1, 32, 16, 32, { oh: 16, ow: 16, sh: 2, sw: 2, pt: 0, pl: 0 })],
  ['conv fwd grouped 14x14x256 g32 b4', 'conv_fwd', conv3(4, 14, 256, 256, { groups: 32 })],
  ['dw fwd 56x56x144 b4', 'dw_fwd', conv3(4, 56, 144, 144, { groups: 144 })],
  ['dw fwd 112x112x32 b1', 'dw_fwd', conv3(1, 112, 32, 32, { groups: 32 })],
  ['dw fwd 56x56x144 b1', 'dw_fwd', conv3(1, 56, 144, 144, { groups: 144 })],
  ['dw fwd 56x56x144 b2', 'dw_fwd', conv3(2, 56, 144, 144, { groups: 144 })],
  ['dw fwd 48x48x144 b4', 'dw_fwd', conv3(4, 48, 144, 144, { groups: 144 })],
  ['dw fwd 56x56x64 b4', 'dw_fwd', conv3(4, 56, 64, 64, { groups: 64 })],
  ['dw fwd 28x28x192 b1', 'dw_fwd', conv3(1, 28, 192, 192, { groups: 192 })],
  ['dw fwd 14x14x576 b1', 'dw_fwd', conv3(1, 14, 576, 576, { groups: 576 })],
  ['dw fwd 7x7x960 b1', 'dw_fwd', conv3(1, 7, 960, 960, { groups: 960 })],
  ['dw fwd 56x56x18 b1', 'dw_fwd', conv3(1, 56, 18, 18, { groups: 18 })],
  ['dw fwd 28x28x30 b1', 'dw_fwd', conv3(1, 28, 30, 30, { groups: 30 })],
  ['dw fwd 28x28x6 b8', 'dw_fwd', conv3(8, 28, 6, 6, { groups: 6 })],
  ['filter grad 16x16x64 b16', 'conv_bwd_filter', conv3(16, 16, 64, 64)],
  ['filter grad 32x32x16 b16', 'conv_bwd_filter', conv3(16, 32, 16, 16)],
  ['input grad 16x16x64 b16', 'conv_bwd_input', conv3(16, 16, 64, 64)],
  ['input grad 32x32x16 b16', 'conv_bwd_input', conv3(16, 32, 16, 16)],
  ['input grad 16x16x32 b16', 'conv_bwd_input', conv3(16, 16, 32, 32)],
  ['input grad 32x32x64 b16', 'conv_bwd_input', conv3(16, 32, 64, 64)],
  ['input grad 8x8x256 b16', 'conv_bwd_input', conv3(16, 8, 256, 256)],
  ['wino fwd 16x16x64 b16', 'wino_fwd', conv3(16, 16, 64, 64), 'wino_filter'],
  ['wino4 fwd 16x16x64 b16', 'wino4_fwd', conv3(16, 16, 64, 64), 'wino4_filter'],
  ['wino4 fwd 32x32x64 b16', 'wino4_fwd', conv3(16, 32, 64, 64), 'wino4_filter'],
  ['wino4 fwd 8x8x256 b16', 'wino4_fwd', conv3(16, 8, 256, 256), 'wino4_filter'],
  ['dw filter grad 28x28x144 b8', 'dw_bwd_filter', conv3(8, 28, 144, 144, { groups: 144 })],
]
  .filter(([label]) => !only || only.split(',').some((o) => label.includes(o)))
  .map(([label, op, p, setup]) =>
    batch ? [label.replace(/ b\d+$/, ` b${batch}`), op, { ...p, n: Number(batch) }, setup] : [label, op, p, setup],
  );

// Sizes in floats of x, f and y for a case (generous for every op above: f holds a transformed filter too).
const sizes = (p) => ({
  x: p.n * p.h * p.w * p.c,
  f: 36 * (p.c / (p.groups ?? 1)) * (Math.ceil(p.co / 8) * 8) + 9 * p.c * p.co,
  y: p.n * p.oh * p.ow * p.co,
});

function instance(v, [, opName, params, setupOp]) {
  const memory = new WebAssembly.Memory({ initial: 4096, maximum: 65536, shared: true });
  const e = new WebAssembly.Instance(new WebAssembly.Module(v.bytes), { env: { memory } }).exports;
  let top = 4096;
  const alloc = (floats) => {
    const at = top;
    top += (floats * 4 + 63) & ~63;
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
    return at;
  };
  const block = alloc(v.fields.length);
  const s = sizes(params);
  const x = alloc(s.x);
  const f = alloc(s.f);
  const f2 = alloc(s.f);
  const y = alloc(s.y);
  const bias = alloc(params.co);
  const fill = (at, n, k) => {
    const a = new Float32Array(memory.buffer, at, n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i * k + 0.3);
  };
  fill(x, s.x, 0.37);
  fill(f, s.f, 0.11);
  fill(y, s.y, 0.7);
  const base = { sh: 1, sw: 1, dh: 1, dw: 1, groups: 1, slots: 1, act: 0, scratch: 0, ...params };
  const write = (o) => {
    const words = new Int32Array(memory.buffer, block, v.fields.length);
    v.fields.forEach((name, i) => {
      words[i] = o[name] ?? 0;
    });
  };
  const call = (op, o) => {
    write(o);
    const scratch = alloc(e.scratch_bytes(op, block) / 4);
    const full = { ...o, scratch };
    write(full);
    return () => {
      const units = e.prepare(op, block);
      for (let u = 0; u < units; u++) e.run(op, block, u, 0);
      e.finish?.(op, block); // revisions before finish() had none
    };
  };
  let main;
  let out;
  if (setupOp) {
    call(v.op[setupOp], { ...base, f, y: f2 })();
    main = call(v.op[opName], { ...base, x, f: f2, y, bias, act: 1 });
    out = () => new Float32Array(memory.buffer, y, s.y);
  } else if (opName === 'conv_fwd' || opName === 'dw_fwd') {
    main = call(v.op[opName], { ...base, x, f, y, bias, act: 1 });
    out = () => new Float32Array(memory.buffer, y, s.y);
  } else if (opName === 'conv_bwd_input') {
    // x is the input gradient written, y the output gradient read.
    main = call(v.op[opName], { ...base, x, f, y });
    out = () => new Float32Array(memory.buffer, x, s.x);
  } else {
    // Filter gradients: f is written.
    main = call(v.op[opName], { ...base, x, f, y });
    out = () => new Float32Array(memory.buffer, f, 9 * (params.c / (params.groups ?? 1)) * params.co);
  }
  return { run: main, out };
}

const versions = revs.map(build);
const rows = [];
for (const c of CASES) {
  // A revision without the case's kernel (an op added later) shows '-'.
  const insts = versions.map((v) =>
    v.op[c[1]] !== undefined && (!c[3] || v.op[c[3]] !== undefined) ? instance(v, c) : undefined,
  );
  const best = insts.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    insts.forEach((it, i) => {
      if (!it) return;
      const t = performance.now();
      it.run();
      best[i] = Math.min(best[i], performance.now() - t);
    });
  }
  const first = insts.findIndex(Boolean);
  const ref = insts[first]?.out();
  const row = { case: c[0] };
  versions.forEach((v, i) => {
    row[`${v.rev} ms`] = insts[i] ? Number(best[i].toFixed(best[i] < 1 ? 4 : 2)) : '-';
    if (i === 0) return;
    row[`${v.rev} / ${versions[0].rev}`] = insts[i] && insts[0] ? Number((best[0] / best[i]).toFixed(2)) : '-';
    if (!insts[i] || i === first) return;
    const o = insts[i].out();
    let diff = 0;
    for (let k = 0; k < ref.length; k++) diff = Math.max(diff, Math.abs(o[k] - ref[k]));
    if (diff > 0) row[`${v.rev} max |diff|`] = diff;
  });
  rows.push(row);
}
console.log(`kernels.c versions: ${revs.join(', ')}; one thread, best of ${rounds} alternating rounds`);
console.table(rows);
console.log(`(x / ${versions[0].rev} above 1: faster than ${versions[0].rev})`);
