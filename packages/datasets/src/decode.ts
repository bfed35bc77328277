import { DatasetUsageError } from './errors';
import { imageFromRgba, type ImageHWC } from './image';
import { fetchBytes, isHttpUrl } from './io/fetch-url';
import { platform } from './io/platform';
import { checkLimit, count, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_PIXELS } from './limits';

/** Options of {@link decodeImage} and {@link loadImage}. */
export interface DecodeOptions {
  /**
   * The decoded-pixel budget: an image whose header announces more than `maxPixels` pixels
   * (width x height) is refused with a {@link DatasetError} naming it and both sizes, before it is
   * decoded. Default {@link DEFAULT_MAX_PIXELS}, 2^26 = 67,108,864 (64 megapixels, 8192 x 8192).
   */
  maxPixels?: number;
}

/** The channel count and pixel budget of a decode call, checked. */
export function decodeSettings(
  op: string,
  channels: unknown,
  options: DecodeOptions,
): { channels: 1 | 3; maxPixels: number } {
  if (channels !== 1 && channels !== 3)
    throw new DatasetUsageError(op, `channels must be 1 or 3, got ${String(channels)}`);
  return { channels, maxPixels: checkLimit(options.maxPixels ?? DEFAULT_MAX_PIXELS, op, 'maxPixels') };
}

/**
 * Decodes JPEG or PNG bytes to HWC uint8 pixels: with sharp (libvips) in Node, with
 * `createImageBitmap` and an `OffscreenCanvas` in a browser. Alpha is dropped (not composited), as
 * PIL's `convert('RGB')` does; EXIF orientation is not applied. The image's size is read from its
 * header first and checked against the decoded-pixel budget (`options.maxPixels`).
 *
 * @param name - a name for error messages (the file or URL the bytes came from).
 * @param channels - 3 for RGB (default), 1 for grey.
 * @throws DatasetError naming `name` when the bytes are not a decodable image, or announce more
 *   pixels than `options.maxPixels`.
 * @throws DatasetUsageError for `channels` other than 1 or 3, or a `maxPixels` that is not a positive integer.
 * @example
 * const img = await decodeImage(bytes); // { data: Uint8Array, height, width, channels: 3 }
 * await decodeImage(panorama, 'pano.jpg', 3, { maxPixels: 200_000_000 });
 */
export async function decodeImage(
  bytes: Uint8Array,
  name = 'image',
  channels: 1 | 3 = 3,
  options: DecodeOptions = {},
): Promise<ImageHWC<Uint8Array>> {
  const s = decodeSettings('decodeImage', channels, options);
  return platform.decodeImage(bytes, name, s.channels, s.maxPixels);
}

/**
 * Stops the worker threads that image folders decode with (Node). They never keep a process alive
 * and restart on the next request; call this to free their memory early.
 */
export function stopDecodeWorkers(): Promise<void> {
  return platform.terminateWorkers();
}

/**
 * Options of {@link loadImage}: the decoded-pixel budget `maxPixels`, as {@link decodeImage}'s, and the limits of
 * reading a file or downloading a URL.
 */
export interface LoadImageOptions extends DecodeOptions {
  /**
   * The most bytes a file or a download may have: a larger one is refused with a {@link DatasetError} naming it and
   * both sizes, from the file's size or the answer's Content-Length, or as soon as the streamed body passes it (the
   * download stops there). Default {@link DEFAULT_MAX_IMAGE_BYTES}, 2^28 = 268,435,456 (256 MiB).
   */
  maxBytes?: number;
  /**
   * For an `http://` or `https://` URL: the most milliseconds from the request to the body's last byte; then the
   * download is aborted and a {@link DatasetError} names the URL and the limit. Default
   * {@link DEFAULT_FETCH_TIMEOUT_MS}, 30,000.
   */
  timeoutMs?: number;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The byte and time limits of a {@link loadImage} call that reads a file or a URL, checked. */
function readSettings(op: string, options: LoadImageOptions): { maxBytes: number; timeoutMs: number } {
  const timeoutMs = checkLimit(options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, op, 'timeoutMs');
  // setTimeout fires at once for anything above 2^31 - 1 ms (24.8 days): refused rather than silently no limit.
  if (timeoutMs > MAX_TIMEOUT_MS)
    throw new DatasetUsageError(op, `timeoutMs must be at most ${count(MAX_TIMEOUT_MS)} (24.8 days), got ${timeoutMs}`);
  return { maxBytes: checkLimit(options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES, op, 'maxBytes'), timeoutMs };
}

/** The fields of a DOM `ImageData` that {@link loadImage} reads. */
export interface ImageDataLike {
  /** RGBA bytes, row by row (4 per pixel). */
  data: Uint8ClampedArray;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** An `HTMLImageElement`, `HTMLCanvasElement`, `ImageBitmap`, `OffscreenCanvas` (or other canvas image source). */
export interface CanvasImageSourceLike {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/**
 * What {@link loadImage} accepts: a file path (Node), an `http(s)` URL (Node and browser) or any URL (browser), a file's
 * bytes, an image already in memory
 * ({@link ImageHWC}), a DOM `ImageData`, or (in a browser) an image, canvas or `ImageBitmap`.
 */
export type ImageSource = string | Uint8Array | ArrayBuffer | ImageHWC | ImageDataLike | CanvasImageSourceLike;

/** What {@link loadImage} gives for a source: an in-memory image as it is, anything else as uint8 pixels. */
export type LoadedImage<S> = S extends ImageHWC<infer T> ? ImageHWC<T> : ImageHWC<Uint8Array>;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

// The DOM classes drawImage takes, looked up by name: the Node build has none of them.
const CANVAS_SOURCES = [
  'HTMLImageElement',
  'SVGImageElement',
  'HTMLVideoElement',
  'HTMLCanvasElement',
  'ImageBitmap',
  'OffscreenCanvas',
  'VideoFrame',
];

function isCanvasSource(x: unknown): x is CanvasImageSource {
  return (
    isObject(x) &&
    CANVAS_SOURCES.some((name) => {
      const C = (globalThis as Record<string, unknown>)[name];
      return typeof C === 'function' && x instanceof C;
    })
  );
}

const isImageHWC = (x: unknown): x is ImageHWC =>
  isObject(x) && 'channels' in x && 'data' in x && 'height' in x && 'width' in x;

const isImageData = (x: unknown): x is ImageDataLike =>
  isObject(x) && x.data instanceof Uint8ClampedArray && 'width' in x && 'height' in x;

const isSide = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** An in-memory image, checked: its pixels are returned as they are, so they must be what they claim. */
function checkImageHWC(op: string, img: ImageHWC, channels: 1 | 3 | undefined): ImageHWC {
  const { data, height, width } = img;
  const c = img.channels;
  if (!(data instanceof Uint8Array || data instanceof Float32Array)) {
    throw new DatasetUsageError(op, 'an ImageHWC needs its pixels in a Uint8Array or a Float32Array');
  }
  if (!isSide(height) || !isSide(width) || (c !== 1 && c !== 3)) {
    throw new DatasetUsageError(
      op,
      `an ImageHWC needs positive integer height and width and 1 or 3 channels, got ${String(height)}x${String(width)}x${String(c)}`,
    );
  }
  if (data.length !== height * width * c) {
    throw new DatasetUsageError(
      op,
      `an ImageHWC of ${height}x${width}x${c} needs ${count(height * width * c)} pixel values, got ${count(data.length)}`,
    );
  }
  if (channels !== undefined && channels !== c) {
    throw new DatasetUsageError(
      op,
      `the image has ${c} channel${c === 1 ? '' : 's'}, not the ${channels} asked for (an in-memory image is not converted)`,
    );
  }
  return img;
}

/**
 * Loads an image as HWC pixels, from any of:
 * - a path (Node; only a regular file is read: a FIFO or a device is refused by name), decoded;
 * - an `http://` or `https://` URL (Node and browser; in a browser any URL the page can fetch), downloaded whole within
 *   `options.timeoutMs` (default 30 s) and `options.maxBytes` (default 256 MiB), redirects followed, then decoded;
 * - a file's bytes (`Uint8Array`, `ArrayBuffer`: JPEG or PNG), decoded;
 * - an {@link ImageHWC} already in memory, returned as it is (after checking that its pixels fit its shape);
 * - a DOM `ImageData` (RGBA), or in a browser an `<img>`, a canvas or an `ImageBitmap` (drawn on an `OffscreenCanvas`).
 *
 * `channels` is 3 for RGB (the default; alpha is dropped) or 1 for grey. Paths, URLs and bytes are decoded as
 * {@link decodeImage} does, with its decoded-pixel budget (`options.maxPixels`, checked from the header before
 * decoding); an `ImageData`, image or canvas is decoded already and has no budget. Called as
 * `loadImage(source, options)` or `loadImage(source, channels, options)`.
 *
 * @throws DatasetError naming the path or URL (`'image'` for bytes) when it is missing (a file, or HTTP 404), not a
 *   regular file, not fetchable (a network error, an HTTP status other than 2xx), over `maxBytes`, not complete within
 *   `timeoutMs`, not a decodable image, or over the pixel budget.
 * @throws DatasetUsageError for `channels` other than 1 or 3, a `maxPixels`, `maxBytes` or `timeoutMs` that is not a
 *   positive integer, an
 *   {@link ImageHWC} whose pixels do not fit its shape or whose channel count is not `channels`, an `ImageData`
 *   whose data is not width x height x 4 bytes, or a source of none of the kinds above.
 * @example
 * const img = await loadImage('cat.jpg');       // HWC uint8 RGB
 * const web = await loadImage('https://example.com/cat.jpg', { timeoutMs: 10_000 });
 * const x = new Compose([new Resize(256), new CenterCrop(224), new ToTensor()]).apply(img, new Rng(0));
 * const grey = await loadImage(bytes, 1);
 * const pano = await loadImage('pano.jpg', { maxPixels: 150_000_000 });
 */
export async function loadImage<S extends ImageSource>(source: S, options?: LoadImageOptions): Promise<LoadedImage<S>>;
export async function loadImage<S extends ImageSource>(
  source: S,
  channels?: 1 | 3,
  options?: LoadImageOptions,
): Promise<LoadedImage<S>>;
export async function loadImage(
  source: ImageSource,
  channelsOrOptions?: 1 | 3 | LoadImageOptions,
  maybeOptions?: LoadImageOptions,
): Promise<ImageHWC> {
  const op = 'loadImage';
  let channels: unknown;
  let options: unknown;
  if (channelsOrOptions === undefined || typeof channelsOrOptions === 'number') {
    channels = channelsOrOptions;
    options = maybeOptions === undefined ? {} : maybeOptions;
  } else if (isObject(channelsOrOptions) && maybeOptions === undefined) {
    options = channelsOrOptions;
  } else {
    throw new DatasetUsageError(op, 'call it as loadImage(source, options) or loadImage(source, channels, options)');
  }
  if (!isObject(options)) throw new DatasetUsageError(op, `options must be an object, got ${String(options)}`);
  const s = decodeSettings(op, channels ?? 3, options);
  const read = readSettings(op, options);
  if (typeof source === 'string') {
    const bytes = isHttpUrl(source)
      ? await fetchBytes(source, {
          maxBytes: read.maxBytes,
          timeoutMs: read.timeoutMs,
          bytesHint: ' (raise the maxBytes option to accept it)',
          timeoutHint: ' (raise the timeoutMs option to wait longer)',
        })
      : await platform.readFile(source, {
          maxBytes: read.maxBytes,
          hint: ' (raise the maxBytes option to accept it)',
        });
    return platform.decodeImage(bytes, source, s.channels, s.maxPixels);
  }
  if (source instanceof Uint8Array) return platform.decodeImage(source, 'image', s.channels, s.maxPixels);
  if (source instanceof ArrayBuffer)
    return platform.decodeImage(new Uint8Array(source), 'image', s.channels, s.maxPixels);
  if (isImageHWC(source)) return checkImageHWC(op, source, channels as 1 | 3 | undefined);
  if (isImageData(source)) {
    const { data, width, height } = source;
    if (!isSide(width) || !isSide(height) || data.length !== width * height * 4) {
      throw new DatasetUsageError(
        op,
        `an ImageData of ${String(width)}x${String(height)} needs ${isSide(width) && isSide(height) ? count(width * height * 4) : 'width x height x 4'} bytes, got ${count(data.length)}`,
      );
    }
    return imageFromRgba(data, width, height, s.channels);
  }
  if (isCanvasSource(source)) {
    const { width, height } = source as unknown as CanvasImageSourceLike;
    if (!isSide(width) || !isSide(height))
      throw new DatasetUsageError(op, `the image or canvas is ${String(width)}x${String(height)} (not loaded yet?)`);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new DatasetUsageError(op, 'no 2d canvas context in this environment');
    ctx.drawImage(source, 0, 0);
    return imageFromRgba(ctx.getImageData(0, 0, width, height).data, width, height, s.channels);
  }
  throw new DatasetUsageError(
    op,
    'expected a path, file bytes, an ImageHWC, ImageData or (in a browser) an image or canvas',
  );
}
