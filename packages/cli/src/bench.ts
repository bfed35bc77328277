// `cnn bench`: how fast models run here: inference and training steps per second on the chosen backend, with the
// effective GFLOP/s (2 x MACs per image), so that models of different sizes compare.
import { backendInfo, getCard, listModels, setBackend, setThreads, summary, tf } from '@cnn/models-efficient';
import { SGD, crossEntropy } from '@cnn/train';
import { BACKEND_CHOICES, UsageError, choice, fmt, hwc, int, parse, str, table, quote } from './args';
import { buildModel, checkModelId } from './model-file';

export const HELP_BENCH = `Usage: cnn bench [options]

Times inference (eval mode, no gradients) and training steps (forward, backward, SGD update) of models on random
inputs, after warm-up, and prints the median time per batch, images per second and effective GFLOP/s.

Options:
  --model <ids>            comma-separated model ids or patterns ('*' for every id, 'resnet*')
                           (default lenet5,resnet20_cifar)
  --batch-size <n>         default 32
  --input <HxWxC>          input size (default: each model's own)
  --iters <n>              timed repetitions, the median is reported (default 5)
  --backend <name>         wasm | webgpu | cuda | cpu | auto (default wasm)
  --threads <n,...>        wasm threads: a count from 1 to 1024 or 'auto' (every core; the default), or several
                           (e.g. 1,2): each model runs on each, and the forward speed-up over the first is printed
  --forward-only           time inference only (no training steps)
  --json                   print the results as JSON`;

/** Most thread counts one `--threads` list takes. */
export const MAX_THREAD_COUNTS = 8;

/** Parses `--threads`: comma-separated counts from 1 to 1024 or 'auto' (at most {@link MAX_THREAD_COUNTS}). */
export function parseThreads(value: string): Array<number | 'auto'> {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length > MAX_THREAD_COUNTS)
    throw new UsageError(`--threads takes at most ${MAX_THREAD_COUNTS} counts, got ${parts.length}`);
  return parts.map((p) => {
    if (p === 'auto') return 'auto';
    const n = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(n) || n < 1 || n > 1024)
      throw new UsageError(
        `--threads must be a whole number from 1 to 1024 or 'auto' (or a comma-separated list of them), got ${quote(value)}`,
      );
    return n;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `cnn bench`; returns the exit code. */
export async function cmdBench(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      model: { type: 'string' },
      'batch-size': { type: 'string' },
      input: { type: 'string' },
      iters: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'forward-only': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    'bench',
  );
  if (values.help) {
    console.log(HELP_BENCH);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`cnn bench takes no positional arguments, got ${quote(positionals[0]!)} (use --model a,b)`);
  const ids = (str(values, 'model') ?? 'lenet5,resnet20_cifar')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((p) => {
      if (!p.includes('*')) return [p];
      const matched = listModels(p);
      if (matched.length === 0) throw new UsageError(`--model ${quote(p)} matches no model id (cnn list shows them)`);
      return matched;
    });
  const batch = int(values, 'batch-size', 32, 1, 4096);
  const iters = int(values, 'iters', 5, 1, 1000);
  const input = str(values, 'input');
  const backend = choice(values, 'backend', BACKEND_CHOICES, 'wasm');
  const threadsFlag = str(values, 'threads');
  const threadCounts = threadsFlag === undefined ? undefined : parseThreads(threadsFlag);
  if (threadCounts && backend !== 'wasm')
    throw new UsageError(`--threads applies to the wasm backend only, got --backend ${backend}`);
  const forwardOnly = values['forward-only'] === true;
  for (const id of ids) checkModelId(id);
  const rows: Array<Record<string, number | string>> = [];
  let bi = backendInfo();
  for (const threads of threadCounts ?? [undefined]) {
    // setThreads re-creates the wasm backend with its pool: every model is built on it afresh.
    if (threads !== undefined) await setThreads(threads);
    await setBackend(backend);
    bi = backendInfo();
    rows.push(...(await benchModels(ids, batch, iters, input, forwardOnly, bi.threads)));
  }
  if (threadCounts && threadCounts.length > 1) {
    // The forward speed-up of each thread count over the first, per model.
    for (const r of rows) {
      const first = rows.find((o) => o.model === r.model && o.threads === rows[0]!.threads);
      r.forwardSpeedup = (first!.forwardMs as number) / (r.forwardMs as number);
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ backend: bi, rows }, null, 2));
    return 0;
  }
  const counts = [...new Set(rows.map((r) => r.threads))];
  console.log(
    `cnn bench: backend ${bi.backend}${bi.simd ? ' SIMD' : ''}, ${counts.join(', ')} thread${counts.length === 1 && counts[0] === 1 ? '' : 's'}; batch ${batch}, median of ${iters}`,
  );
  const f1 = (v: number | string | undefined) => (v === undefined ? '-' : typeof v === 'number' ? v.toFixed(1) : v);
  const speedups = rows.some((r) => r.forwardSpeedup !== undefined);
  console.log(
    table(
      [
        'model',
        'input',
        ...(counts.length > 1 ? ['threads'] : []),
        'MACs/image',
        'forward ms',
        'forward img/s',
        'forward GFLOP/s',
        ...(speedups ? [`speed-up vs ${rows[0]!.threads}`] : []),
        ...(forwardOnly ? [] : ['train ms', 'train img/s', 'train GFLOP/s']),
      ],
      rows.map((r) => [
        String(r.model),
        String(r.input),
        ...(counts.length > 1 ? [String(r.threads)] : []),
        fmt(r.macs as number),
        f1(r.forwardMs),
        f1(r.forwardImagesPerSecond),
        f1(r.forwardGflops),
        ...(speedups ? [`${(r.forwardSpeedup as number).toFixed(2)}x`] : []),
        ...(forwardOnly ? [] : [f1(r.trainMs), f1(r.trainImagesPerSecond), f1(r.trainGflops)]),
      ]),
    ),
  );
  if (!forwardOnly)
    console.log('train GFLOP/s counts a training step as 3 forward passes (forward, input gradient, weight gradient).');
  return 0;
}

/** Times each model on the backend as it is now (one row per model). */
async function benchModels(
  ids: string[],
  batch: number,
  iters: number,
  input: string | undefined,
  forwardOnly: boolean,
  threads: number,
): Promise<Array<Record<string, number | string>>> {
  const rows: Array<Record<string, number | string>> = [];
  for (const id of ids) {
    const card = getCard(id);
    const size = input ? hwc('input', input) : (card.inputSize as [number, number, number]);
    const model = buildModel({ id, numClasses: card.numClasses, inputSize: size });
    const macs = summary(model, size).totalMacs;
    const x = tf.randomNormal([batch, ...size]);
    const y = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % card.numClasses),
      'int32',
    );
    const opt = new SGD(model, { lr: 1e-3, momentum: 0.9 });
    const vars = model.parameters().filter((v) => v.trainable);
    // Each timed call ends by reading its result with `await data()`: on a GPU (webgpu, cuda) that waits for the queued
    // work, and on WebGPU a synchronous read (dataSync) is a slow canvas round trip, impossible in Node.js.
    const forward = async () => {
      model.eval();
      const t0 = performance.now();
      const out = tf.tidy(() => model.call(x));
      await out.data();
      out.dispose();
      return performance.now() - t0;
    };
    const trainStep = async () => {
      model.train();
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.call(x), y) as tf.Scalar, vars);
      opt.step(grads);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
      return performance.now() - t0;
    };
    const repeat = async (f: () => Promise<number>) => {
      const times: number[] = [];
      for (let i = 0; i < iters; i++) times.push(await f());
      return median(times);
    };
    try {
      await forward();
      const f = await repeat(forward);
      const row: Record<string, number | string> = {
        model: id,
        input: size.join('x'),
        batch,
        threads,
        macs,
        forwardMs: f,
        forwardImagesPerSecond: (batch * 1000) / f,
        forwardGflops: (2 * macs * batch) / f / 1e6,
      };
      if (!forwardOnly) {
        await trainStep();
        const t = await repeat(trainStep);
        Object.assign(row, {
          trainMs: t,
          trainImagesPerSecond: (batch * 1000) / t,
          trainGflops: (3 * 2 * macs * batch) / t / 1e6,
        });
      }
      rows.push(row);
    } finally {
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }
  }
  return rows;
}
