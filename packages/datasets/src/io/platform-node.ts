import { constants as bufferConstants } from 'node:buffer';
import { constants as fsConstants, existsSync, type Stats } from 'node:fs';
import { access, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import type { ImageHWC } from '../image';
import { DatasetError } from '../errors';
import { checkPixelBudget, count } from '../limits';
import type { DirEntry, Platform, ReadLimit } from './platform-types';
import { autoWorkers, runInWorker, terminateWorkers } from './worker-pool';

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

/** Why a file's status rules it out (null for a regular file). */
function notRegular(s: Stats): string | null {
  if (s.isFile()) return null;
  if (s.isDirectory()) return 'is a folder, not a file';
  const kind = s.isCharacterDevice()
    ? 'a character device'
    : s.isBlockDevice()
      ? 'a block device'
      : s.isFIFO()
        ? 'a FIFO (named pipe)'
        : s.isSocket()
          ? 'a socket'
          : 'not a regular file';
  return `is ${kind}, not a regular file: only regular files are read`;
}

/** Refuses what is not a regular file, or is over the limit, from its status. */
function checkStatus(path: string, s: Stats, limit: ReadLimit | undefined): void {
  const why = notRegular(s);
  if (why) throw new DatasetError(path, why);
  if (limit && s.size > limit.maxBytes) {
    throw new DatasetError(
      path,
      `is ${count(s.size)} bytes, over the limit of ${count(limit.maxBytes)} bytes${limit.hint}`,
    );
  }
  if (s.size > bufferConstants.MAX_LENGTH) {
    throw new DatasetError(
      path,
      `is ${count(s.size)} bytes, more than one buffer can hold (${count(bufferConstants.MAX_LENGTH)})`,
    );
  }
}

/** O_NONBLOCK where it exists: opening a FIFO without it waits for a writer (forever). */
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

const GUNZIP_CHUNK = 64 * 1024;

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
  throw new Error(
    `@cnn/datasets: the embedded Fashion-MNIST sample is missing (no data/fashion-mnist-sample above ${fileURLToPath(import.meta.url)}); reinstall @cnn/datasets`,
  );
}

/** Node: files from disk, node:zlib, sharp (libvips) for images. */
export const platform: Platform = {
  name: 'node',

  async readFile(path: string, limit?: ReadLimit): Promise<Uint8Array> {
    let handle: FileHandle | undefined;
    try {
      // The path's status first (a FIFO is refused before it is opened), then the opened file's
      // (what was opened is what is read, even if the path changed in between).
      checkStatus(path, await stat(path), limit);
      handle = await open(path, OPEN_FLAGS);
      const s = await handle.stat();
      checkStatus(path, s, limit);
      // Exactly the size the status gave: a file that grows meanwhile is not read past it.
      const buf = new Uint8Array(s.size);
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await handle.read(buf, at, buf.length - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return at === buf.length ? buf : buf.subarray(0, at);
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') throw new DatasetError(path, 'no such file', { cause: err });
      if (code === 'EISDIR') throw new DatasetError(path, 'is a folder, not a file', { cause: err });
      throw new DatasetError(path, `cannot be read (${describe(err)})`, { cause: err });
    } finally {
      await handle?.close();
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
      const why =
        code === 'ENOENT'
          ? 'no such folder'
          : code === 'ENOTDIR'
            ? 'is a file, not a folder'
            : `cannot be listed (${describe(err)})`;
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

  async *gunzipChunks(bytes: Uint8Array, file: string): AsyncGenerator<Uint8Array, void, undefined> {
    // A stream, read as it inflates: zlib waits while its output is not taken (back-pressure), and
    // leaving the loop destroys it, so a consumer that stops early stops the inflation too.
    const gz = createGunzip({ chunkSize: GUNZIP_CHUNK });
    gz.end(bytes);
    const chunks = gz[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          const why = describe(err);
          const reason = /unexpected end/i.test(why)
            ? 'truncated gzip stream (unexpected end of file)'
            : `corrupt gzip stream (${why})`;
          throw new DatasetError(file, reason, { cause: err });
        }
        if (next.done) return;
        const c = next.value;
        yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
      }
    } finally {
      gz.destroy();
    }
  },

  async decodeImage(
    bytes: Uint8Array,
    file: string,
    channels: 1 | 3,
    maxPixels: number,
  ): Promise<ImageHWC<Uint8Array>> {
    const sharp = await loadSharp();
    let out;
    try {
      // The header first: an image over the budget is refused before a pixel is decoded.
      const meta = await sharp(bytes).metadata();
      if (!meta.width || !meta.height) throw new Error(`no size in its header (format ${meta.format ?? 'unknown'})`);
      checkPixelBudget(file, meta.width, meta.height, maxPixels);
      // failOn 'error': corrupt or truncated data is an error; harmless warnings are not.
      // limitInputPixels: libvips's own check of the same budget (its default would allow 268 million).
      const img = sharp(bytes, { failOn: 'error', sequentialRead: true, limitInputPixels: maxPixels });
      const coloured = channels === 1 ? img.grayscale() : img.toColourspace('srgb');
      out = await coloured.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      throw new DatasetError(file, `cannot be decoded as an image (${describe(err)})`, { cause: err });
    }
    const { data, info } = out;
    if (info.channels !== channels) {
      throw new DatasetError(file, `decoded to ${info.channels} channels where ${channels} were asked for`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      height: info.height,
      width: info.width,
      channels,
    };
  },

  async probeImage(bytes: Uint8Array, file: string, maxPixels: number) {
    const sharp = await loadSharp();
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch (err) {
      throw new DatasetError(file, `is not a readable image (${describe(err)})`, { cause: err });
    }
    if (!meta.format || !FORMATS.has(meta.format) || !meta.width || !meta.height) {
      throw new DatasetError(
        file,
        `is not a readable image (format ${meta.format ?? 'unknown'}, ${meta.width ?? '?'}x${meta.height ?? '?'})`,
      );
    }
    checkPixelBudget(file, meta.width, meta.height, maxPixels);
    return { format: meta.format, width: meta.width, height: meta.height };
  },

  sampleFile: (name: string, given?: string | URL) => {
    if (given === undefined) return join(sampleDir(), name);
    const text = String(given);
    return text.startsWith('file:') ? fileURLToPath(text) : text;
  },

  debianFashionMnistDir: '/usr/share/datasets/fashion-mnist',

  autoWorkers,
  runInWorker,
  terminateWorkers,
};
