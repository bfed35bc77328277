// Small helpers shared by the readers and the loader.

/** Whether a value is a promise (or any thenable). */
export function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs at most `limit` asynchronous jobs at once, first come first served. A job that returns a
 * plain value (not a promise) runs and returns synchronously, so in-memory datasets pay nothing.
 */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  /** @param limit - jobs in flight at most (at least 1). */
  constructor(private readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1))
      throw new Error(`concurrency must be a positive integer, got ${limit}`);
  }

  /** Runs `fn` now if a slot is free (synchronously when it returns a plain value), else when one frees up. */
  run<T>(fn: () => T | PromiseLike<T>): T | Promise<T> {
    if (this.active < this.limit) return this.start(fn);
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        try {
          Promise.resolve(this.start(fn)).then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private start<T>(fn: () => T | PromiseLike<T>): T | Promise<T> {
    this.active++;
    let r: T | PromiseLike<T>;
    try {
      r = fn();
    } catch (err) {
      this.release();
      throw err;
    }
    if (!isThenable(r)) {
      this.release();
      return r;
    }
    return Promise.resolve(r).finally(() => this.release());
  }

  private release(): void {
    this.active--;
    const next = this.queue.shift();
    if (next) next();
  }
}

/**
 * Like `Promise.all`, but when several fail it throws the error of the first in argument order, not the
 * first to fail in time, so that the same bad input always gets the same message.
 */
export async function allInOrder<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** `fn` over every item, at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Compares strings by Unicode code point, as Python's `sorted` does (JS's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
