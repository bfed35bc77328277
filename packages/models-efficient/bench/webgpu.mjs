// WebGPU in Node.js (Dawn, the optional `webgpu` package) against wasm, in one command (issue #20):
//
//   npm run bench:webgpu                                   (from the repository root: builds, then runs this)
//   npm run bench:webgpu -w @cnn/models-efficient -- [--rounds 2] [--iters 3] [--json]
//
// 1. Whether Dawn finds an adapter here, and if not exactly why: setBackend('webgpu')'s WebGpuBackendError (which names
//    the Vulkan loader and driver files it found), Dawn's own lines on stderr (which adapter it refused, and why), and
//    what this script looked for besides: GPU device nodes, PCI display controllers, nvidia-smi, the Vulkan variables.
//    The probe runs in a child process, so Dawn's stderr can be quoted.
// 2. Only where Dawn finds an adapter: ResNet-50 batch 32 inference (224x224x3) and resnet18_cifar batch 64 training
//    steps (32x32x3, SGD with momentum) in img/s on webgpu and on wasm (every core), rounds alternating between the two
//    backends, each keeping its best round's median (other processes only ever add time). Every timed call ends by
//    reading a result back with `await data()`, so the GPU's queue is drained inside the timing.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SGD, crossEntropy } from '@cnn/train';
import { backendInfo, getModel, manualSeed, setBackend, tf } from '../dist/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`--${name} takes a whole number from 1 to 50`);
  return n;
};

// The child: try the backend the way a user would, print the outcome as JSON on stdout.
if (args.includes('--probe')) {
  try {
    await setBackend('webgpu');
    const info = backendInfo();
    console.log(JSON.stringify({ ok: true, device: info.device, adapter: info.adapter }));
  } catch (err) {
    console.log(
      JSON.stringify({ ok: false, name: err?.name, reason: err?.reason, message: String(err?.message ?? err) }),
    );
  }
  process.exit(0);
}

const ROUNDS = flag('rounds', 2);
const ITERS = flag('iters', 3);
const JSON_OUT = args.includes('--json');
const CASES = [
  { name: 'ResNet-50 inference', id: 'resnet50', batch: 32, input: [224, 224, 3], train: false },
  { name: 'resnet18_cifar training', id: 'resnet18_cifar', batch: 64, input: [32, 32, 3], train: true },
];

/** Runs a command; its stdout, or null when it cannot run. */
function run(cmd, argv, timeout = 10_000) {
  return new Promise((ok) =>
    execFile(cmd, argv, { timeout, encoding: 'utf8' }, (err, stdout, stderr) =>
      ok(err && !stdout ? null : { stdout, stderr, code: err?.code ?? 0 }),
    ),
  );
}

const PCI_VENDORS = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x1af4': 'virtio (virtual)',
  '0x1234': 'QEMU standard VGA (virtual)',
  '0x15ad': 'VMware (virtual)',
  '0x1414': 'Microsoft Hyper-V (virtual)',
  '0x1013': 'Cirrus (virtual)',
  '0x1a03': 'ASPEED (server BMC)',
  '0x102b': 'Matrox (server)',
};

/** What this machine shows of a GPU, outside Dawn. */
async function lookAround() {
  const list = (dir, re) => {
    try {
      return readdirSync(dir).filter((n) => re.test(n));
    } catch {
      return [];
    }
  };
  const pci = [];
  const devices = list('/sys/bus/pci/devices', /./);
  for (const dev of devices) {
    const read = (f) => {
      try {
        return readFileSync(`/sys/bus/pci/devices/${dev}/${f}`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    if (!read('class').startsWith('0x03')) continue; // display controllers
    const vendor = read('vendor');
    pci.push(`${dev} ${PCI_VENDORS[vendor] ?? `vendor ${vendor}`} device ${read('device')}`);
  }
  const smi = await run('nvidia-smi', ['-L']);
  const require = createRequire(import.meta.url);
  let dawn = 'not installed';
  try {
    dawn = `webgpu ${require(require.resolve('webgpu/package.json', { paths: [fileURLToPath(new URL('../../tensor/', import.meta.url))] })).version}`;
  } catch {
    // reported as not installed
  }
  return {
    platform: `${process.platform} ${process.arch}, node ${process.version}`,
    dawn,
    'GPU device nodes': [
      ...list('/dev/dri', /^(renderD|card)\d+$/).map((n) => `/dev/dri/${n}`),
      ...list('/dev', /^nvidia(\d+|ctl|-uvm)$/).map((n) => `/dev/${n}`),
    ],
    'PCI display controllers': pci.length ? pci : `none (of ${devices.length} PCI devices in /sys/bus/pci/devices)`,
    'NVIDIA driver': existsSync('/proc/driver/nvidia/version')
      ? readFileSync('/proc/driver/nvidia/version', 'utf8').split('\n')[0]
      : 'none (/proc/driver/nvidia/version missing)',
    'nvidia-smi -L': smi ? smi.stdout.trim() || '(no output)' : 'not found',
    'VK_ICD_FILENAMES / VK_DRIVER_FILES': process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? 'unset',
  };
}

/** setBackend('webgpu') in a child process: its outcome, and Dawn's own lines on stderr. */
async function probe() {
  const r = await run(process.execPath, [fileURLToPath(import.meta.url), '--probe'], 120_000);
  if (!r) return { ok: false, message: 'the probe process did not run', dawnSays: [] };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let outcome;
  try {
    outcome = JSON.parse(last);
  } catch {
    outcome = { ok: false, message: `the probe printed no result (exit ${r.code}): ${r.stdout.trim()}` };
  }
  const dawnSays = r.stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  return { ...outcome, dawnSays };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One case on the active backend: the median ms per batch over ITERS after a warm-up. */
async function measure(c) {
  manualSeed(0);
  const model = getModel(c.id);
  const x = tf.randomNormal([c.batch, ...c.input]);
  const y = tf.tensor1d(
    Array.from({ length: c.batch }, (_, i) => i % 10),
    'int32',
  );
  const opt = c.train ? new SGD(model, { lr: 1e-3, momentum: 0.9 }) : undefined;
  const vars = opt?.params.map((p) => p.variable).filter((v) => v.trainable);
  c.train ? model.train() : model.eval();
  const once = async () => {
    const t0 = performance.now();
    if (opt) {
      // Optimizer.minimize reads the loss with dataSync, which tfjs's WebGPU backend cannot do in Node.js (no
      // OffscreenCanvas): the same step, with the loss read by `await data()` after the update is queued.
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.call(x), y), vars);
      opt.step(grads);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    } else {
      const out = tf.tidy(() => model.call(x));
      await out.data();
      out.dispose();
    }
    return performance.now() - t0;
  };
  try {
    await once();
    const times = [];
    for (let i = 0; i < ITERS; i++) times.push(await once());
    return median(times);
  } finally {
    tf.dispose([x, y]);
    opt?.dispose();
    model.dispose();
  }
}

async function benchmark() {
  const best = { wasm: {}, webgpu: {} };
  const devices = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const backend of round % 2 ? ['webgpu', 'wasm'] : ['wasm', 'webgpu']) {
      await setBackend(backend);
      devices[backend] = backendInfo().device;
      for (const c of CASES) {
        const ms = await measure(c);
        best[backend][c.name] = Math.min(best[backend][c.name] ?? Number.POSITIVE_INFINITY, ms);
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${backend} ${c.name}: ${ms.toFixed(0)} ms\n`);
      }
    }
  }
  return {
    devices,
    rows: CASES.map((c) => {
      const w = best.wasm[c.name];
      const g = best.webgpu[c.name];
      return {
        case: `${c.name}, batch ${c.batch}, ${c.input.join('x')}`,
        wasmImagesPerSecond: (c.batch * 1000) / w,
        webgpuImagesPerSecond: (c.batch * 1000) / g,
        speedUp: w / g,
      };
    }),
  };
}

const facts = await lookAround();
const outcome = await probe();
const result = outcome.ok ? await benchmark() : undefined;
if (JSON_OUT) {
  console.log(JSON.stringify({ facts, adapter: outcome, result }, null, 2));
} else {
  console.log(`WebGPU benchmark (Node.js, Dawn): ${facts.platform}; ${facts.dawn}`);
  console.log('\nLooked for:');
  for (const [k, v] of Object.entries(facts))
    if (k !== 'platform' && k !== 'dawn')
      console.log(`  ${k}: ${Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : v}`);
  if (outcome.ok) {
    console.log(`\nDawn adapter: yes, ${outcome.device}`);
    console.log(`wasm: ${result.devices.wasm}; ${ROUNDS} rounds alternating, median of ${ITERS} per round, best round`);
    console.log('\ncase                                                  wasm img/s  webgpu img/s  webgpu / wasm');
    for (const r of result.rows)
      console.log(
        `${r.case.padEnd(52)}  ${r.wasmImagesPerSecond.toFixed(1).padStart(10)}  ${r.webgpuImagesPerSecond.toFixed(1).padStart(12)}  ${r.speedUp.toFixed(2).padStart(12)}x`,
      );
  } else {
    console.log('\nDawn adapter: none, so nothing was measured. Why:');
    console.log(
      `  setBackend('webgpu'): ${outcome.name ?? 'error'}${outcome.reason ? ` (${outcome.reason})` : ''}:\n    ${outcome.message.split('\n').join('\n    ')}`,
    );
    if (outcome.dawnSays.length) console.log(`  Dawn's own lines on stderr:\n    ${outcome.dawnSays.join('\n    ')}`);
  }
}
