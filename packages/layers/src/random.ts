// A seedable generator for parameter initialisation and dropout masks: a model built twice after manualSeed(n) is
// bitwise identical, on every backend (the numbers are made in JavaScript, then uploaded), and so are its dropout
// masks (each mask's seed is drawn from this stream).

let state = 0x2545f491;

/** Seeds the generator that initialises every module's parameters and draws dropout masks (like `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
  state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  // Warm up, so that close seeds give unrelated streams.
  for (let i = 0; i < 4; i++) nextUint32();
}

/** The next 32 random bits (mulberry32). */
function nextUint32(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** A 32-bit seed for one random op (a dropout mask), drawn from the stream that {@link manualSeed} seeds. */
export function nextSeed(): number {
  return nextUint32();
}

/** `n` numbers uniform in [low, high). */
export function uniform(n: number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  const span = high - low;
  for (let i = 0; i < n; i++) out[i] = low + span * (nextUint32() / 4294967296);
  return out;
}

/** `n` numbers from a normal distribution (Box-Muller). */
export function normal(n: number, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (nextUint32() + 1) / 4294967297;
    const u2 = nextUint32() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** The state of the generator, to save with a checkpoint and restore later. */
export function getRandomState(): number {
  return state;
}

/** Restores a state returned by {@link getRandomState}. */
export function setRandomState(s: number): void {
  state = s >>> 0;
}
