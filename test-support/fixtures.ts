// Shared by the tests that compare with PyTorch fixtures: tensors are not stored in the fixtures but generated, in the
// fixture scripts (Python, through fixtures.py beside this file) and here, from the same formula, so both sides hold
// bit-identical float32 values.

/**
 * `count` values of the fixture formula: value(i, seed) is the top 24 bits of a 32-bit hash of (i, seed) as a multiple
 * of 2^-24 in [-0.5, 0.5), exactly representable in float32. The Python side is `values(count, seed)` in
 * test-support/fixtures.py, which the fixture scripts (each package's scripts/*.py) import.
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

/**
 * u(i, seed) for i < n: (h(i, seed) >> 8) / 2^24 - 1/2, multiples of 2^-24 in [-1/2, 1/2), exact in float64: the
 * weight formula of the install and hand-over fixtures (models-efficient's scripts/make-install-fixture.py, and
 * scripts/handover-save.ts through test/handover-weights.ts). Another hash than {@link formula}'s.
 */
export function unit(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x85ebca77) + seed) >>> 0;
    x ^= x >>> 17;
    x = Math.imul(x, 0xed5ad4bb);
    x ^= x >>> 11;
    x = Math.imul(x, 0xac4c1b51);
    x ^= x >>> 15;
    x = Math.imul(x, 0x31848bab);
    x ^= x >>> 14;
    out[i] = (x >>> 8) / 16777216 - 0.5;
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

/**
 * float32(value * scale + offset) of the formula's values in a tensor of `shape`, rounded once from float64, as numpy
 * does in the scripts (fixtures.py's `realise`).
 */
export function realise(shape: readonly number[], seed: number, scale = 1, offset = 0): Float32Array {
  const v = formula(size(shape), seed);
  if (scale === 1 && offset === 0) return v;
  for (let i = 0; i < v.length; i++) v[i] = v[i] * scale + offset;
  return v;
}

/**
 * Sum of the 32-bit little-endian words of the data mod 2^32 (a float32 counts as its bit pattern, an int64 as its two
 * words), as fixtures.py's `checksum`: shows that a test and its script made the same tensor.
 */
export function checksum(v: Float32Array | BigInt64Array): number {
  const words = new Uint32Array(v.buffer, v.byteOffset, v.byteLength / 4);
  let s = 0;
  for (let i = 0; i < words.length; i++) s = (s + words[i]) >>> 0;
  return s;
}

/**
 * max |a - b| / max |b| (the largest difference relative to the largest expected magnitude; the plain max |a - b|
 * when b is all zeros), with where the largest difference is; a NaN anywhere makes `rel` NaN. Throws when the lengths
 * differ.
 */
export function relErr(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { rel: number; at: number; got: number; want: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  let mb = 0;
  let at = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return { rel: Number.NaN, at: i, got: a[i], want: b[i] };
    if (d > m) {
      m = d;
      at = i;
    }
    mb = Math.max(mb, Math.abs(b[i]));
  }
  return { rel: mb === 0 ? m : m / mb, at, got: a[at], want: b[at] };
}
