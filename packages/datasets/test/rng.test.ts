import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index';

describe('Rng', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.uint32()
      )(new Rng(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.uint32()
      )(new Rng(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.uint32()
      )(new Rng(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Rng(2 ** 40 + 1).uint32()).not.toBe(new Rng(1).uint32()); // high bits of a seed count
  });

  it('derive gives independent, order-free streams', () => {
    expect(Rng.derive(7, 1, 2).next()).toBe(Rng.derive(7, 1, 2).next());
    const xs = new Set(
      [Rng.derive(7, 1, 2), Rng.derive(7, 2, 1), Rng.derive(7, 1, 3), Rng.derive(8, 1, 2), Rng.derive(7, 1)].map((r) =>
        r.uint32(),
      ),
    );
    expect(xs.size).toBe(5);
  });

  it('draws uniform floats and unbiased integers in range', () => {
    const r = new Rng(1);
    const counts = new Array(6).fill(0);
    let sum = 0;
    for (let i = 0; i < 60000; i++) {
      const f = r.next();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
      counts[r.int(0, 6)]++;
    }
    expect(sum / 60000).toBeCloseTo(0.5, 2);
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    expect(() => r.int(3, 3)).toThrow(/empty range/);
  });

  it('normal, gamma and beta have the right means', () => {
    const r = new Rng(2);
    const n = 40000;
    let s = 0;
    let q = 0;
    let b = 0;
    let bs = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      q += z * z;
      b += r.beta(2, 6);
      bs += r.beta(0.2, 0.2);
    }
    expect(s / n).toBeCloseTo(0, 1);
    expect(q / n).toBeCloseTo(1, 1);
    expect(b / n).toBeCloseTo(0.25, 2);
    expect(bs / n).toBeCloseTo(0.5, 1);
  });

  it('permutation contains every index once', () => {
    const p = new Rng(3).permutation(1000);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p.slice(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
