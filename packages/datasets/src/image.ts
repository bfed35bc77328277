// The in-memory image every reader produces and every transform consumes: pixels in
// height-width-channel order (the NHWC layout the tfjs backends compute in), either raw uint8
// (0-255, as decoded) or float32 (after ToTensor, usually in [0, 1], or normalised).

/** Pixel storage of an {@link ImageHWC}: raw bytes as decoded, or floats after {@link ToTensor}. */
export type PixelArray = Uint8Array | Float32Array;

/**
 * An image in memory, height x width x channels, row-major, channels interleaved (HWC).
 *
 * Readers return `Uint8Array` pixels that may be views into a dataset's single buffer: transforms
 * never write into their input, they return a new image (or the same one when they change nothing).
 */
export interface ImageHWC<T extends PixelArray = PixelArray> {
  /** `height * width * channels` pixel values, HWC order. */
  readonly data: T;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** Values per pixel: 1 (grey) or 3 (RGB). */
  readonly channels: number;
}

/** One item of a dataset: an image and its class index. */
export interface Sample<T extends PixelArray = PixelArray> {
  /** The (possibly transformed) image. */
  image: ImageHWC<T>;
  /** The class index, in `0 .. classes.length - 1`. */
  label: number;
}

/**
 * Wraps pixel data as an {@link ImageHWC}, checking that its length is `height * width * channels`.
 *
 * @example
 * const img = imageHWC(new Uint8Array(28 * 28), 28, 28, 1);
 */
export function imageHWC<T extends PixelArray>(data: T, height: number, width: number, channels: number): ImageHWC<T> {
  for (const [what, v] of [
    ['height', height],
    ['width', width],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`imageHWC: ${what} must be a positive integer, got ${v}`);
  }
  if (data.length !== height * width * channels) {
    throw new Error(
      `imageHWC: ${height}x${width}x${channels} needs ${height * width * channels} values, got ${data.length}`,
    );
  }
  return { data, height, width, channels };
}

/**
 * RGBA pixels (4 values a pixel, row by row, as a canvas's `ImageData` holds them) as an HWC uint8 image: 3 channels
 * drop the alpha (not composited, as PIL's `convert('RGB')`), 1 channel is the grey round(0.299 R + 0.587 G + 0.114 B).
 * The caller checks that `rgba` holds `width * height * 4` values.
 */
export function imageFromRgba(
  rgba: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 3,
): ImageHWC<Uint8Array> {
  const n = width * height;
  const data = new Uint8Array(n * channels);
  if (channels === 3) {
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      data[3 * i] = rgba[j];
      data[3 * i + 1] = rgba[j + 1];
      data[3 * i + 2] = rgba[j + 2];
    }
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 4)
      data[i] = Math.round(0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]);
  }
  return { data, height, width, channels };
}

/** A new, zero-filled image of the same pixel type as `like`. */
export function emptyLike<T extends PixelArray>(like: T, height: number, width: number, channels: number): ImageHWC<T> {
  const n = height * width * channels;
  const data = (like instanceof Float32Array ? new Float32Array(n) : new Uint8Array(n)) as T;
  return { data, height, width, channels };
}

/** `"28x28x1"`: how errors and docs print an image's shape. */
export function shapeOf(img: ImageHWC): string {
  return `${img.height}x${img.width}x${img.channels}`;
}

/** Mean and standard deviation per channel, as {@link Normalize} takes them. */
export interface NormStats {
  /** Per-channel mean of pixel values scaled to [0, 1]. */
  readonly mean: readonly number[];
  /** Per-channel standard deviation of pixel values scaled to [0, 1]. */
  readonly std: readonly number[];
}

/** ImageNet's per-channel statistics (RGB, [0, 1] scale), the usual choice for natural photographs. */
export const IMAGENET_STATS: NormStats = Object.freeze({
  mean: Object.freeze([0.485, 0.456, 0.406]),
  std: Object.freeze([0.229, 0.224, 0.225]),
});
