import { imageFromRgba, type ImageHWC } from '../image';
import { DatasetError, DatasetUsageError } from '../errors';
import { imageHeaderSize } from '../image-header';
import { checkPixelBudget, count } from '../limits';
import type { DirEntry, Platform, ReadLimit } from './platform-types';

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

/** The next chunk of a stream; a failed read is a {@link DatasetError} naming `file`, worded by `why`. */
async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  file: string,
  why: (err: unknown) => string,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (err) {
    throw new DatasetError(file, why(err), { cause: err });
  }
}

/**
 * The sample's file `name`: where `given` says. Without it, an error: the files are assets that only an app importing
 * `@cnn/datasets/fashion-mnist-sample` makes its bundler emit, so that every other app ships none of them.
 */
function sampleUrl(name: string, given?: string | URL): string {
  if (given !== undefined) return given instanceof URL ? given.href : String(given);
  throw new DatasetUsageError(
    'FashionMNIST.sample',
    `in a browser the sample's files are fetched from the URLs you pass as files (${name} is one): import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample' and call FashionMNIST.sample({ files: fashionMnistSampleFiles }), which makes your bundler emit the four files as assets`,
  );
}

async function fetchOk(url: string, method: 'GET' | 'HEAD'): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { method });
  } catch (err) {
    throw new DatasetError(url, `cannot be fetched (${describe(err)})`, { cause: err });
  }
  if (!res.ok)
    throw new DatasetError(
      url,
      res.status === 404 ? 'no such file (HTTP 404)' : `cannot be fetched (HTTP ${res.status})`,
    );
  return res;
}

/** Browser: files are URLs (fetch), gzip through DecompressionStream, images through createImageBitmap. */
export const platform: Platform = {
  name: 'browser',

  async readFile(path: string, limit?: ReadLimit): Promise<Uint8Array> {
    const res = await fetchOk(path, 'GET');
    if (!limit || !res.body) return new Uint8Array(await res.arrayBuffer());
    const over = (n: number) =>
      new DatasetError(
        path,
        `is ${n > limit.maxBytes ? 'more than ' : ''}${count(n)} bytes, over the limit of ${count(limit.maxBytes)} bytes${limit.hint}`,
      );
    const announced = Number(res.headers.get('content-length'));
    if (announced > limit.maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw over(announced);
    }
    // Streamed, counting: a server that sends more than it announced (or announced nothing) is cut off at the limit.
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const r = await readChunk(reader, path, (err) => `cannot be fetched (${describe(err)})`);
        if (r.done) break;
        total += r.value.length;
        if (total > limit.maxBytes) throw over(total);
        parts.push(r.value);
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },

  async exists(path: string): Promise<boolean> {
    try {
      const res = await fetch(path, { method: 'HEAD' });
      return res.ok;
    } catch {
      return false;
    }
  },

  async listDir(path: string): Promise<DirEntry[]> {
    throw new DatasetError(path, 'a browser cannot list folders; give ImageFolder a file list (the `files` option)');
  },

  join: (...parts: string[]) =>
    parts
      .filter((p) => p !== '')
      .map((p, i) => (i === 0 ? p.replace(/\/+$/, '') : p.replace(/^\/+|\/+$/g, '')))
      .join('/'),

  async *gunzipChunks(bytes: Uint8Array, file: string): AsyncGenerator<Uint8Array, void, undefined> {
    // Read as it inflates; leaving the loop cancels the stream, which stops the inflation.
    const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    try {
      for (;;) {
        const r = await readChunk(reader, file, (err) => `corrupt or truncated gzip stream (${describe(err)})`);
        if (r.done) return;
        // DecompressionStream's chunks are small (tens of kB) in every engine; split anything larger.
        for (let at = 0; at < r.value.length; at += 65536) yield r.value.subarray(at, at + 65536);
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  },

  async decodeImage(
    bytes: Uint8Array,
    file: string,
    channels: 1 | 3,
    maxPixels: number,
  ): Promise<ImageHWC<Uint8Array>> {
    // PNG, JPEG, GIF, WebP and BMP: the budget is checked from the header, before the browser decodes.
    const announced = imageHeaderSize(bytes);
    if (announced) checkPixelBudget(file, announced.width, announced.height, maxPixels);
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as BlobPart]), {
        premultiplyAlpha: 'none',
        colorSpaceConversion: 'none',
      });
    } catch (err) {
      throw new DatasetError(file, `cannot be decoded as an image (${describe(err)})`, { cause: err });
    }
    const { width, height } = bitmap;
    // Other formats: checked once decoded, before the canvas and the pixel copies are allocated.
    if (width * height > maxPixels) {
      bitmap.close();
      checkPixelBudget(file, width, height, maxPixels);
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('@cnn/datasets: OffscreenCanvas 2d context unavailable');
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    return imageFromRgba(ctx.getImageData(0, 0, width, height).data, width, height, channels);
  },

  async probeImage(bytes: Uint8Array, file: string, maxPixels: number) {
    const img = await this.decodeImage(bytes, file, 3, maxPixels);
    return { format: 'image', width: img.width, height: img.height };
  },

  sampleFile: sampleUrl,

  debianFashionMnistDir: null,

  autoWorkers: () => 0,
  runInWorker: () => null,
  terminateWorkers: async () => undefined,
};
