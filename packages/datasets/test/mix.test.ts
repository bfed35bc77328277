// Mixup and CutMix on host batches: pixel mixing, the pasted box, soft targets, seeding.
import { describe, expect, it } from 'vitest';
import { CutMix, Mixup, Rng, softTargets, type HostBatch } from '../src/index';

/** n images of 6x8x2 where image i is filled with i + 1; labels i mod classes. */
function batch(n: number, classes = 10): HostBatch {
  const size = 6 * 8 * 2;
  const x = new Float32Array(n * size);
  for (let i = 0; i < n; i++) x.fill(i + 1, i * size, (i + 1) * size);
  return {
    x,
    shape: [n, 6, 8, 2],
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    targets: null,
    numClasses: classes,
    indices: Int32Array.from({ length: n }, (_, i) => i),
  };
}

describe('soft targets', () => {
  it('one-hot rows from labels', () => {
    const t = softTargets(batch(3, 4));
    expect(Array.from(t)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
  });
});

describe('Mixup', () => {
  it('mixes each image with the previous one by lam ~ Beta(alpha, alpha), targets likewise', () => {
    const b = batch(4);
    const r = new Rng(11);
    const out = new Mixup({ alpha: 0.4 }).apply(b, r);
    const d = new Rng(11);
    d.next();
    const lam = d.beta(0.4, 0.4);
    const size = 96;
    for (let i = 0; i < 4; i++) {
      const j = (i + 3) % 4;
      for (const k of [0, 50, 95]) expect(out.x[i * size + k]).toBeCloseTo(lam * (i + 1) + (1 - lam) * (j + 1), 5);
      const row = Array.from(out.targets!.subarray(i * 10, i * 10 + 10));
      expect(row[i]).toBeCloseTo(lam, 6);
      expect(row[j]).toBeCloseTo(1 - lam, 6);
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    }
    expect(b.x[0]).toBe(1); // the input batch is untouched
    expect(b.targets).toBeNull();
  });

  it('is reproducible per seed; p = 0 only makes one-hot targets', () => {
    const m = new Mixup();
    expect(Array.from(m.apply(batch(5), new Rng(1)).x)).toEqual(Array.from(m.apply(batch(5), new Rng(1)).x));
    expect(Array.from(m.apply(batch(5), new Rng(1)).x)).not.toEqual(Array.from(m.apply(batch(5), new Rng(2)).x));
    const none = new Mixup({ p: 0 }).apply(batch(2), new Rng(1));
    expect(Array.from(none.targets!)).toEqual(Array.from(softTargets(batch(2))));
    expect(() => new Mixup({ alpha: 0 })).toThrow(/alpha must be positive/);
  });
});

describe('CutMix', () => {
  it("pastes the previous image's pixels inside one box and weights the targets by the pasted area", () => {
    for (let s = 0; s < 30; s++) {
      const b = batch(3);
      const cm = new CutMix();
      const out = cm.apply(b, new Rng(s));
      const d = new Rng(s);
      d.next();
      const lam = d.beta(1, 1);
      const [top, left, bottom, right] = cm.box(6, 8, lam, d);
      const area = ((bottom - top) * (right - left)) / 48;
      for (let i = 0; i < 3; i++) {
        const j = (i + 2) % 3;
        let fromPartner = 0;
        for (let y = 0; y < 6; y++) {
          for (let x = 0; x < 8; x++) {
            const inside = y >= top && y < bottom && x >= left && x < right;
            for (let c = 0; c < 2; c++) {
              const v = out.x[i * 96 + (y * 8 + x) * 2 + c];
              expect(v).toBe(inside ? j + 1 : i + 1);
              if (v === j + 1) fromPartner++;
            }
          }
        }
        expect(fromPartner / 96).toBeCloseTo(area, 6);
        expect(out.targets![i * 10 + j]).toBeCloseTo(area, 6);
        expect(out.targets![i * 10 + i]).toBeCloseTo(1 - area, 6);
      }
    }
  });

  it('chains after Mixup, mixing its soft targets', () => {
    const mixed = new Mixup().apply(batch(4), new Rng(1));
    const both = new CutMix().apply(mixed, new Rng(2));
    for (let i = 0; i < 4; i++)
      expect(Array.from(both.targets!.subarray(i * 10, i * 10 + 10)).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
  });
});
