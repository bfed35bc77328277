/**
 * The threads cnn's own kernels run on. With tfjs's threaded build the backend's memory is shared, so
 * `threads - 1` workers each instantiate cnn's kernel module over that same memory and take units of
 * a kernel's work (see "Work split" in kernels.c) while the calling thread takes units too.
 *
 * Workers and the calling thread talk through a control block of seven 32-bit words in the backend's
 * memory, never through messages (a kernel runs synchronously: the calling thread cannot receive
 * any). A job is published by writing its operation, parameter block and unit count, then a ticket
 * word (job number << 16 | next unit) and finally the job number, which wakes the sleeping workers
 * (`Atomics.wait` / `notify`). Units are claimed by compare-and-swap on the ticket, so a worker that
 * comes late, or read a half-published job, can never claim a unit of the wrong job. The calling
 * thread waits until every unit is done (spinning, then sleeping on the done counter where it may
 * block: a browser's main thread may not `Atomics.wait`), then closes the ticket.
 */
import type { Platform, WorkerLike } from './platform';

const GEN = 0,
  TICKET = 1,
  DONE = 2,
  OP = 3,
  PARAMS = 4,
  UNITS = 5,
  STOP = 6,
  FAILED = 7;
/** Bytes of the control block. */
export const CONTROL_BYTES = 64;
/** Units are numbered in 16 bits of the ticket; a kernel with more runs on the calling thread. */
const MAX_UNITS = 0xfff0;

/** cnn's kernel module's exports, as the pool and module.ts call them. */
export interface KernelExports {
  prepare(op: number, params: number): number;
  run(op: number, params: number, unit: number, slot: number): void;
  /** What a kernel does after all its units, on the calling thread. */
  finish(op: number, params: number): void;
  scratch_bytes(op: number, params: number): number;
}

// Runs in each worker (Node `eval` worker or browser blob: worker). Plain JavaScript, kept small.
const WORKER_SOURCE = `"use strict";
function cnnKernelWorker(d) {
  const k = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports;
  const c = new Int32Array(d.memory.buffer, d.control, ${CONTROL_BYTES / 4});
  let seen = Atomics.load(c, ${GEN});
  for (;;) {
    Atomics.wait(c, ${GEN}, seen);
    seen = Atomics.load(c, ${GEN});
    if (Atomics.load(c, ${STOP})) return;
    for (;;) {
      const op = Atomics.load(c, ${OP}), params = Atomics.load(c, ${PARAMS}), units = Atomics.load(c, ${UNITS});
      const t = Atomics.load(c, ${TICKET});
      if ((t >>> 16) !== (seen & 0xffff) || (t & 0xffff) >= units) break;
      if (Atomics.compareExchange(c, ${TICKET}, t, t + 1) !== t) continue;
      try { k.run(op, params, t & 0xffff, d.slot); } catch (e) { Atomics.store(c, ${FAILED}, 1); }
      Atomics.add(c, ${DONE}, 1);
      Atomics.notify(c, ${DONE});
    }
  }
}
if (typeof process === "object" && process.versions && process.versions.node) {
  require("worker_threads").parentPort.once("message", cnnKernelWorker);
} else {
  self.onmessage = (e) => cnnKernelWorker(e.data);
}
`;

let blocking: boolean | undefined;

/** Whether this thread may `Atomics.wait` (a browser's main thread may not). */
function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

export class KernelPool {
  private readonly workers: WorkerLike[] = [];
  private readonly control: Int32Array;
  private gen = 0;

  /**
   * @param threads threads in all, the calling thread included (so `threads - 1` workers).
   * @param control address of a {@link CONTROL_BYTES}-byte block of `memory` reserved for the pool.
   */
  constructor(
    platform: Platform,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    readonly threads: number,
  ) {
    this.control = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4);
    this.control.fill(0);
    for (let slot = 1; slot < threads; slot++) {
      // A worker that fails to start takes no units: the others (and the calling thread) do its share.
      const w = platform.startWorker(WORKER_SOURCE, () => {});
      w.unref?.(); // a sleeping worker must not keep a Node process alive
      w.postMessage({ module, memory, control, slot });
      this.workers.push(w);
    }
  }

  /** Runs units 0 .. units-1 of a prepared kernel on every thread; returns when all are done. */
  run(k: KernelExports, op: number, params: number, units: number): void {
    if (units <= 1 || this.workers.length === 0 || units > MAX_UNITS) {
      for (let u = 0; u < units; u++) k.run(op, params, u, 0);
      return;
    }
    const c = this.control;
    const gen = (this.gen = (this.gen + 1) & 0x7fffffff);
    const tag = (gen & 0xffff) << 16;
    Atomics.store(c, OP, op);
    Atomics.store(c, PARAMS, params);
    Atomics.store(c, UNITS, units);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, FAILED, 0);
    Atomics.store(c, TICKET, tag);
    Atomics.store(c, GEN, gen);
    Atomics.notify(c, GEN);
    let mine = 0;
    for (;;) {
      const t = Atomics.load(c, TICKET);
      if ((t & 0xffff) >= units) break;
      if (Atomics.compareExchange(c, TICKET, t, t + 1) !== t) continue;
      k.run(op, params, t & 0xffff, 0);
      mine++;
    }
    Atomics.add(c, DONE, mine);
    // The remaining units are running on workers: spin a little, then (where this thread may block:
    // Node, a worker) sleep until one reports, so that a worker sharing this core gets it.
    let spins = 0;
    for (let done = Atomics.load(c, DONE); done < units; done = Atomics.load(c, DONE)) {
      if (++spins > 1000 && canBlock()) Atomics.wait(c, DONE, done, 1);
    }
    Atomics.store(c, TICKET, tag | 0xffff);
    if (Atomics.load(c, FAILED)) throw new Error('cnn wasm kernels: a kernel failed on a worker thread');
  }

  /** Wakes the workers to stop them, and terminates them. */
  dispose(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GEN, 1);
    Atomics.notify(this.control, GEN);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
