// Images in, a batch tensor out: decoding (Node: a path or the file's bytes; browser: an <img>, a canvas, ImageData
// or a URL) and ImageNet-style preprocessing (resize the short side to 256, centre-crop 224, scale to [0, 1],
// normalise with ImageNet's mean and std), as torchvision's classification presets do.
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
} from '@cnn/datasets';

// One loader for both packages: @cnn/datasets' loadImage takes a path or URL, file bytes, an ImageHWC, ImageData or a
// browser image or canvas; this package re-exports it under the same name.
export {
  loadImage,
  type ImageSource,
  type ImageDataLike,
  type CanvasImageSourceLike,
  type LoadImageOptions,
} from '@cnn/datasets';

/** Options of {@link imagenetPreprocess}. */
export interface PreprocessOptions {
  /** Short side after resizing (default 256). */
  resize?: number;
  /** Centre crop (default 224). */
  crop?: number;
  /** Normalisation statistics (default ImageNet's). */
  stats?: NormStats;
  /** Resize filter, `'bilinear'` (default) or `'bicubic'`: PIL's, so the input equals torchvision's on PIL images. */
  interpolation?: 'bilinear' | 'bicubic';
}

/**
 * torchvision's evaluation preprocessing: resize the short side to 256 (bilinear, antialiased: byte for byte PIL's
 * resize), centre-crop 224, scale to [0, 1], normalise with ImageNet's mean and std, and make a [1, 224, 224, 3] NHWC
 * tensor. A weights table entry's `preprocess` gives its `resize`, `crop`, `interpolation` and `stats`.
 *
 * @example
 * const x = imagenetPreprocess(await loadImage('cat.jpg'));   // [1, 224, 224, 3]
 */
export function imagenetPreprocess(image: ImageHWC, opts: PreprocessOptions = {}): Tensor4D {
  if (image.channels !== 3)
    throw new Error(`imagenetPreprocess: expected an RGB image (3 channels), got ${image.channels}`);
  const stats = opts.stats ?? IMAGENET_STATS;
  const pipeline = new Compose([
    new Resize(opts.resize ?? 256, { interpolation: opts.interpolation ?? 'bilinear' }),
    new CenterCrop(opts.crop ?? 224),
    new ToTensor(),
    new Normalize(stats.mean, stats.std),
  ]);
  const out = pipeline.apply(image, new Rng(0));
  return tf.tensor4d(out.data as Float32Array, [1, out.height, out.width, out.channels]);
}
