// One runner process: node child.mjs '<json>' with { runner, model, threads, batches, dir, loader, quick }.
// Loads one engine at the given thread count, checks its logits against torchvision's, then times each batch size
// and prints one line `RESULT <json>`. Each runner lives in its own process so that thread pools never mix.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CLASSES,
  IMAGE,
  LOGITS_TOLERANCE,
  REF_BATCH,
  logitsDiff,
  nchwToNhwc,
  readSafetensorsF32,
  referenceInput,
  referenceLogits,
  tileNCHW,
} from './lib/common.mjs';

const cfg = JSON.parse(process.argv[2]);
const { runner, model, threads, batches, dir } = cfg;

/** Each engine: prepare(nchw, batch) -> { run(): Promise<Float32Array>, dispose() }, plus info. */
async function cnnEngine() {
  const m = await import('@cnn/models-efficient');
  await m.setThreads(threads);
  await m.setBackend('wasm');
  const net = m.getModel(model);
  await net.loadWeights(join(dir, `${model}.safetensors`));
  net.eval();
  return {
    info: m.backendInfo().device,
    prepare(nchw, batch) {
      const x = m.tf.tensor4d(nchwToNhwc(nchw, batch, 3, IMAGE, IMAGE), [batch, IMAGE, IMAGE, 3]);
      return {
        async run() {
          const y = net.call(x);
          const d = y.dataSync();
          y.dispose();
          return d;
        },
        dispose: () => x.dispose(),
      };
    },
  };
}

async function ortEngine() {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(join(dir, `${model}.onnx`), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  return {
    info: `onnxruntime-web ${ort.env.versions?.web ?? ''} wasm EP (SIMD), numThreads ${threads}`,
    prepare(nchw, batch) {
      const x = new ort.Tensor('float32', nchw, [batch, 3, IMAGE, IMAGE]);
      return {
        async run() {
          const out = await session.run({ input: x });
          const d = out.logits.data;
          out.logits.dispose?.();
          return d;
        },
        dispose() {},
      };
    },
  };
}

async function tfjsEngine() {
  const tf = await import('@tensorflow/tfjs-core');
  const { BackendWasm } = await import('@tensorflow/tfjs-backend-wasm');
  // cnn's loader of the threaded-SIMD build, bundled alone by run.mjs (no cnn kernels): tfjs's own kernels only.
  const { loadThreadedWasm } = await import(pathToFileURL(cfg.loader).href);
  const module = await loadThreadedWasm(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new BackendWasm(module), 3);
  if (!(await tf.setBackend('wasm'))) throw new Error('stock tfjs: the threaded wasm backend failed to start');
  await tf.ready();
  const { buildFusedGraph } = await import('./lib/tfjs-fused-graph.mjs');
  const graph = buildFusedGraph(tf, readSafetensorsF32(join(dir, `${model}.safetensors`)), model);
  return {
    info: `stock tfjs-backend-wasm threaded-SIMD, ${module._get_threads_count?.() ?? '?'} threads`,
    get convs() {
      return graph.convs;
    },
    prepare(nchw, batch) {
      const x = tf.tensor4d(nchwToNhwc(nchw, batch, 3, IMAGE, IMAGE), [batch, IMAGE, IMAGE, 3]);
      return {
        async run() {
          const y = graph.forward(x);
          const d = y.dataSync();
          y.dispose();
          return d;
        },
        dispose: () => x.dispose(),
      };
    },
  };
}

const engines = { cnn: cnnEngine, ort: ortEngine, tfjs: tfjsEngine };
const result = { runner, model, threads, times: {} };
try {
  const engine = await engines[runner]();
  result.info = engine.info;
  const ref = referenceInput(dir);
  // The check: torchvision's logits for the two reference images.
  const check = engine.prepare(ref, REF_BATCH);
  const got = await check.run();
  check.dispose();
  const diff = logitsDiff(got.subarray(0, REF_BATCH * CLASSES), referenceLogits(dir, model));
  result.check = { ...diff, ok: diff.rel <= LOGITS_TOLERANCE };
  if ('convs' in engine) result.convs = engine.convs;
  if (result.check.ok) {
    for (const batch of batches) {
      const p = engine.prepare(tileNCHW(ref, batch), batch);
      const big = batch > 8;
      const warm = big ? 1 : 2;
      const minIters = cfg.quick ? (big ? 1 : 3) : big ? 2 : 5;
      const maxIters = cfg.quick ? (big ? 2 : 8) : big ? 3 : 20;
      const budgetMs = cfg.quick ? 1000 : 3000;
      for (let i = 0; i < warm; i++) await p.run();
      const times = [];
      const start = performance.now();
      while (times.length < maxIters && (times.length < minIters || performance.now() - start < budgetMs)) {
        const t0 = performance.now();
        await p.run();
        times.push(performance.now() - t0);
      }
      p.dispose();
      result.times[batch] = times;
    }
  }
} catch (err) {
  result.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
