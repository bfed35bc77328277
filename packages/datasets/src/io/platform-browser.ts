import type { ImageHWC } from '../image';
import { DatasetError } from '../errors';
import type { DirEntry, Platform } from './platform-types';

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

// Literal URLs, one per file, so that bundlers (Vite, webpack 5, esbuild) see them as assets and
// copy them. The browser build is dist/browser/index.js, two folders below the package root.
function sampleUrl(name: string): string {
  switch (name) {
    case 'train-images-idx3-ubyte.gz':
      return new URL('../../data/fashion-mnist-sample/train-images-idx3-ubyte.gz', import.meta.url).href;
    case 'train-labels-idx1-ubyte.gz':
      return new URL('../../data/fashion-mnist-sample/train-labels-idx1-ubyte.gz', import.meta.url).href;
    case 't10k-images-idx3-ubyte.gz':
      return new URL('../../data/fashion-mnist-sample/t10k-images-idx3-ubyte.gz', import.meta.url).href;
    case 't10k-labels-idx1-ubyte.gz':
      return new URL('../../data/fashion-mnist-sample/t10k-labels-idx1-ubyte.gz', import.meta.url).href;
    default:
      throw new Error(`@cnn/datasets: the embedded sample has no file '${name}'`);
  }
}

async function fetchOk(url: string, method: 'GET' | 'HEAD'): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { method });
  } catch (err) {
    throw new DatasetError(url, `cannot be fetched (${describe(err)})`, { cause: err });
  }
  if (!res.ok) throw new DatasetError(url, res.status === 404 ? 'no such file (HTTP 404)' : `cannot be fetched (HTTP ${res.status})`);
  return res;
}

/** Browser: files are URLs (fetch), gzip through DecompressionStream, images through createImageBitmap. */
export const platform: Platform = {
  name: 'browser',

  async readFile(path: string): Promise<Uint8Array> {
    const res = await fetchOk(path, 'GET');
    return new Uint8Array(await res.arrayBuffer());
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

  async gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
    try {
      const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (err) {
      throw new DatasetError(file, `corrupt or truncated gzip stream (${describe(err)})`, { cause: err });
    }
  },

  async decodeImage(bytes: Uint8Array, file: string, channels: 1 | 3): Promise<ImageHWC<Uint8Array>> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as BlobPart]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    } catch (err) {
      throw new DatasetError(file, `cannot be decoded as an image (${describe(err)})`, { cause: err });
    }
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('@cnn/datasets: OffscreenCanvas 2d context unavailable');
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const n = width * height;
    const data = new Uint8Array(n * channels);
    if (channels === 3) {
      for (let i = 0, j = 0; i < n; i++, j += 4) {
        data[3 * i] = rgba[j];
        data[3 * i + 1] = rgba[j + 1];
        data[3 * i + 2] = rgba[j + 2];
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 4) data[i] = Math.round(0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2]);
    }
    return { data, height, width, channels };
  },

  async probeImage(bytes: Uint8Array, file: string) {
    const img = await this.decodeImage(bytes, file, 3);
    return { format: 'image', width: img.width, height: img.height };
  },

  sampleFile: sampleUrl,

  debianFashionMnistDir: null,

  autoWorkers: () => 0,
  runInWorker: () => null,
  terminateWorkers: async () => undefined,
};
