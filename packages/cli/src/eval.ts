// `cnn eval`: a trained model's test accuracy (top-1, top-5), loss and per-class precision / recall / F1.
import { DataLoader } from '@cnn/datasets';
import { setBackend } from '@cnn/models-efficient';
import { Trainer, SGD } from '@cnn/train';
import { BACKEND_CHOICES, UsageError, choice, int, parse, str, table, quote } from './args';
import { DATASETS, loadSplit, type DatasetName } from './data';
import { openWeights, weightsFile } from './model-file';
import { topkLabel } from './report';

export const HELP_EVAL = `Usage: cnn eval (--checkpoint <file> | --pretrained <id>) [options]

Evaluates a model on the test split of its dataset: top-1 and top-5 accuracy (top-k, k = min(5, classes)), mean loss, and precision, recall and
F1 per class. A file written by 'cnn train' (best.safetensors, last.safetensors) says which model and dataset it is for.

Options:
  --checkpoint <file>      the weights (a cnn run's checkpoint, or a safetensors / .pth file with --model)
  --pretrained <id>        instead of --checkpoint: the trained weights that ship with the zoo (lenet5, resnet20_cifar)
  --model <id>             the model, for files that do not say (see 'cnn list')
  --dataset <name>         ${DATASETS.join(' | ')} (default: the one it was trained on)
  --data-dir <dir>         where the dataset is (as for cnn train)
  --batch-size <n>         default 256
  --backend <name>         wasm | webgpu | cuda | cpu | auto (default wasm)
  --json                   print the result as JSON`;

/** Runs `cnn eval`; returns the exit code. */
export async function cmdEval(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      checkpoint: { type: 'string' },
      pretrained: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      'data-dir': { type: 'string' },
      'batch-size': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    'eval',
  );
  if (values.help) {
    console.log(HELP_EVAL);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`cnn eval takes no positional arguments, got ${quote(positionals[0]!)} (see cnn eval --help)`);
  const file = weightsFile(values);
  if (file === undefined)
    throw new UsageError(
      'cnn eval needs --checkpoint <file> (a run folder has best.safetensors and last.safetensors) or --pretrained <id>',
    );
  const backend = choice(values, 'backend', BACKEND_CHOICES, 'wasm');
  const batchSize = int(values, 'batch-size', 256, 1, 1 << 16);
  await setBackend(backend);
  const flagDataset = values.dataset === undefined ? undefined : choice(values, 'dataset', DATASETS, 'fashion-mnist');
  const { model, info } = await openWeights(file, { id: str(values, 'model') });
  try {
    const dataset = (flagDataset ?? info.dataset) as DatasetName | '';
    if (dataset === '') throw new UsageError(`${file} does not say which dataset it was trained on; pass --dataset`);
    const test = await loadSplit(dataset, str(values, 'data-dir'), false, {
      size: info.inputSize[0],
      augment: false,
      classes: info.classes,
      // A folder is decoded and normalised as the model was trained (a fine-tuned model keeps its weights' own).
      ...(dataset === 'folder'
        ? {
            channels: info.inputSize[2] as 1 | 3,
            stats: { mean: info.mean, std: info.std },
            exactResize: info.exactResize === true,
          }
        : {}),
    });
    if (test.classes.length !== info.numClasses) {
      throw new UsageError(`the model has ${info.numClasses} classes, dataset '${dataset}' ${test.classes.length}`);
    }
    const loader = new DataLoader(test, { batchSize });
    const optimizer = new SGD(model, { lr: 0 });
    const trainer = new Trainer({
      model,
      optimizer,
      numClasses: info.numClasses,
      classNames: info.classes,
      log: 'quiet',
    });
    const r = await trainer.evaluate(loader);
    optimizer.dispose();
    if (values.json) {
      console.log(
        JSON.stringify(
          {
            checkpoint: file,
            model: info.id,
            dataset,
            top1: r.top1,
            top5: r.top5,
            topk: Math.min(5, info.numClasses),
            loss: r.loss,
            total: r.total,
            confusion: r.confusion,
            matrix: r.matrix,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    console.log(
      `${info.id} on ${dataset} (${r.total} test images): top-1 ${r.top1.toFixed(4)}, ${topkLabel(info.numClasses)} ${r.top5.toFixed(4)}, loss ${r.loss.toFixed(4)}`,
    );
    const f = (x: number) => x.toFixed(4);
    console.log(
      table(
        ['class', 'precision', 'recall', 'F1', 'support'],
        [
          ...r.confusion.perClass.map((c) => [c.name, f(c.precision), f(c.recall), f(c.f1), String(c.support)]),
          [
            'macro average',
            f(r.confusion.macro.precision),
            f(r.confusion.macro.recall),
            f(r.confusion.macro.f1),
            String(r.total),
          ],
        ],
      ),
    );
    return 0;
  } finally {
    model.dispose();
  }
}
