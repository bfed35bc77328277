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
  /** The transform to apply after decoding, or null (decode only). */
  spec: TransformSpec | null;
  /** The state of the item's generator (when there is a transform). */
  rng: number[] | null;
}

/** What a decode worker answers. */
export type WorkerReply =
  | { id: number; ok: true; data: PixelArray; height: number; width: number; channels: number; rng: number[] | null }
  | { id: number; ok: false; file: string | null; reason: string | null; message: string };
