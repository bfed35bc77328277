// Eval forward of zoo models at each thread count: best and median time, and where the time goes (tfjs's
// per-kernel timing, summed by kernel name). Needs the model packages built (npx turbo run build).
//
//   node packages/tensor/bench/profile-models.mjs [--models mobilenet_v2,resnet18,resnet50] [--winograd on|off|auto]
//     [--igemm small|on|off|auto[,...]] [--threads 1,2] [--reps 8] [--rounds 2] [--batch 1] [--input HxWxC]
//     [--profile] [--profile-reps 5] [--per-call] [--per-call-top 20]
// `--winograd off --igemm off` runs every forward convolution and element-wise op on tfjs's kernels (as before #14).
// Each model runs at its card's input size unless --input says otherwise.
//
// An A/B inside one process: `--igemm small,auto` (or any comma list of values of --igemm / --winograd) runs every
// variant at every thread count in each round, alternating, and keeps each one's best round; so does the
// environment variable CNN_BENCH_AB=<tf flag>=<value>,<value> for any other tfjs flag (e.g. a route's own flag).
// `--profile` times `--profile-reps` profiled passes and keeps each kernel call's quickest, so a loaded machine's
// stalls do not land on one kernel; the table sums those minima by kernel name (tfjs's `...__op` wrappers left out).
//
// setThreads re-creates the backend, so the model is rebuilt on it. The machine is shared: compare within a run,
// read best times.
import { setBackend, setThreads, tf } from '../dist/index.js';
import { parseFlags } from './flags.mjs';

const flags = parseFlags(
  process.argv.slice(2),
  {
    models: 'mobilenet_v2,resnet18,resnet50',
    winograd: 'auto',
    igemm: 'small',
    threads: '1,2',
    reps: '8',
    rounds: '2',
    batch: '1',
    input: '',
    profile: false,
    'profile-reps': '5',
    'per-call': false,
    'per-call-top': '20',
  },
  'node packages/tensor/bench/profile-models.mjs [--models a,b] [--winograd on|off|auto[,...]] [--igemm small|on|off|auto[,...]] [--threads 1,2] [--reps 8] [--rounds 2] [--batch 1] [--input HxWxC] [--profile] [--profile-reps 5] [--per-call] [--per-call-top 20]',
);
const ids = flags.models.split(',');
const winograds = flags.winograd.split(',');
const igemms = flags.igemm.split(',');
const threadList = flags.threads.split(',').map(Number);
const reps = Number(flags.reps);
const rounds = Number(flags.rounds);
const batch = Number(flags.batch);
const input = flags.input ? flags.input.split('x').map(Number) : undefined;
const profile = flags.profile;
const profileReps = Number(flags['profile-reps']);
// CNN_BENCH_AB=FLAG=v1,v2: one more axis of variants, any tfjs flag.
const [abFlag, abValues] = (process.env.CNN_BENCH_AB ?? '').split('=');
const abList = abFlag ? abValues.split(',') : [undefined];

const variants = [];
for (const w of winograds) for (const i of igemms) for (const ab of abList) variants.push({ w, i, ab });
const label = (v) => `wino ${v.w} igemm ${v.i}${v.ab === undefined ? '' : ` ${abFlag} ${v.ab}`}`;

async function loadModel(id) {
  const eff = await import('@cnn/models-efficient');
  try {
    return { net: eff.getModel(id), card: eff.getCard(id) };
  } catch {
    const classic = await import('@cnn/models-classic');
    return { net: classic.getModel(id), card: classic.getCard(id) };
  }
}

async function measure(id, threads, v) {
  await setThreads(threads);
  await setBackend('wasm');
  tf.env().set('CNN_WINOGRAD', v.w);
  tf.env().set('CNN_IGEMM', v.i);
  if (v.ab !== undefined) tf.env().set(abFlag, Number.isNaN(Number(v.ab)) ? v.ab : Number(v.ab));
  const { net, card } = await loadModel(id);
  net.eval();
  const x = tf.randomNormal([batch, ...(input ?? card.inputSize)]);
  const fwd = () => tf.tidy(() => net.call(x));
  for (let i = 0; i < 2; i++) fwd().dispose();
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = fwd();
    y.dataSync();
    ms.push(performance.now() - t0);
    y.dispose();
  }
  ms.sort((a, b) => a - b);
  let calls;
  if (profile) {
    // calls[i]: the i-th kernel call of a forward (the same sequence every pass), its quickest time.
    for (let r = 0; r < profileReps; r++) {
      const p = await tf.profile(() => fwd());
      const ks = p.kernels.filter((k) => !k.name.endsWith('__op'));
      const times = await Promise.all(ks.map((k) => k.kernelTimeMs));
      if (!calls) calls = ks.map((k) => ({ name: k.name, shape: JSON.stringify(k.inputShapes), ms: Infinity }));
      ks.forEach((k, i) => {
        const t = typeof times[i] === 'number' ? times[i] : 0;
        if (calls[i] && calls[i].name === k.name && t < calls[i].ms) calls[i].ms = t;
      });
    }
  }
  x.dispose();
  net.dispose?.();
  return { best: ms[0], median: ms[Math.floor(ms.length / 2)], calls };
}

const rows = [];
for (const id of ids) {
  const res = new Map();
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      for (const t of threadList) {
        const key = `${label(v)} | ${t}T`;
        const m = await measure(id, t, v);
        const old = res.get(key);
        if (!old || m.best < old.best) res.set(key, { ...m, calls: m.calls ?? old?.calls });
        else if (m.calls && old) {
          // Keep the quicker time of each call over the rounds too.
          old.calls.forEach((c, i) => {
            if (m.calls[i] && m.calls[i].ms < c.ms) c.ms = m.calls[i].ms;
          });
        }
      }
    }
  }
  const base = res.get(`${label(variants[0])} | ${threadList[0]}T`).best;
  for (const [key, m] of res) {
    const row = {
      model: id,
      batch,
      variant: key,
      best: +m.best.toFixed(2),
      median: +m.median.toFixed(2),
      'speed-up vs first': +(base / m.best).toFixed(2),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  if (profile) {
    for (const [key, m] of res) {
      const by = {};
      for (const c of m.calls) {
        by[c.name] ??= { ms: 0, n: 0 };
        by[c.name].ms += c.ms;
        by[c.name].n++;
      }
      const sum = m.calls.reduce((a, c) => a + c.ms, 0);
      const top = Object.entries(by)
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 14)
        .map(([k, s]) => `${k} ${s.ms.toFixed(2)} (${s.n}x)`);
      console.log(`  ${id} ${key}: ${m.calls.length} kernel calls, ${sum.toFixed(2)} ms in kernels (sum of minima)`);
      console.log(`    ${top.join(', ')}`);
    }
    if (flags['per-call'] && res.size >= 2) {
      // Per call: each variant's minimum side by side, the calls whose time differs most first.
      const keys = [...res.keys()];
      const lists = keys.map((k) => res.get(k).calls);
      const diffs = lists[0].map((c, i) => ({
        i,
        name: c.name,
        shape: c.shape,
        ms: lists.map((l) => l[i]?.ms ?? NaN),
      }));
      diffs.sort((a, b) => b.ms[1] - b.ms[0] - (a.ms[1] - a.ms[0]));
      console.log(`  per call (${keys.join(' vs ')}), largest increase first:`);
      for (const d of diffs.slice(0, Number(flags['per-call-top']))) {
        console.log(`    #${d.i} ${d.name} ${d.shape}: ${d.ms.map((x) => x.toFixed(3)).join(' / ')}`);
      }
    }
  }
}
console.table(rows);
process.exit(0);
