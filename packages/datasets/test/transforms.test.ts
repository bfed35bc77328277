// Every image transform against outputs worked out by hand or by a naive reference, plus seeding.
import { describe, expect, it } from 'vitest';
import {
  CenterCrop,
  ColorJitter,
  Compose,
  Lambda,
  Normalize,
  RandomCrop,
  RandomErasing,
  RandomHorizontalFlip,
  RandomResizedCrop,
  Resize,
  Rng,
  ToTensor,
  cropPad,
  imageHWC,
  resizeRegion,
  type ImageHWC,
  type PaddingMode,
} from '../src/index';

const rng = () => new Rng(123);
/** An h x w x c uint8 image whose value at (y, x, k) is (y * 16 + x * 3 + k * 50) mod 256. */
function ramp(h: number, w: number, c: number): ImageHWC<Uint8Array> {
  const d = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) d[(y * w + x) * c + k] = (y * 16 + x * 3 + k * 50) % 256;
  return imageHWC(d, h, w, c);
}
const px = (img: ImageHWC, y: number, x: number, k = 0) => img.data[(y * img.width + x) * img.channels + k];
const values = (img: ImageHWC) => Array.from(img.data);

describe('ToTensor and Normalize', () => {
  it('ToTensor scales uint8 to [0, 1] float32 and passes floats through', () => {
    const img = imageHWC(Uint8Array.of(0, 51, 255), 1, 3, 1);
    const out = new ToTensor().apply(img, rng());
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(values(out)).toEqual([0, Math.fround(0.2), 1]);
    expect(new ToTensor().apply(out, rng())).toBe(out);
  });

  it('Normalize computes (x - mean) / std per channel', () => {
    const img = imageHWC(Float32Array.of(0.5, 0.25, 1, 0, 0.5, 0.5), 1, 2, 3);
    const out = new Normalize([0.5, 0.25, 0.5], [0.5, 0.25, 0.25]).apply(img, rng());
    const expected = [0, 0, 2, -1, 1, 0];
    values(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('reads uint8 exactly as ToTensor would: same bits with or without ToTensor, and Compose skips the redundant pass', () => {
    const img = ramp(9, 7, 3);
    const n = new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    const viaFloat = n.apply(new ToTensor().apply(img, rng()), rng());
    const direct = n.apply(img, rng());
    expect(Buffer.from(direct.data.buffer).equals(Buffer.from(viaFloat.data.buffer))).toBe(true);
    let toTensorRan = false;
    const spy = new ToTensor();
    spy.apply = (i, r) => {
      toTensorRan = true;
      return ToTensor.prototype.apply.call(spy, i, r);
    };
    const composed = new Compose([spy, n]).apply(img, rng());
    expect(toTensorRan).toBe(false);
    expect(values(composed)).toEqual(values(viaFloat));
  });

  it('rejects mismatched channel counts and bad std', () => {
    expect(() => new Normalize([0.5], [0.5]).apply(ramp(2, 2, 3), rng())).toThrow(/1 means for a 3-channel image/);
    expect(() => new Normalize([0.5], [0])).toThrow(/std must be positive/);
  });
});

describe('Resize', () => {
  it('sets the shorter side and floors the longer (torchvision)', () => {
    const r = new Resize(256);
    expect(r.outputSize(375, 500)).toEqual([256, 341]);
    expect(r.outputSize(500, 375)).toEqual([341, 256]);
    expect(r.outputSize(256, 300)).toEqual([256, 300]);
    expect(new Resize([10, 20]).outputSize(3, 4)).toEqual([10, 20]);
    const img = ramp(4, 4, 1);
    expect(new Resize(4).apply(img, rng())).toBe(img);
  });

  it('upscales with bilinear interpolation at half-pixel centres', () => {
    const img = imageHWC(Uint8Array.of(0, 100), 1, 2, 1);
    expect(values(resizeRegion(img, 0, 0, 1, 2, 1, 4))).toEqual([0, 25, 75, 100]);
    const f = imageHWC(Float32Array.of(0, 1, 2, 3), 2, 2, 1);
    const up = resizeRegion(f, 0, 0, 2, 2, 4, 4);
    // rows interpolate the same way as columns: value(y, x) = 2 * v(y) + v(x) with v = [0, .25, .75, 1]
    const v = [0, 0.25, 0.75, 1];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(px(up, y, x)).toBeCloseTo(2 * v[y] + v[x], 6);
  });

  it('downscales with an antialiasing triangle filter (and plain bilinear without)', () => {
    const img = imageHWC(Uint8Array.of(0, 100, 200, 100), 1, 4, 1);
    // out 0: taps 0..2 with weights .75 .75 .25 -> 125 / 1.75; out 1: taps 1..3 with .25 .75 .75 -> 250 / 1.75
    expect(values(resizeRegion(img, 0, 0, 1, 4, 1, 2))).toEqual([71, 143]);
    expect(values(resizeRegion(img, 0, 0, 1, 4, 1, 2, false))).toEqual([50, 150]);
    const avg = resizeRegion(imageHWC(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), 3, 3, 1), 0, 0, 3, 3, 1, 1);
    expect(px(avg, 0, 0)).toBeCloseTo(5, 5); // shrinking to one pixel averages symmetrically
  });

  it('keeps channels apart and resizes a region as if cropped first', () => {
    const img = ramp(6, 8, 3);
    const region = resizeRegion(img, 1, 2, 4, 4, 2, 2);
    const cropped = resizeRegion(cropPad(img, 1, 2, 4, 4), 0, 0, 4, 4, 2, 2);
    expect(values(region)).toEqual(values(cropped));
    for (let k = 0; k < 3; k++) expect(px(region, 0, 0, k) - px(region, 0, 0, 0)).toBe(50 * k);
  });
});

describe('CenterCrop', () => {
  it("takes the centre, rounding odd margins half to even like Python's round", () => {
    const img = ramp(5, 5, 1);
    const c2 = new CenterCrop(2).apply(img, rng()); // margin 1.5 -> 2
    expect(values(c2)).toEqual([px(img, 2, 2), px(img, 2, 3), px(img, 3, 2), px(img, 3, 3)]);
    const c4 = new CenterCrop(4).apply(img, rng()); // margin 0.5 -> 0
    expect(px(c4, 0, 0)).toBe(px(img, 0, 0));
    const c3 = new CenterCrop([3, 1]).apply(img, rng());
    expect(values(c3)).toEqual([px(img, 1, 2), px(img, 2, 2), px(img, 3, 2)]);
  });

  it('pads a smaller image with zeros around it', () => {
    const img = imageHWC(Uint8Array.of(1, 2, 3, 4), 2, 2, 1);
    expect(values(new CenterCrop(4).apply(img, rng()))).toEqual([0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
    expect(values(new CenterCrop([2, 3]).apply(img, rng()))).toEqual([1, 2, 0, 3, 4, 0]); // odd padding: the extra column goes right
  });
});

/** The reference: pad explicitly, then crop. */
function naivePadCrop(
  img: ImageHWC<Uint8Array>,
  pad: number,
  mode: PaddingMode,
  top: number,
  left: number,
  h: number,
  w: number,
): number[] {
  const H = img.height + 2 * pad;
  const W = img.width + 2 * pad;
  const src = (y: number, x: number, k: number) => {
    const map = (v: number, n: number) => {
      if (v >= 0 && v < n) return v;
      if (mode === 'constant') return -1;
      if (mode === 'edge') return v < 0 ? 0 : n - 1;
      if (mode === 'reflect') return v < 0 ? -v : 2 * (n - 1) - v;
      return v < 0 ? -v - 1 : 2 * n - 1 - v;
    };
    const sy = map(y - pad, img.height);
    const sx = map(x - pad, img.width);
    return sy < 0 || sx < 0 ? 0 : px(img, sy, sx, k);
  };
  const out: number[] = [];
  expect(top + h <= H && left + w <= W).toBe(true);
  for (let y = top; y < top + h; y++)
    for (let x = left; x < left + w; x++) for (let k = 0; k < img.channels; k++) out.push(src(y, x, k));
  return out;
}

describe('RandomCrop', () => {
  it('CIFAR recipe: pad 4, crop 32; each output equals the padded image cropped at the drawn offset; every offset occurs', () => {
    const img = ramp(32, 32, 3);
    const t = new RandomCrop(32, { padding: 4 });
    const seen = new Set<string>();
    for (let s = 0; s < 3000; s++) {
      const d = new Rng(s);
      const i = d.int(0, 9);
      const j = d.int(0, 9);
      seen.add(`${i},${j}`);
      if (s < 100) expect(values(t.apply(img, new Rng(s)))).toEqual(naivePadCrop(img, 4, 'constant', i, j, 32, 32));
    }
    expect(seen.size).toBe(81);
  });

  it.each(['edge', 'reflect', 'symmetric'] as const)('%s padding matches explicit padding', (mode) => {
    const img = ramp(5, 6, 2);
    const t = new RandomCrop([4, 5], { padding: 2, paddingMode: mode });
    for (let s = 0; s < 30; s++) {
      const d = new Rng(s);
      const i = d.int(0, 9 - 4 + 1);
      const j = d.int(0, 10 - 5 + 1);
      expect(values(t.apply(img, new Rng(s)))).toEqual(naivePadCrop(img, 2, mode, i, j, 4, 5));
    }
  });

  it('fills with the given value, pads when needed, and refuses an impossible crop', () => {
    const img = imageHWC(Uint8Array.of(9), 1, 1, 1);
    expect(values(new RandomCrop(3, { padIfNeeded: true, fill: 7 }).apply(img, rng()))).toContain(9);
    expect(
      values(new RandomCrop(3, { padIfNeeded: true, fill: 7 }).apply(img, rng())).filter((v) => v === 7).length,
    ).toBe(8);
    expect(() => new RandomCrop(3).apply(img, rng())).toThrow(
      /crop 3x3 is larger than the \(padded\) image 1x1; use padIfNeeded/,
    );
    const same = ramp(4, 4, 1);
    expect(new RandomCrop(4).apply(same, rng())).toBe(same);
  });
});

describe('RandomResizedCrop', () => {
  it('draws windows inside the image with area and ratio in range, then resizes exactly that window', () => {
    const img = ramp(60, 80, 3);
    const t = new RandomResizedCrop(16);
    for (let s = 0; s < 100; s++) {
      const [top, left, h, w] = t.params(60, 80, new Rng(s));
      expect(top >= 0 && left >= 0 && top + h <= 60 && left + w <= 80).toBe(true);
      const area = (h * w) / (60 * 80);
      expect(area).toBeGreaterThan(0.06);
      expect(area).toBeLessThanOrEqual(1);
      const out = t.apply(img, new Rng(s));
      expect([out.height, out.width, out.channels]).toEqual([16, 16, 3]);
      expect(values(out)).toEqual(values(resizeRegion(img, top, left, h, w, 16, 16)));
    }
  });

  it("falls back to the central window of the nearest allowed ratio when no draw fits (torchvision's rule)", () => {
    const t = new RandomResizedCrop(8, { scale: [2, 3] }); // never fits
    expect(t.params(10, 40, new Rng(1))).toEqual([0, 13, 10, 13]); // ratio 4 > 4/3: w = round(10 * 4/3) = 13
    expect(t.params(40, 10, new Rng(1))).toEqual([13, 0, 13, 10]); // ratio 1/4 < 3/4: h = round(10 / 0.75) = 13
    expect(t.params(30, 30, new Rng(1))).toEqual([0, 0, 30, 30]);
  });
});

describe('RandomHorizontalFlip', () => {
  it('mirrors rows (all channels together) with probability p', () => {
    const img = ramp(2, 3, 3);
    const f = new RandomHorizontalFlip(1).apply(img, rng());
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++) for (let k = 0; k < 3; k++) expect(px(f, y, x, k)).toBe(px(img, y, 2 - x, k));
    expect(new RandomHorizontalFlip(0).apply(img, rng())).toBe(img);
    const half = new RandomHorizontalFlip(0.5);
    const r = new Rng(5);
    let flips = 0;
    for (let i = 0; i < 2000; i++) if (half.apply(img, r) !== img) flips++;
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
  });
});

describe('ColorJitter', () => {
  const rgb = (values: number[]) => imageHWC(Float32Array.from(values), 1, values.length / 3, 3);

  it('brightness multiplies and clamps', () => {
    const out = new ColorJitter({ brightness: [2, 2] }).apply(rgb([0.1, 0.3, 0.6]), rng());
    values(out).forEach((v, i) => expect(v).toBeCloseTo([0.2, 0.6, 1][i], 6));
  });

  it('contrast 0 gives the mean grey level everywhere', () => {
    const out = new ColorJitter({ contrast: [0, 0] }).apply(rgb([1, 0, 0, 0, 0, 1]), rng());
    const mean = (0.299 + 0.114) / 2;
    for (const v of values(out)) expect(v).toBeCloseTo(mean, 6);
  });

  it('saturation 0 turns each pixel grey; saturation 2 pushes away from grey', () => {
    const out = new ColorJitter({ saturation: [0, 0] }).apply(rgb([1, 0.5, 0]), rng());
    const g = 0.299 + 0.587 * 0.5;
    for (const v of values(out)) expect(v).toBeCloseTo(g, 6);
    const more = new ColorJitter({ saturation: [2, 2] }).apply(rgb([0.6, 0.5, 0.4]), rng());
    const g2 = 0.299 * 0.6 + 0.587 * 0.5 + 0.114 * 0.4;
    values(more).forEach((v, i) => expect(v).toBeCloseTo(2 * [0.6, 0.5, 0.4][i] - g2, 6));
  });

  it('hue rotates around the colour wheel and leaves greys alone', () => {
    const half = new ColorJitter({ hue: [0.5, 0.5] }).apply(rgb([1, 0, 0, 0.4, 0.4, 0.4]), rng());
    values(half).forEach((v, i) => expect(v).toBeCloseTo([0, 1, 1, 0.4, 0.4, 0.4][i], 6));
    const third = new ColorJitter({ hue: [1 / 3, 1 / 3] }).apply(rgb([0.8, 0.2, 0.2]), rng());
    values(third).forEach((v, i) => expect(v).toBeCloseTo([0.2, 0.8, 0.2][i], 5));
  });

  it('keeps uint8 as uint8 (rounded), leaves grey images without hue/saturation change, and is reproducible', () => {
    const u8 = new ColorJitter({ brightness: [1.5, 1.5] }).apply(imageHWC(Uint8Array.of(10, 100, 200), 1, 1, 3), rng());
    expect(u8.data).toBeInstanceOf(Uint8Array);
    expect(values(u8)).toEqual([15, 150, 255]);
    const grey = imageHWC(Uint8Array.of(10, 100, 200), 1, 3, 1);
    expect(values(new ColorJitter({ saturation: 0.9, hue: 0.4 }).apply(grey, rng()))).toEqual([10, 100, 200]);
    const t = new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 });
    const img = ramp(8, 8, 3);
    expect(values(t.apply(img, new Rng(9)))).toEqual(values(t.apply(img, new Rng(9))));
    expect(values(t.apply(img, new Rng(9)))).not.toEqual(values(t.apply(img, new Rng(10))));
    expect(() => new ColorJitter({ hue: 0.7 })).toThrow(/hue/);
  });
});

describe('RandomErasing', () => {
  it('fills one rectangle of the drawn size with the value, on a copy', () => {
    const img = imageHWC(new Float32Array(20 * 30 * 3).fill(1), 20, 30, 3);
    const t = new RandomErasing({ p: 1, value: [5, 6, 7] });
    for (let s = 0; s < 50; s++) {
      const d = new Rng(s);
      d.next(); // the p draw
      const rect = t.params(20, 30, d);
      const out = t.apply(img, new Rng(s));
      if (!rect) {
        expect(out).toBe(img);
        continue;
      }
      const [top, left, h, w] = rect;
      const area = (h * w) / 600;
      expect(area).toBeGreaterThan(0.01);
      expect(area).toBeLessThan(0.4);
      for (let y = 0; y < 20; y++) {
        for (let x = 0; x < 30; x++) {
          const inside = y >= top && y < top + h && x >= left && x < left + w;
          for (let k = 0; k < 3; k++) expect(px(out, y, x, k)).toBe(inside ? 5 + k : 1);
        }
      }
    }
    expect(img.data.every((v) => v === 1)).toBe(true);
  });

  it("random values are seeded normal noise; 'random' needs float pixels; p = 0 does nothing", () => {
    const img = imageHWC(new Float32Array(32 * 32), 32, 32, 1);
    const t = new RandomErasing({ p: 1, value: 'random', scale: [0.3, 0.3], ratio: [1, 1] });
    const a = t.apply(img, new Rng(4));
    expect(values(a)).toEqual(values(t.apply(img, new Rng(4))));
    const erased = values(a).filter((v) => v !== 0);
    expect(erased.length).toBeGreaterThan(250);
    const mean = erased.reduce((s, v) => s + v, 0) / erased.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(() => t.apply(ramp(4, 4, 1), new Rng(1))).toThrow(/needs float pixels/);
    expect(new RandomErasing({ p: 0 }).apply(img, new Rng(1))).toBe(img);
  });
});

describe('Compose, Lambda and seeding', () => {
  it('applies in order and names the steps', () => {
    const add = (n: number) =>
      new Lambda(`add${n}`, (img) => ({ ...img, data: Float32Array.from(img.data, (v) => v * 10 + n) }));
    const c = new Compose([add(1), add(2)]);
    expect(c.name).toBe('Compose(add1, add2)');
    expect(values(c.apply(imageHWC(Float32Array.of(0), 1, 1, 1), rng()))).toEqual([12]);
  });

  it('a full augmentation pipeline gives the same output for the same seed and different outputs for different seeds', () => {
    const t = new Compose([
      new RandomResizedCrop(24),
      new RandomHorizontalFlip(),
      new ColorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.05 }),
      new ToTensor(),
      new Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
      new RandomErasing({ p: 0.5, value: 'random' }),
    ]);
    const img = ramp(40, 50, 3);
    const outs = [1, 1, 2].map((s) => values(t.apply(img, new Rng(s))));
    expect(outs[0]).toEqual(outs[1]);
    expect(outs[0]).not.toEqual(outs[2]);
  });

  it('no transform writes into its input', () => {
    const img = ramp(12, 12, 3);
    const copy = values(img);
    const all = [
      new Resize(7),
      new CenterCrop(5),
      new RandomCrop(10, { padding: 2 }),
      new RandomResizedCrop(6),
      new RandomHorizontalFlip(1),
      new ColorJitter({ brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2 }),
      new ToTensor(),
      new Normalize([0, 0, 0], [1, 1, 1]),
      new RandomErasing({ p: 1, value: 0 }),
    ];
    for (const t of all) t.apply(img, new Rng(3));
    expect(values(img)).toEqual(copy);
  });
});
