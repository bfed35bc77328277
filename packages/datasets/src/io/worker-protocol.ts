import type { PixelArray } from '../image';
import type { TransformSpec } from '../transforms/transform';

/** What the main thread asks a decode worker to do. */
export interface WorkerJob {
  /** Matches the reply to the request. */
  id: number;
  /** The image file. */
  path: string;
  /** Channels to decode to. */
  channels: 1 | 3;
  /** The decoded-pixel budget, checked from the image's header before decoding. */
  maxPixels: number;
  /** The transform to apply after decoding, or null (decode only). */
  spec: TransformSpec | null;
  /** The state of the item's generator (when there is a transform). */
  rng: number[] | null;
}

/** What a decode worker answers. */
export type WorkerReply =
  | { id: number; ok: true; data: PixelArray; height: number; width: number; channels: number; rng: number[] | null }
  | { id: number; ok: false; error: WorkerError };

/** A failure, as it crosses back to the main thread: the package's named errors keep their class and parts. */
export type WorkerError =
  | { name: 'DatasetError'; file: string; reason: string }
  | { name: 'DatasetUsageError'; op: string; reason: string }
  | { name: 'Error'; message: string };
