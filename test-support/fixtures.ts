// Shared by the tests that compare with PyTorch fixtures: tensors are not stored in the fixtures but generated, in the
// fixture scripts (Python) and here, from the same formula, so both sides hold bit-identical float32 values.

/**
 * `count` values of the fixture formula: value(i, seed) is the top 24 bits of a 32-bit hash of (i, seed) as a multiple
 * of 2^-24 in [-0.5, 0.5), exactly representable in float32. The Python side is `values(count, seed)` in the fixture
 * scripts (packages/tensor/scripts/make-fixtures.py and its followers).
 */
export function formula(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  const base = (Math.imul(seed, 0x85ebca77) + 0x165667b1) | 0;
  for (let i = 0; i < count; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + base) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[i] = (h >>> 8) / 16777216 - 0.5;
  }
  return out;
}

/** 32-bit FNV-1a of an ASCII string: the fixtures seed a state-dict tensor with fnv1a of a name and its key. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Number of elements of a shape. */
export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** max |a - b| / max |b| (max |a - b| when b is all zeros), with where the largest difference is; NaN at the first NaN. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; at: number; got: number; want: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0, mb = 0, at = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return { rel: Number.NaN, at: i, got: a[i], want: b[i] };
    if (d > m) { m = d; at = i; }
    mb = Math.max(mb, Math.abs(b[i]));
  }
  return { rel: mb === 0 ? m : m / mb, at, got: a[at], want: b[at] };
}
