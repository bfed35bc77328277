import type { ImageHWC } from './image';
import { platform } from './io/platform';

/**
 * Decodes JPEG or PNG bytes to HWC uint8 pixels: with sharp (libvips) in Node, with
 * `createImageBitmap` and an `OffscreenCanvas` in a browser. Alpha is dropped (not composited), as
 * PIL's `convert('RGB')` does; EXIF orientation is not applied.
 *
 * @param name - a name for error messages (the file or URL the bytes came from).
 * @param channels - 3 for RGB (default), 1 for grey.
 * @throws DatasetError naming `name` when the bytes are not a decodable image.
 * @example
 * const img = await decodeImage(bytes); // { data: Uint8Array, height, width, channels: 3 }
 */
export function decodeImage(bytes: Uint8Array, name = 'image', channels: 1 | 3 = 3): Promise<ImageHWC<Uint8Array>> {
  return platform.decodeImage(bytes, name, channels);
}

/**
 * Stops the worker threads that image folders decode with (Node). They never keep a process alive
 * and restart on the next request; call this to free their memory early.
 */
export function stopDecodeWorkers(): Promise<void> {
  return platform.terminateWorkers();
}

/**
 * Reads and decodes an image file (a path in Node, a URL in a browser).
 *
 * @example
 * const img = await loadImage('cat.jpg');       // HWC uint8 RGB
 * const x = new Compose([new Resize(256), new CenterCrop(224), new ToTensor()]).apply(img, new Rng(0));
 */
export async function loadImage(path: string, channels: 1 | 3 = 3): Promise<ImageHWC<Uint8Array>> {
  return platform.decodeImage(await platform.readFile(path), path, channels);
}
