// The resource limits of the readers and transforms, in one place: each is checked from what a file
// announces (an image's header, an IDX header, a file's size) before the work or the memory it
// would take is spent. The README's "Limits" section lists them.
import { DatasetError, DatasetUsageError } from './errors';

/**
 * The default decoded-pixel budget of an image: 2^26 = 67,108,864 pixels (64 megapixels, e.g.
 * 8192 x 8192), 192 MiB as RGB bytes. Larger than any common camera's photographs (a 50-megapixel
 * sensor gives 8160 x 6120) and far above what a CNN is fed; a 249 kB PNG can announce 16000 x 16000
 * (768 MB decoded), which this refuses from the header. Raise it with the `maxPixels` option.
 */
export const DEFAULT_MAX_PIXELS = 2 ** 26;

/**
 * The default size limit of an image file or download that `loadImage` reads: 2^28 = 268,435,456 bytes
 * (256 MiB). An image within the default pixel budget takes at most 192 MiB as raw RGB, so any JPEG or PNG of it fits;
 * a larger file is refused from its size (a file) or its Content-Length, or as it streams in (a URL), before it is
 * decoded. Raise it with the `maxBytes` option.
 */
export const DEFAULT_MAX_IMAGE_BYTES = 2 ** 28;

/**
 * The default time limit of an `http(s)` download by `loadImage`: 30,000 ms from the request to the last byte of
 * the body. Raise (or lower) it with the `timeoutMs` option.
 */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/** The largest side, in pixels, a transform takes as a size (or padding): 16,384. */
export const MAX_SIDE = 16384;

/** The most pixels a transform may produce: the default decoded-pixel budget, 2^26. */
export const MAX_OUTPUT_PIXELS = DEFAULT_MAX_PIXELS;

/**
 * The default size limit of an IDX file's values: 2^28 = 268,435,456 bytes (256 MiB). MNIST's and
 * Fashion-MNIST's largest file holds 47,040,000; EMNIST's digits split 188,160,000. Raise it with the
 * `maxBytes` option.
 */
export const DEFAULT_MAX_IDX_BYTES = 2 ** 28;

/**
 * deflate's largest expansion: a 258-byte match coded in 2 bits, so n compressed bytes inflate to at
 * most 1032 n. A gzip IDX file whose header declares more than that cannot be whole.
 */
export const DEFLATE_MAX_RATIO = 1032;

/** `67108864` as `"67,108,864"`. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A limit option: a positive safe integer, else a {@link DatasetUsageError} naming the call and the option. */
export function checkLimit(value: unknown, op: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new DatasetUsageError(
      op,
      `${what} must be a positive integer, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

/**
 * Throws a {@link DatasetError} naming `file` when an image of `width x height` is over the budget;
 * called with the size an image's header announces, before it is decoded.
 */
export function checkPixelBudget(file: string, width: number, height: number, maxPixels: number): void {
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new DatasetError(
      file,
      `image is ${width}x${height} = ${count(pixels)} pixels, over the decoding budget of ${count(maxPixels)} pixels ` +
        `(refused from its header, before decoding; raise the maxPixels option to accept it)`,
    );
  }
}
