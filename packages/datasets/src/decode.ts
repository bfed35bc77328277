import { DatasetUsageError } from './errors';
import type { ImageHWC } from './image';
import { platform } from './io/platform';
import { checkLimit, DEFAULT_MAX_PIXELS } from './limits';

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
export function decodeSettings(op: string, channels: unknown, options: DecodeOptions): { channels: 1 | 3; maxPixels: number } {
  if (channels !== 1 && channels !== 3) throw new DatasetUsageError(op, `channels must be 1 or 3, got ${String(channels)}`);
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
export async function decodeImage(bytes: Uint8Array, name = 'image', channels: 1 | 3 = 3, options: DecodeOptions = {}): Promise<ImageHWC<Uint8Array>> {
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
 * Reads and decodes an image file (a path in Node, a URL in a browser). In Node only a regular file
 * is read (a FIFO or a device is refused by name); the decoded-pixel budget applies as in {@link decodeImage}.
 *
 * @throws DatasetError naming `path` when it is missing, not a regular file, not a decodable image,
 *   or over the pixel budget.
 * @example
 * const img = await loadImage('cat.jpg');       // HWC uint8 RGB
 * const x = new Compose([new Resize(256), new CenterCrop(224), new ToTensor()]).apply(img, new Rng(0));
 */
export async function loadImage(path: string, channels: 1 | 3 = 3, options: DecodeOptions = {}): Promise<ImageHWC<Uint8Array>> {
  const s = decodeSettings('loadImage', channels, options);
  return platform.decodeImage(await platform.readFile(path), path, s.channels, s.maxPixels);
}
