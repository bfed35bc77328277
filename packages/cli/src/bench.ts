// `cnn bench`: how fast models run here: inference and training steps per second on the chosen backend, with the
// effective GFLOP/s (2 x MACs per image), so that models of different sizes compare.
import { backendInfo, getCard, setBackend, summary, tf } from '@cnn/models-efficient';
import { SGD, crossEntropy } from '@cnn/train';
import { UsageError, choice, fmt, hwc, int, parse, str, table, quote } from './args';
import { buildModel, checkModelId } from './model-file';

export const HELP_BENCH = `Usage: cnn bench [options]

Times inference (eval mode, no gradients) and training steps (forward, backward, SGD update) of models on random
inputs, after warm-up, and prints the median time per batch, images per second and effective GFLOP/s.

Options:
  --model <ids>            comma-separated model ids (default lenet5,resnet20_cifar)
  --batch-size <n>         default 32
  --input <HxWxC>          input size (default: each model's own)
  --iters <n>              timed repetitions, the median is reported (default 5)
  --backend <name>         wasm | cuda | cpu | auto (default wasm)
  --json                   print the results as JSON`;

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
    .filter(Boolean);
  const batch = int(values, 'batch-size', 32, 1, 4096);
  const iters = int(values, 'iters', 5, 1, 1000);
  const input = str(values, 'input');
  const backend = choice(values, 'backend', ['wasm', 'cuda', 'cpu', 'auto'] as const, 'wasm');
  for (const id of ids) checkModelId(id);
  await setBackend(backend);
  const bi = backendInfo();
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
    const forward = () => {
      model.eval();
      const t0 = performance.now();
      tf.tidy(() => model.call(x).dataSync());
      return performance.now() - t0;
    };
    const trainStep = () => {
      model.train();
      const t0 = performance.now();
      opt.minimize(() => crossEntropy(model.call(x), y));
      return performance.now() - t0;
    };
    try {
      forward();
      trainStep();
      const f = median(Array.from({ length: iters }, forward));
      const t = median(Array.from({ length: iters }, trainStep));
      rows.push({
        model: id,
        input: size.join('x'),
        batch,
        macs,
        forwardMs: f,
        trainMs: t,
        forwardImagesPerSecond: (batch * 1000) / f,
        trainImagesPerSecond: (batch * 1000) / t,
        forwardGflops: (2 * macs * batch) / f / 1e6,
        trainGflops: (3 * 2 * macs * batch) / t / 1e6,
      });
    } finally {
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ backend: bi, rows }, null, 2));
    return 0;
  }
  console.log(
    `cnn bench: backend ${bi.backend}${bi.simd ? ' SIMD' : ''}, ${bi.threads} thread${bi.threads === 1 ? '' : 's'}; batch ${batch}, median of ${iters}`,
  );
  const f1 = (v: number | string) => (typeof v === 'number' ? v.toFixed(1) : v);
  console.log(
    table(
      [
        'model',
        'input',
        'MACs/image',
        'forward ms',
        'forward img/s',
        'forward GFLOP/s',
        'train ms',
        'train img/s',
        'train GFLOP/s',
      ],
      rows.map((r) => [
        String(r.model),
        String(r.input),
        fmt(r.macs as number),
        f1(r.forwardMs!),
        f1(r.forwardImagesPerSecond!),
        f1(r.forwardGflops!),
        f1(r.trainMs!),
        f1(r.trainImagesPerSecond!),
        f1(r.trainGflops!),
      ]),
    ),
  );
  console.log('train GFLOP/s counts a training step as 3 forward passes (forward, input gradient, weight gradient).');
  return 0;
}
