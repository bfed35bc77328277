// Images in, a batch tensor out, as the publishers of the weights evaluate: resize (the short side, or to an exact
// size), centre-crop, scale to [0, 1], normalise per channel, stack into NHWC. The one home of this code: `predict`
// uses it for images, and `imagenetPreprocess` (re-exported by @cnn/models-efficient) is its ImageNet default.
import { tf, type Tensor4D } from '@cnn/tensor';
import {
  CenterCrop,
  Compose,
  IMAGENET_STATS,
  Normalize,
  Resize,
  Rng,
  ToTensor,
  type ImageHWC,
  type NormStats,
  type Transform,
} from '@cnn/datasets';
import { ModelInputError } from './errors';

/** How an image becomes a model's input: what `predict` applies to images (`net.pretrained.preprocess`). */
export interface InputPreprocess {
  /** The short side after resizing, or `[height, width]` to resize to exactly. */
  resize: number | readonly [number, number];
  /** Side of the centre crop after resizing; none when absent. */
  crop?: number;
  /** Resize interpolation the weights were evaluated with. */
  interpolation: 'bilinear' | 'bicubic';
  /** Channels the model takes (1: greyscale, 3: RGB); an image must have as many. */
  channels: 1 | 3;
  /** Per-channel mean subtracted from [0, 1] pixels. */
  mean: readonly number[];
  /** Per-channel standard deviation the pixels are divided by. */
  std: readonly number[];
}

/** Options of {@link imagenetPreprocess}. */
export interface PreprocessOptions {
  /** Short side after resizing (default 256). */
  resize?: number;
  /** Centre crop (default 224). */
  crop?: number;
  /** Normalisation statistics (default ImageNet's). */
  stats?: NormStats;
  /** Resize filter, `'bilinear'` (default) or `'bicubic'`; a weights table entry's `preprocess` says which. */
  interpolation?: 'bilinear' | 'bicubic';
}

function pipeline(p: InputPreprocess): Transform {
  const size = typeof p.resize === 'number' ? p.resize : ([p.resize[0], p.resize[1]] as [number, number]);
  const steps: Transform[] = [new Resize(size, { interpolation: p.interpolation })];
  if (p.crop !== undefined) steps.push(new CenterCrop(p.crop));
  steps.push(new ToTensor(), new Normalize([...p.mean], [...p.std]));
  return new Compose(steps);
}

/**
 * A batch `[n, h, w, c]` float32 tensor from decoded images (`loadImage`'s `ImageHWC`), each preprocessed by `p`.
 * Throws a {@link ModelInputError} for an image with other channels than `p.channels`, or images of different sizes
 * after preprocessing (a resize without a crop keeps the aspect ratio), before any tensor is made.
 */
export function preprocessImages(images: readonly ImageHWC[], p: InputPreprocess, where = 'predict'): Tensor4D {
  const t = pipeline(p);
  const rng = new Rng(0);
  const out: ImageHWC[] = [];
  images.forEach((img, i) => {
    if (img.channels !== p.channels)
      throw new ModelInputError(
        `${where}: image ${i} has ${img.channels} channel${img.channels === 1 ? '' : 's'}, the model takes ${p.channels} (load it with loadImage(src, ${p.channels}))`,
      );
    out.push(t.apply(img, rng));
  });
  if (out.length === 0) return tf.zeros([0, 1, 1, p.channels]) as Tensor4D;
  const { height, width, channels } = out[0]!;
  const size = height * width * channels;
  const data = new Float32Array(out.length * size);
  out.forEach((img, i) => {
    if (img.height !== height || img.width !== width)
      throw new ModelInputError(
        `${where}: image ${i} is ${img.height}x${img.width} after preprocessing, image 0 is ${height}x${width}; one batch needs one size (give a crop)`,
      );
    data.set(img.data as Float32Array, i * size);
  });
  return tf.tensor4d(data, [out.length, height, width, channels]);
}

/**
 * torchvision's evaluation preprocessing: resize the short side to 256 (bilinear), centre-crop 224, scale to [0, 1],
 * normalise with ImageNet's mean and std, and make a [1, 224, 224, 3] NHWC tensor.
 *
 * @example
 * const x = imagenetPreprocess(await loadImage('cat.jpg'));   // [1, 224, 224, 3]
 */
export function imagenetPreprocess(image: ImageHWC, opts: PreprocessOptions = {}): Tensor4D {
  if (image.channels !== 3)
    throw new Error(`imagenetPreprocess: expected an RGB image (3 channels), got ${image.channels}`);
  const stats = opts.stats ?? IMAGENET_STATS;
  return preprocessImages(
    [image],
    {
      resize: opts.resize ?? 256,
      crop: opts.crop ?? 224,
      interpolation: opts.interpolation ?? 'bilinear',
      channels: 3,
      mean: stats.mean,
      std: stats.std,
    },
    'imagenetPreprocess',
  );
}
