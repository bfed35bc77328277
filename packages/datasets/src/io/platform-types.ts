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

/**
 * What the readers need from the platform they run on. Node reads the file system, gunzips with
 * node:zlib and decodes images with sharp; a browser fetches URLs, gunzips with DecompressionStream
 * and decodes with createImageBitmap. The browser build swaps one implementation for the other.
 */
export interface Platform {
  /** `'node'` or `'browser'`. */
  readonly name: 'node' | 'browser';
  /** The whole file (Node: a path; browser: a URL). Missing files throw a DatasetError naming them. */
  readFile(path: string): Promise<Uint8Array>;
  /** Whether the file exists (browser: whether a request for it succeeds). */
  exists(path: string): Promise<boolean>;
  /** The entries of a folder (Node only). */
  listDir(path: string): Promise<DirEntry[]>;
  /** Joins path segments (`/` in a browser). */
  join(...parts: string[]): string;
  /** Gunzips a whole `.gz` file; a corrupt or truncated stream throws a DatasetError naming `file`. */
  gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array>;
  /** Decodes a JPEG or PNG to HWC uint8 pixels with the given channel count. */
  decodeImage(bytes: Uint8Array, file: string, channels: 1 | 3): Promise<ImageHWC<Uint8Array>>;
  /** Reads only an image's header: its format and size; throws a DatasetError when it is not a readable image. */
  probeImage(bytes: Uint8Array, file: string): Promise<{ format: string; width: number; height: number }>;
  /** Where the embedded Fashion-MNIST sample's file of that name is (a path or a URL). */
  sampleFile(name: string): string;
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
