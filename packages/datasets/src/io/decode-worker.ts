// Entry point of a decode worker thread (built to dist/decode-worker.js): reads a file, decodes it
// with sharp, applies the transform rebuilt from its spec with the generator state it was sent,
// and sends the pixels back (transferred, not copied) with the generator's final state.
import { parentPort } from 'node:worker_threads';
import { DatasetError, DatasetUsageError } from '../errors';
import type { PixelArray } from '../image';
import { Rng } from '../rng';
import { transformFromSpec } from '../transforms/registry';
import type { Transform } from '../transforms/transform';
import { platform } from './platform-node';
import type { WorkerError, WorkerJob, WorkerReply } from './worker-protocol';

const built = new Map<string, Transform>();

function transformFor(job: WorkerJob): Transform | null {
  if (!job.spec) return null;
  const key = JSON.stringify(job.spec);
  let t = built.get(key);
  if (!t) {
    t = transformFromSpec(job.spec);
    built.set(key, t);
  }
  return t;
}

/** A typed array that owns its whole buffer, so the buffer can be transferred. */
function owned<T extends PixelArray>(data: T): T {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : (data.slice() as T);
}

function describeError(err: unknown): WorkerError {
  if (err instanceof DatasetError) return { name: 'DatasetError', file: err.file, reason: err.reason };
  if (err instanceof DatasetUsageError) return { name: 'DatasetUsageError', op: err.op, reason: err.reason };
  return { name: 'Error', message: err instanceof Error ? err.message : String(err) };
}

async function handle(job: WorkerJob): Promise<void> {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = await platform.readFile(job.path);
    const decoded = await platform.decodeImage(bytes, job.path, job.channels, job.maxPixels);
    const t = transformFor(job);
    let rng: number[] | null = null;
    let image = decoded;
    if (t) {
      const r = Rng.fromState(job.rng!);
      image = t.apply(decoded, r) as typeof decoded;
      rng = r.state();
    }
    // The decoded pixels come from native memory that may not be transferable: copy those.
    const data = image.data === decoded.data ? decoded.data.slice() : owned(image.data);
    transfer.push(data.buffer as ArrayBuffer);
    reply = { id: job.id, ok: true, data, height: image.height, width: image.width, channels: image.channels, rng };
  } catch (err) {
    reply = { id: job.id, ok: false, error: describeError(err) };
  }
  parentPort!.postMessage(reply, transfer);
}

parentPort!.on('message', (job: WorkerJob) => void handle(job));
