import { existsSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import type { ImageHWC } from '../image';
import { DatasetError } from '../errors';
import type { DirEntry, Platform } from './platform-types';
import { autoWorkers, runInWorker, terminateWorkers } from './worker-pool';

const gunzipAsync = promisify(gunzipCallback);

type SharpFactory = typeof import('sharp').default;
let sharpModule: Promise<SharpFactory> | null = null;

/** sharp, imported on first use so that code paths without images never load the native module. */
function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then(
    (m) => m.default ?? (m as unknown as SharpFactory),
    (err: unknown) => {
      sharpModule = null;
      throw new Error(
        `@cnn/datasets: decoding JPEG/PNG in Node needs the 'sharp' package, which failed to load ` +
          `(${err instanceof Error ? err.message : String(err)}); reinstall it with \`npm install sharp\``,
      );
    },
  );
  return sharpModule;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff']);

let sampleDirCache: string | null = null;

/** The sample folder, found by walking up from this module (src/io/ in tests, dist/ once built). */
function sampleDir(): string {
  if (sampleDirCache) return sampleDirCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'data', 'fashion-mnist-sample');
    if (existsSync(join(candidate, 'train-labels-idx1-ubyte.gz'))) return (sampleDirCache = candidate);
    dir = dirname(dir);
  }
  throw new Error(`@cnn/datasets: the embedded Fashion-MNIST sample is missing (no data/fashion-mnist-sample above ${fileURLToPath(import.meta.url)}); reinstall @cnn/datasets`);
}

/** Node: files from disk, node:zlib, sharp (libvips) for images. */
export const platform: Platform = {
  name: 'node',

  async readFile(path: string): Promise<Uint8Array> {
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') throw new DatasetError(path, 'no such file', { cause: err });
      if (code === 'EISDIR') throw new DatasetError(path, 'is a folder, not a file', { cause: err });
      throw new DatasetError(path, `cannot be read (${describe(err)})`, { cause: err });
    }
  },

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  },

  async listDir(path: string): Promise<DirEntry[]> {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'is a file, not a folder' : `cannot be listed (${describe(err)})`;
      throw new DatasetError(path, why, { cause: err });
    }
    return Promise.all(
      entries.map(async (e) => {
        if (!e.isSymbolicLink()) return { name: e.name, isDirectory: e.isDirectory(), isFile: e.isFile() };
        try {
          const s = await stat(join(path, e.name));
          return { name: e.name, isDirectory: s.isDirectory(), isFile: s.isFile() };
        } catch {
          return { name: e.name, isDirectory: false, isFile: false }; // a dangling link
        }
      }),
    );
  },

  join: (...parts: string[]) => join(...parts),

  async gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
    try {
      const out = await gunzipAsync(bytes);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      const why = describe(err);
      const reason = /unexpected end/i.test(why) ? 'truncated gzip stream (unexpected end of file)' : `corrupt gzip stream (${why})`;
      throw new DatasetError(file, reason, { cause: err });
    }
  },

  async decodeImage(bytes: Uint8Array, file: string, channels: 1 | 3): Promise<ImageHWC<Uint8Array>> {
    const sharp = await loadSharp();
    let out;
    try {
      // failOn 'error': corrupt or truncated data is an error; harmless warnings are not.
      const img = sharp(bytes, { failOn: 'error', sequentialRead: true });
      const coloured = channels === 1 ? img.grayscale() : img.toColourspace('srgb');
      out = await coloured.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new DatasetError(file, `cannot be decoded as an image (${describe(err)})`, { cause: err });
    }
    const { data, info } = out;
    if (info.channels !== channels) {
      throw new DatasetError(file, `decoded to ${info.channels} channels where ${channels} were asked for`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), height: info.height, width: info.width, channels };
  },

  async probeImage(bytes: Uint8Array, file: string) {
    const sharp = await loadSharp();
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch (err) {
      throw new DatasetError(file, `is not a readable image (${describe(err)})`, { cause: err });
    }
    if (!meta.format || !FORMATS.has(meta.format) || !meta.width || !meta.height) {
      throw new DatasetError(file, `is not a readable image (format ${meta.format ?? 'unknown'}, ${meta.width ?? '?'}x${meta.height ?? '?'})`);
    }
    return { format: meta.format, width: meta.width, height: meta.height };
  },

  sampleFile: (name: string) => join(sampleDir(), name),

  debianFashionMnistDir: '/usr/share/datasets/fashion-mnist',

  autoWorkers,
  runInWorker,
  terminateWorkers,
};
