// Shared by the tests: reading the PyTorch fixtures and comparing numbers with a tolerance that names the case.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { tf, type Tensor } from '@cnn/tensor';
import type { HostArray } from '../src/index';

/** Parses test/fixtures/<name>.json (written by scripts/make-fixtures.py). */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as T;
}

/** A tensor from a fixture's `{ shape, data }`. */
export function tensorOf(h: HostArray): Tensor {
  return tf.tensor(h.data, h.shape, 'float32');
}

/** Expects every value within `tol` (absolute) of the expected one. */
export function expectClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  tol: number,
  what: string,
): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length, `${what}: length`).toBe(e.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${what}: largest difference ${worst} at ${at} (got ${a[at]}, expected ${e[at]})`).toBeLessThanOrEqual(
    tol,
  );
}
