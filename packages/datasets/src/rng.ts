// A small seedable random number generator: xoshiro128** (Blackman and Vigna) over four 32-bit
// words, seeded through a splitmix-style mixer. Every random choice in this package (shuffling,
// augmentation, Mixup/CutMix) draws from an Rng passed in, so one seed reproduces a whole run.

/** One step of a 32-bit splitmix-style mixer: a well-spread 32-bit value from any 32-bit input. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x21f0aaad);
  z ^= z >>> 15;
  z = Math.imul(z, 0x735a2d97);
  z ^= z >>> 15;
  return z >>> 0;
}

/** Splits a JS number seed (any finite number; integers up to 2^53 keep all their bits) into words. */
function seedWords(seed: number): [number, number] {
  if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
  const s = Math.trunc(Math.abs(seed));
  const lo = s % 0x1_0000_0000;
  const hi = Math.floor(s / 0x1_0000_0000) ^ (seed < 0 ? 0x8000_0000 : 0);
  return [lo >>> 0, hi >>> 0];
}

const TWO_POW_32 = 0x1_0000_0000;

/**
 * A seedable pseudo-random generator (xoshiro128**): fast, 2^128 - 1 period, and the same stream on
 * every platform for the same seed.
 *
 * Transforms and the {@link DataLoader} never call `Math.random`; they draw from an `Rng` so that a
 * seed fixes the shuffling order and every augmentation.
 *
 * @example
 * const rng = new Rng(42);
 * rng.next();        // a float in [0, 1)
 * rng.int(0, 10);    // an integer in [0, 10)
 * Rng.derive(42, 3, 17).next(); // an independent stream for (seed 42, epoch 3, sample 17)
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** Seeds the generator; the same seed always gives the same stream. */
  constructor(seed: number) {
    const [lo, hi] = seedWords(seed);
    let h = mix32(lo ^ mix32(hi));
    this.s0 = h = mix32(h);
    this.s1 = h = mix32(h ^ 0x6a09e667);
    this.s2 = h = mix32(h ^ 0xbb67ae85);
    this.s3 = mix32(h ^ 0x3c6ef372);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator for one point of a seeded computation, e.g. `(seed, epoch, sample)`: streams for
   * different parts are independent, and the result does not depend on the order in which they are
   * asked for (what keeps concurrent, out-of-order data loading reproducible).
   */
  static derive(seed: number, ...parts: number[]): Rng {
    const [lo, hi] = seedWords(seed);
    let h = mix32(lo) ^ mix32(hi ^ 0x85ebca6b);
    for (const p of parts) {
      const [plo, phi] = seedWords(p);
      h = mix32(h ^ plo);
      h = mix32(h ^ phi ^ 0xc2b2ae35);
    }
    return new Rng(h);
  }

  /** A random seed from `crypto.getRandomValues` (or `Math.random` where that is absent). */
  static randomSeed(): number {
    const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
    if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
    return Math.floor(Math.random() * TWO_POW_32);
  }

  /**
   * The generator's complete state (to continue the same stream elsewhere, e.g. in a worker thread,
   * with {@link Rng.fromState}).
   */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal === null ? 0 : 1, this.spareNormal ?? 0];
  }

  /** Sets the state returned by {@link Rng.state}: the stream continues from there. */
  setState(state: readonly number[]): void {
    if (state.length !== 6) throw new Error(`Rng.setState: expected 6 numbers, got ${state.length}`);
    [this.s0, this.s1, this.s2, this.s3] = state.slice(0, 4).map((v) => v | 0);
    this.spareNormal = state[4] ? state[5] : null;
  }

  /** A generator that continues from a state returned by {@link Rng.state}. */
  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The next 32-bit unsigned integer of the stream. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float uniformly distributed in [0, 1) (32 random bits). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /** A float uniformly distributed in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer uniformly distributed in [lo, hi) (like `torch.randint(lo, hi)`); throws when the range is empty. */
  int(lo: number, hi: number): number {
    const n = hi - lo;
    if (!(n >= 1)) throw new Error(`Rng.int: empty range [${lo}, ${hi})`);
    if (n <= TWO_POW_32) {
      // Rejection sampling: no modulo bias.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let u = this.uint32();
      while (u >= limit) u = this.uint32();
      return lo + (u % n);
    }
    return lo + Math.floor(this.next() * n);
  }

  /** `true` with probability `p`. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** A normally distributed float (Box-Muller; pairs are cached). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** A Gamma(shape, 1) sample (Marsaglia and Tsang), for {@link Rng.beta}. */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new Error(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
      let u = this.next();
      while (u === 0) u = this.next();
      return this.gamma(shape + 1) * u ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** A Beta(a, b) sample in [0, 1], as Mixup and CutMix draw their mixing ratio. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x + y === 0 ? 0.5 : x / (x + y);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<
    T extends {
      /** Number of elements. */
      length: number;
      [i: number]: unknown;
    },
  >(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A random permutation of `0 .. n-1`. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
