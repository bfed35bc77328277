// Images in, a batch tensor out: decoding (Node: a path or the file's bytes; browser: an <img>, a canvas, ImageData
// or a URL) and ImageNet-style preprocessing (resize the short side to 256, centre-crop 224, scale to [0, 1],
// normalise with ImageNet's mean and std), as torchvision's classification presets do.
import { tf, type Tensor4D } from '@cnn/tensor';
import {
  CenterCrop, Compose, IMAGENET_STATS, Normalize, Resize, Rng, ToTensor, decodeImage, imageHWC, loadImage as loadFile,
  type DecodeOptions, type ImageHWC, type NormStats,
} from '@cnn/datasets';

/** What {@link loadImage} accepts. */
export type ImageSource = string | Uint8Array | ArrayBuffer | ImageHWC | ImageDataLike | CanvasImageSourceLike;

/** The fields of a DOM `ImageData` that are used. */
export interface ImageDataLike {
  /** RGBA bytes, row by row (4 per pixel). */
  data: Uint8ClampedArray;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** An `HTMLImageElement`, `HTMLCanvasElement`, `ImageBitmap` or `OffscreenCanvas`. */
export interface CanvasImageSourceLike {
  width: number;
  height: number;
}

function isImageHWC(x: unknown): x is ImageHWC {
  return typeof x === 'object' && x !== null && 'channels' in x && 'data' in x && 'height' in x && 'width' in x;
}

function isImageData(x: unknown): x is ImageDataLike {
  return typeof x === 'object' && x !== null && (x as ImageDataLike).data instanceof Uint8ClampedArray && 'width' in x && 'height' in x;
}

function fromRgba(rgba: Uint8ClampedArray, width: number, height: number): ImageHWC<Uint8Array> {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    out[i] = rgba[j];
    out[i + 1] = rgba[j + 1];
    out[i + 2] = rgba[j + 2];
  }
  return imageHWC(out, height, width, 3);
}

/**
 * Options of {@link loadImage}: `maxPixels`, the decoded-pixel budget of a path, URL or file bytes (default 2^26 =
 * 67,108,864, 64 megapixels): an image whose header announces more is refused with a `DatasetError` naming it and
 * both sizes, before it is decoded. (An `<img>`, canvas, `ImageBitmap` or `ImageData` is decoded already.)
 */
export type LoadImageOptions = DecodeOptions;

/**
 * Loads an image as HWC uint8 RGB: in Node from a file path or the file's bytes (JPEG, PNG; decoded by sharp); in a
 * browser from a URL, an `<img>`, a canvas, an `ImageBitmap` or `ImageData`. Paths, URLs and bytes go through
 * `@cnn/datasets`' `loadImage` / `decodeImage`, with their limits: only regular files are read, and the image's size
 * is checked against `options.maxPixels` from its header before it is decoded.
 *
 * @throws DatasetError (from `@cnn/datasets`) naming the file (`'image'` for bytes) when it is missing, not a regular
 *   file, not a decodable image, or over the pixel budget.
 * @example
 * const img = await loadImage('cat.jpg');    // { data: Uint8Array, height, width, channels: 3 }
 * const pano = await loadImage('pano.jpg', { maxPixels: 150_000_000 });
 */
export async function loadImage(source: ImageSource, options: LoadImageOptions = {}): Promise<ImageHWC> {
  if (typeof source === 'string') return loadFile(source, 3, options);
  if (source instanceof Uint8Array) return decodeImage(source, 'image', 3, options);
  if (source instanceof ArrayBuffer) return decodeImage(new Uint8Array(source), 'image', 3, options);
  if (isImageHWC(source)) return source;
  if (isImageData(source)) return fromRgba(source.data, source.width, source.height);
  if (typeof OffscreenCanvas !== 'undefined') {
    const { width, height } = source as CanvasImageSourceLike;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('loadImage: no 2d canvas context in this environment');
    ctx.drawImage(source as CanvasImageSource, 0, 0);
    const data = ctx.getImageData(0, 0, width, height);
    return fromRgba(data.data, width, height);
  }
  throw new Error('loadImage: expected a path, file bytes, ImageData or (in a browser) an image or canvas');
}

/** Options of {@link imagenetPreprocess}. */
export interface PreprocessOptions {
  /** Short side after resizing (default 256). */
  resize?: number;
  /** Centre crop (default 224). */
  crop?: number;
  /** Normalisation statistics (default ImageNet's). */
  stats?: NormStats;
}

/**
 * torchvision's evaluation preprocessing: resize the short side to 256 (bilinear), centre-crop 224, scale to [0, 1],
 * normalise with ImageNet's mean and std, and make a [1, 224, 224, 3] NHWC tensor.
 *
 * @example
 * const x = imagenetPreprocess(await loadImage('cat.jpg'));   // [1, 224, 224, 3]
 */
export function imagenetPreprocess(image: ImageHWC, opts: PreprocessOptions = {}): Tensor4D {
  if (image.channels !== 3) throw new Error(`imagenetPreprocess: expected an RGB image (3 channels), got ${image.channels}`);
  const stats = opts.stats ?? IMAGENET_STATS;
  const pipeline = new Compose([new Resize(opts.resize ?? 256), new CenterCrop(opts.crop ?? 224), new ToTensor(), new Normalize(stats.mean, stats.std)]);
  const out = pipeline.apply(image, new Rng(0));
  return tf.tensor4d(out.data as Float32Array, [1, out.height, out.width, out.channels]);
}
