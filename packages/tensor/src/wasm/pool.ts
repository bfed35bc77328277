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
/**
 * Milliseconds a worker spins, watching for the next job, after its last one before it sleeps (`Atomics.wait`), while
 * jobs have lately come within that time. A sleeping worker took 50-60 us to wake, so a 3x3 convolution of 8x8x64
 * (46 us on one thread) took 85 us on two; with the spin, ResNet-44 (CIFAR) at batch 1 went from 0.86-0.90x of its
 * one-thread time to 1.05-1.57x on two threads, MobileNetV2 and ResNet-18 unchanged
 * (`profile-models.mjs --models resnet44_cifar,mobilenet_v2,resnet18`).
 */
export const WORKER_SPIN_MS = 0.25;
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
  const now = typeof performance === "object" ? () => performance.now() : () => Date.now();
  let seen = Atomics.load(c, ${GEN}), gap = 0;
  for (;;) {
    // Spin a while for the next job before sleeping, where jobs have lately come that soon (gap: a running average of
    // the time between jobs, each capped at 4 spins): a model of small layers calls cnn's kernels back to back, and
    // waking a sleeping worker took 50-60 us, longer than a small layer's share of work; between jobs that come
    // further apart (tfjs's own kernels in between, on XNNPACK's threads) spinning would only take their core.
    const t0 = now();
    if (gap < d.spinMs) {
      while (Atomics.load(c, ${GEN}) === seen && now() - t0 < d.spinMs) {
        for (let i = 0; i < 64 && Atomics.load(c, ${GEN}) === seen; i++);
      }
    }
    Atomics.wait(c, ${GEN}, seen);
    gap = 0.75 * gap + 0.25 * Math.min(now() - t0, 4 * d.spinMs);
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
      w.postMessage({ module, memory, control, slot, spinMs: WORKER_SPIN_MS });
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
