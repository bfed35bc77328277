import type { ImageHWC } from '../image';
import type { WorkerJob } from './worker-protocol';

/** One entry of a folder listing. */
export interface DirEntry {
  /** The entry's name (no folder part). */
  name: string;
  /** Whether it is a folder (symbolic links are followed). */
  isDirectory: boolean;
  /** Whether it is a regular file (symbolic links are followed). */
  isFile: boolean;
}

/** A size limit on a file read whole: see {@link Platform.readFile}. */
export interface ReadLimit {
  /** The most bytes the file may have. */
  maxBytes: number;
  /** Appended to the "over the limit" message: which limit, and how to raise it. */
  hint: string;
}

/**
 * What the readers need from the platform they run on. Node reads the file system, gunzips with
 * node:zlib and decodes images with sharp; a browser fetches URLs, gunzips with DecompressionStream
 * and decodes with createImageBitmap. The browser build swaps one implementation for the other.
 */
export interface Platform {
  /** `'node'` or `'browser'`. */
  readonly name: 'node' | 'browser';
  /**
   * The whole file (Node: a path; browser: a URL). Missing files, and in Node anything that is not a
   * regular file (a folder, a device such as /dev/zero, a FIFO, a socket), throw a DatasetError naming
   * them, found from the opened file's status before anything is read. A file over `limit.maxBytes`
   * is refused the same way (Node: from its size; browser: from Content-Length, or as it streams in),
   * the message ending with `limit.hint`.
   */
  readFile(path: string, limit?: ReadLimit): Promise<Uint8Array>;
  /** Whether the file exists (browser: whether a request for it succeeds). */
  exists(path: string): Promise<boolean>;
  /** The entries of a folder (Node only). */
  listDir(path: string): Promise<DirEntry[]>;
  /** Joins path segments (`/` in a browser). */
  join(...parts: string[]): string;
  /**
   * Gunzips a `.gz` file's bytes as a stream of chunks (at most 64 KiB each), so that the caller can
   * stop as soon as it has seen enough (leaving the loop stops the inflation); a corrupt or truncated
   * stream throws a DatasetError naming `file`.
   */
  gunzipChunks(bytes: Uint8Array, file: string): AsyncGenerator<Uint8Array, void, undefined>;
  /**
   * Decodes a JPEG or PNG to HWC uint8 pixels with the given channel count. An image whose header
   * announces more than `maxPixels` pixels throws a DatasetError naming `file` before it is decoded.
   */
  decodeImage(bytes: Uint8Array, file: string, channels: 1 | 3, maxPixels: number): Promise<ImageHWC<Uint8Array>>;
  /**
   * Checks an image as cheaply as the platform can (Node: its header only) and returns its format and
   * size; throws a DatasetError when it is not a readable image or is over `maxPixels`.
   */
  probeImage(
    bytes: Uint8Array,
    file: string,
    maxPixels: number,
  ): Promise<{ format: string; width: number; height: number }>;
  /**
   * Where the embedded Fashion-MNIST sample's file of that name is (a path or a URL): `given` (a URL or path the
   * caller passed) when there is one, else the installed package's file (Node) or an error saying how to give it
   * (browser, where the files are bundler assets only an app that imports them carries).
   */
  sampleFile(name: string, given?: string | URL): string;
  /** Debian's Fashion-MNIST folder, or null where there is no file system. */
  readonly debianFashionMnistDir: string | null;
  /** The number of decode workers `workers: 'auto'` means (0 where there are none). */
  autoWorkers(): number;
  /**
   * Reads, decodes and (given a spec) transforms an image in a pool of `size` worker threads;
   * null when workers cannot be used (then the caller does the work itself).
   */
  runInWorker(job: Omit<WorkerJob, 'id'>, size: number): Promise<{ image: ImageHWC; rng: number[] | null }> | null;
  /** Stops the decode workers, if any. */
  terminateWorkers(): Promise<void>;
}
