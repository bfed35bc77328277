// `cnn predict`: the top classes of image files under a trained model.
import { Compose, Normalize, Resize, ToTensor, Rng, loadImage } from '@cnn/datasets';
import { setBackend, tf } from '@cnn/models-efficient';
import { BACKEND_CHOICES, UsageError, choice, int, parse, str, quote } from './args';
import { openWeights, weightsFile } from './model-file';
import { openPretrained } from './pretrained';

export const HELP_PREDICT = `Usage: cnn predict (--checkpoint <file> | --pretrained <id>) [options] <image...>

Prints the top classes of each image (JPEG or PNG) with their softmax scores. Images are converted to the model's
channels, resized to its input size and normalised as in training. Fashion-MNIST models expect light garments on a
dark background, as the dataset shows them.

With --pretrained, the model's pretrained weights: ImageNet-1k weights (torchvision's or MMPretrain's) are downloaded
on first use, with a progress bar on stderr, checked against their published SHA-256 and cached in $CNN_HOME/weights
(default ~/.cache/cnn/weights); each image is preprocessed as the weights were evaluated and labelled with the 1,000
ImageNet classes. CNN_WEIGHTS_DIR names a folder searched first (offline machines), CNN_WEIGHTS_URL a mirror.

Options:
  --checkpoint <file>      the weights (a cnn run's checkpoint, or a safetensors / .pth file with --model)
  --pretrained <id>        instead of --checkpoint: the model's pretrained weights (see cnn list --pretrained)
  --weights <name>         with --pretrained: which of its weights (default: the best published; fashion-mnist: shipped)
  --model <id>             the model, for files that do not say (see 'cnn list')
  --top <k>                classes per image (default 3; 5 with ImageNet weights)
  --backend <name>         wasm | webgpu | cuda | cpu | auto (default wasm)
  --json                   print the predictions as JSON`;

/** Runs `cnn predict`; returns the exit code. */
export async function cmdPredict(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      checkpoint: { type: 'string' },
      pretrained: { type: 'string' },
      weights: { type: 'string' },
      model: { type: 'string' },
      top: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    'predict',
  );
  if (values.help) {
    console.log(HELP_PREDICT);
    return 0;
  }
  if (typeof values.pretrained === 'string' && values.checkpoint === undefined) {
    if (positionals.length === 0) throw new UsageError('cnn predict needs at least one image file after the options');
    if (values.model !== undefined)
      throw new UsageError('--model goes with --checkpoint; --pretrained names the model');
    return predictPretrained(values.pretrained, positionals, values);
  }
  if (values.weights !== undefined) throw new UsageError('--weights goes with --pretrained');
  const file = weightsFile(values);
  if (file === undefined)
    throw new UsageError(
      'cnn predict needs --checkpoint <file> (a run folder has best.safetensors) or --pretrained <id>',
    );
  if (positionals.length === 0) throw new UsageError('cnn predict needs at least one image file after the options');
  const backend = choice(values, 'backend', BACKEND_CHOICES, 'wasm');
  await setBackend(backend);
  const { model, info } = await openWeights(file, { id: str(values, 'model') });
  const top = int(values, 'top', 3, 1, info.numClasses);
  const [h, w, c] = info.inputSize;
  const transform = new Compose([new Resize([h, w]), new ToTensor(), new Normalize(info.mean, info.std)]);
  const results: Array<{ image: string; top: Array<{ label: string; index: number; score: number }> }> = [];
  try {
    for (const path of positionals) {
      let image;
      try {
        image = await loadImage(path, c === 1 ? 1 : 3);
      } catch (e) {
        throw new UsageError(`cannot read image ${quote(path)}: ${(e as Error).message.split('\n')[0]}`);
      }
      const x = transform.apply(image, new Rng(0));
      const input = tf.tensor4d(x.data as Float32Array, [1, h, w, c]);
      const pred = model.predict(input, { topk: top, classNames: info.classes });
      input.dispose();
      results.push({
        image: path,
        top: pred.indices[0]!.map((index: number, k: number) => ({
          index,
          label: info.classes[index] ?? String(index),
          score: pred.scores[0]![k]!,
        })),
      });
    }
  } finally {
    model.dispose();
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else
    for (const r of results)
      console.log(`${r.image}: ${r.top.map((t) => `${t.label} ${t.score.toFixed(3)}`).join(', ')}`);
  return 0;
}

/** `cnn predict --pretrained <id>`: top classes under pretrained weights, preprocessed and labelled by the model. */
async function predictPretrained(
  id: string,
  images: string[],
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const backend = choice(values, 'backend', BACKEND_CHOICES, 'wasm');
  await setBackend(backend);
  const model = await openPretrained(id, str(values, 'weights'));
  const results: Array<{ image: string; top: Array<{ label: string; index: number; score: number }> }> = [];
  try {
    const info = model.pretrained!;
    // Top-5 for ImageNet weights, as their publishers report; top-3 for the shipped Fashion-MNIST files, as before.
    const top = int(
      values,
      'top',
      Math.min(info.weights.source === 'cnn' ? 3 : 5, info.classes.length),
      1,
      info.classes.length,
    );
    for (const path of images) {
      let image;
      try {
        image = await loadImage(path, info.preprocess.channels);
      } catch (e) {
        throw new UsageError(`cannot read image ${quote(path)}: ${(e as Error).message.split('\n')[0]}`);
      }
      const pred = model.predict(image, { topk: top });
      results.push({
        image: path,
        top: pred.indices[0]!.map((index: number, k: number) => ({
          index,
          label: pred.labels![0]![k]!,
          score: pred.scores[0]![k]!,
        })),
      });
    }
  } finally {
    model.dispose();
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else
    for (const r of results)
      console.log(`${r.image}: ${r.top.map((t) => `${t.label} ${t.score.toFixed(3)}`).join(', ')}`);
  return 0;
}
