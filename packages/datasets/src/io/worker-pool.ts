// A process-wide pool of decode worker threads (Node only). Workers start on first use, are
// unreferenced while idle (so they never keep a process alive), and are replaced if one dies.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DatasetError, DatasetUsageError } from '../errors';
import type { ImageHWC } from '../image';
import type { WorkerJob, WorkerReply } from './worker-protocol';

interface Pending {
  resolve: (r: { image: ImageHWC; rng: number[] | null }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

let scriptCache: string | null | undefined;

/** dist/decode-worker.js, found from this module (dist/ once built; src/io/ under the test runner). */
function workerScript(): string | null {
  if (scriptCache !== undefined) return scriptCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    for (const candidate of [join(dir, 'decode-worker.js'), join(dir, 'dist', 'decode-worker.js')]) {
      if (existsSync(candidate)) return (scriptCache = candidate);
    }
    dir = dirname(dir);
  }
  return (scriptCache = null);
}

/** The number of workers `'auto'` means: one per core, at most 4. */
export function autoWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const slots: Slot[] = [];
let nextId = 1;
let warned = false;

function spawn(script: string): Slot {
  // No execArgv: the parent's flags (--input-type, loaders, profilers) are for its own entry point and
  // can stop a worker from starting; the worker runs plain built JavaScript.
  const worker = new Worker(pathToFileURL(script), { execArgv: [] });
  const slot: Slot = { worker, pending: new Map() };
  const fail = (err: Error) => {
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const p = slot.pending.get(reply.id);
    if (!p) return;
    slot.pending.delete(reply.id);
    if (slot.pending.size === 0) worker.unref();
    if (reply.ok) {
      p.resolve({
        image: { data: reply.data, height: reply.height, width: reply.width, channels: reply.channels },
        rng: reply.rng,
      });
    } else {
      const e = reply.error;
      p.reject(
        e.name === 'DatasetError'
          ? new DatasetError(e.file, e.reason)
          : e.name === 'DatasetUsageError'
            ? new DatasetUsageError(e.op, e.reason)
            : new Error(e.message),
      );
    }
  });
  worker.on('error', (err) => fail(new Error(`@cnn/datasets: a decode worker failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => fail(new Error(`@cnn/datasets: a decode worker exited (code ${code})`)));
  // After the listeners: adding a 'message' listener references the worker again.
  worker.unref();
  slots.push(slot);
  return slot;
}

/**
 * Reads, decodes and transforms one image in a worker thread of a pool of `size`, or returns null
 * when the worker script is missing (then the caller does the work on this thread).
 */
export function runInWorker(
  job: Omit<WorkerJob, 'id'>,
  size: number,
): Promise<{ image: ImageHWC; rng: number[] | null }> | null {
  const script = workerScript();
  if (!script) {
    if (!warned) {
      warned = true;
      console.warn(
        '@cnn/datasets: dist/decode-worker.js is missing (build the package); decoding on the main thread instead',
      );
    }
    return null;
  }
  while (slots.length < size) spawn(script);
  let slot = slots[0];
  for (let i = 1; i < size; i++) if (slots[i].pending.size < slot.pending.size) slot = slots[i];
  const id = nextId++;
  return new Promise((resolve, reject) => {
    slot.pending.set(id, { resolve, reject });
    slot.worker.ref();
    slot.worker.postMessage({ ...job, id } satisfies WorkerJob);
  });
}

/** Stops every decode worker (they also stop with the process); the next request starts new ones. */
export async function terminateWorkers(): Promise<void> {
  const all = slots.splice(0, slots.length);
  await Promise.all(all.map((s) => s.worker.terminate()));
}
