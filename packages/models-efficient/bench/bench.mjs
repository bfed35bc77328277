// Batch-1 224x224 inference latency of the efficient models on the wasm backend, with the pure-JS cpu backend
// measured in the same run as the baseline.
//
//   npm run bench -w @cnn/models-efficient            (about two minutes: the cpu backend is slow)
//   npm run bench -w @cnn/models-efficient -- --quick wasm only
import { setBackend, backendInfo, getModel, manualSeed, tf } from '../dist/index.js';

const IDS = ['mobilenet_v2', 'shufflenet_v2_x1_0', 'mobilenet_v3_large', 'seresnet50'];
const quick = process.argv.includes('--quick');

function latency(id, reps) {
  manualSeed(0);
  const model = getModel(id).eval();
  const x = tf.randomNormal([1, 224, 224, 3]);
  const once = () => {
    const t0 = performance.now();
    const y = model.call(x);
    y.dataSync();
    const ms = performance.now() - t0;
    y.dispose();
    return ms;
  };
  once();
  const ms = Array.from({ length: reps }, once).sort((a, b) => a - b)[Math.floor(reps / 2)];
  x.dispose();
  model.dispose();
  return ms;
}

async function measure(backend, reps) {
  await setBackend(backend);
  const out = {};
  for (const id of IDS) {
    out[id] = latency(id, reps);
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return out;
}

const wasm = await measure('wasm', 9);
const device = backendInfo().device;
const cpu = quick ? null : await measure('cpu', 1);
console.log(`@cnn/models-efficient benchmark, batch 1, 224x224x3: ${device}; node ${process.version}\n`);
console.log('model                  wasm ms   cpu ms   wasm speed-up');
for (const id of IDS) {
  const c = cpu?.[id];
  console.log(
    `${id.padEnd(21)}  ${wasm[id].toFixed(1).padStart(7)}  ${c ? c.toFixed(0).padStart(7) : '      -'}   ${c ? `${(c / wasm[id]).toFixed(1)}x` : '-'}`,
  );
}
