// Pixel-value transforms: ToTensor (uint8 to float in [0, 1]), Normalize, ColorJitter.
import { DatasetUsageError } from '../errors';
import type { ImageHWC } from '../image';
import type { Rng } from '../rng';
import { checkRange, type Transform, type TransformSpec } from './transform';

/** `UNIT[v] = v / 255` as float32, for v = 0..255: scaling by table lookup, exactly as division would. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Turns uint8 pixels (0-255) into float32 in [0, 1], keeping HWC order: the scaling half of
 * torchvision's `ToTensor`. (Tensors themselves are made once per batch by the {@link DataLoader},
 * which also scales any uint8 image that reaches it this way.) Float images pass through unchanged.
 *
 * @example
 * new ToTensor().apply(img, rng).data; // Float32Array, values in [0, 1]
 */
export class ToTensor implements Transform {
  /** `ToTensor`. */
  readonly name = 'ToTensor';
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec = { type: 'ToTensor', args: [] };

  /** Scales by 1/255. */
  apply(img: ImageHWC, _rng: Rng): ImageHWC<Float32Array> {
    if (img.data instanceof Float32Array) return img as ImageHWC<Float32Array>;
    return { ...img, data: toUnitFloat(img.data) };
  }
}

/** uint8 values scaled to [0, 1] as float32 (`v / 255`). */
export function toUnitFloat(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = UNIT[src[i]];
  return out;
}

/** Writes uint8 values scaled to [0, 1] into `out` from offset `at`. */
export function writeUnitFloat(src: Uint8Array, out: Float32Array, at: number): void {
  for (let i = 0; i < src.length; i++) out[at + i] = UNIT[src[i]];
}

/**
 * Subtracts a per-channel mean and divides by a per-channel standard deviation:
 * `(x - mean[c]) / std[c]`, on the [0, 1] scale: float pixels are taken as they are, uint8 pixels
 * are read as `v / 255` (by table lookup), so `ToTensor` before it is optional: the result is
 * bit-for-bit the same either way. The datasets' `stats` hold the right values.
 *
 * @example
 * new Normalize(FashionMNIST.STATS.mean, FashionMNIST.STATS.std); // (x - 0.286) / 0.353
 */
export class Normalize implements Transform {
  /** Per-channel means. */
  readonly mean: readonly number[];
  /** Per-channel standard deviations. */
  readonly std: readonly number[];
  /** Per channel, the 256 results for uint8 input. */
  private readonly tables: Float32Array[];
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /** @param mean - one value per channel. @param std - one positive value per channel. */
  constructor(mean: readonly number[], std: readonly number[]) {
    this.spec = { type: 'Normalize', args: [[...mean], [...std]] };
    if (mean.length === 0 || mean.length !== std.length)
      throw new DatasetUsageError('Normalize', `mean has ${mean.length} values, std ${std.length}`);
    if (!std.every((s) => s > 0))
      throw new DatasetUsageError('Normalize', `std must be positive, got [${std.join(', ')}]`);
    this.mean = [...mean];
    this.std = [...std];
    // The same arithmetic as the float path on ToTensor's output, so both give identical values.
    this.tables = this.mean.map((m, k) => {
      const inv = 1 / this.std[k];
      return Float32Array.from(UNIT, (u) => (u - m) * inv);
    });
  }

  /** `Normalize(mean=[...], std=[...])`. */
  get name(): string {
    return `Normalize(mean=[${this.mean.join(', ')}], std=[${this.std.join(', ')}])`;
  }

  /** Normalize reads uint8 exactly as ToTensor would scale it, so a ToTensor just before it can be skipped. */
  absorbs(previous: Transform): boolean {
    return previous instanceof ToTensor;
  }

  /** Normalises every channel. */
  apply(img: ImageHWC, _rng: Rng): ImageHWC<Float32Array> {
    const c = img.channels;
    if (this.mean.length !== c)
      throw new DatasetUsageError('Normalize', `${this.mean.length} means for a ${c}-channel image`);
    const out = new Float32Array(img.data.length);
    if (img.data instanceof Uint8Array) this.fromBytes(img.data, c, out);
    else this.fromFloats(img.data, c, out);
    return { ...img, data: out };
  }

  private fromBytes(src: Uint8Array, c: number, out: Float32Array): void {
    if (c === 1) {
      const t = this.tables[0];
      for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
    } else if (c === 3) {
      const [t0, t1, t2] = this.tables;
      for (let i = 0; i < src.length; i += 3) {
        out[i] = t0[src[i]];
        out[i + 1] = t1[src[i + 1]];
        out[i + 2] = t2[src[i + 2]];
      }
    } else {
      for (let k = 0; k < c; k++) {
        const t = this.tables[k];
        for (let i = k; i < src.length; i += c) out[i] = t[src[i]];
      }
    }
  }

  private fromFloats(src: Float32Array, c: number, out: Float32Array): void {
    for (let k = 0; k < c; k++) {
      const m = this.mean[k];
      const inv = 1 / this.std[k];
      for (let i = k; i < src.length; i += c) out[i] = (src[i] - m) * inv;
    }
  }
}

/** Options of {@link ColorJitter}: each a maximum change, or an explicit `[min, max]` factor range. */
export interface ColorJitterOptions {
  /** Brightness factor drawn from `[max(0, 1 - b), 1 + b]` (or the range given). */
  brightness?: number | readonly [number, number];
  /** Contrast factor drawn from `[max(0, 1 - c), 1 + c]`: blends with the mean grey level. */
  contrast?: number | readonly [number, number];
  /** Saturation factor drawn from `[max(0, 1 - s), 1 + s]`: blends with each pixel's grey value. */
  saturation?: number | readonly [number, number];
  /** Hue shift drawn from `[-h, h]`, in turns (`h <= 0.5`). */
  hue?: number | readonly [number, number];
}

function factorRange(
  v: number | readonly [number, number] | undefined,
  what: string,
  centre: number,
  lo: number,
  hi: number,
): [number, number] | null {
  if (v === undefined) return null;
  let r: [number, number];
  if (typeof v === 'number') {
    if (!(v >= 0)) throw new DatasetUsageError('ColorJitter', `${what} must be non-negative, got ${v}`);
    r = [Math.max(lo, centre - v), centre + v];
  } else r = [v[0], v[1]];
  checkRange(r, 'ColorJitter', what, lo, hi);
  return r[0] === centre && r[1] === centre ? null : r;
}

// Grey level weights (ITU-R 601), as torchvision's rgb_to_grayscale.
const WR = 0.299;
const WG = 0.587;
const WB = 0.114;

/**
 * Randomly changes brightness, contrast, saturation and hue, in a random order, each by a factor
 * drawn uniformly from its range: torchvision's `ColorJitter`. Works on uint8 (the result is
 * rounded back to uint8) and on float images in [0, 1]; results are clamped to the valid range.
 * Saturation and hue leave single-channel images unchanged.
 *
 * @example
 * new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }).apply(img, rng);
 */
export class ColorJitter implements Transform {
  private readonly brightness: [number, number] | null;
  private readonly contrast: [number, number] | null;
  private readonly saturation: [number, number] | null;
  private readonly hue: [number, number] | null;
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /** @param options - which properties to jitter and by how much. */
  constructor(options: ColorJitterOptions = {}) {
    this.spec = { type: 'ColorJitter', args: [options] };
    this.brightness = factorRange(options.brightness, 'brightness', 1, 0, Infinity);
    this.contrast = factorRange(options.contrast, 'contrast', 1, 0, Infinity);
    this.saturation = factorRange(options.saturation, 'saturation', 1, 0, Infinity);
    this.hue = factorRange(options.hue, 'hue', 0, -0.5, 0.5);
  }

  /** `ColorJitter(brightness=[0.6,1.4], ...)`. */
  get name(): string {
    const parts = (['brightness', 'contrast', 'saturation', 'hue'] as const)
      .filter((k) => this[k])
      .map((k) => `${k}=[${this[k]!.join(',')}]`);
    return `ColorJitter(${parts.join(', ')})`;
  }

  /**
   * The draws torchvision makes: an order of the four operations, then one factor for each
   * operation that is enabled (brightness, contrast, saturation, hue).
   */
  params(rng: Rng): {
    /** The order in which the four adjustments run (0 brightness, 1 contrast, 2 saturation, 3 hue). */
    order: Int32Array;
    /** Brightness factor, or null when brightness is not jittered. */
    brightness: number | null;
    /** Contrast factor, or null. */
    contrast: number | null;
    /** Saturation factor, or null. */
    saturation: number | null;
    /** Hue shift (a fraction of a turn), or null. */
    hue: number | null;
  } {
    const order = rng.permutation(4);
    const draw = (r: [number, number] | null) => (r ? rng.uniform(r[0], r[1]) : null);
    const brightness = draw(this.brightness);
    const contrast = draw(this.contrast);
    const saturation = draw(this.saturation);
    const hue = draw(this.hue);
    return { order, brightness, contrast, saturation, hue };
  }

  /** Applies the four adjustments in the drawn order. */
  apply(img: ImageHWC, rng: Rng): ImageHWC {
    const p = this.params(rng);
    if (p.brightness === null && p.contrast === null && p.saturation === null && p.hue === null) return img;
    const isByte = img.data instanceof Uint8Array;
    const x = isByte ? toUnitFloat(img.data as Uint8Array) : Float32Array.from(img.data);
    const c = img.channels;
    for (const op of p.order) {
      if (op === 0 && p.brightness !== null) adjustBrightness(x, p.brightness);
      else if (op === 1 && p.contrast !== null) adjustContrast(x, c, p.contrast);
      else if (op === 2 && p.saturation !== null && c === 3) adjustSaturation(x, p.saturation);
      else if (op === 3 && p.hue !== null && c === 3) adjustHue(x, p.hue);
    }
    if (!isByte) return { ...img, data: x };
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.round(x[i] * 255);
    return { ...img, data: out };
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : Math.min(v, 1);
}

/** x * f, clamped. */
export function adjustBrightness(x: Float32Array, f: number): void {
  for (let i = 0; i < x.length; i++) x[i] = clamp01(x[i] * f);
}

/** Blend with the mean grey level: f * x + (1 - f) * mean, clamped. */
export function adjustContrast(x: Float32Array, c: number, f: number): void {
  let sum = 0;
  if (c === 3) for (let i = 0; i < x.length; i += 3) sum += WR * x[i] + WG * x[i + 1] + WB * x[i + 2];
  else for (let i = 0; i < x.length; i += c) sum += x[i];
  const mean = sum / (x.length / c);
  const b = (1 - f) * mean;
  for (let i = 0; i < x.length; i++) x[i] = clamp01(f * x[i] + b);
}

/** Blend each RGB pixel with its own grey value: f * x + (1 - f) * grey, clamped. */
export function adjustSaturation(x: Float32Array, f: number): void {
  for (let i = 0; i < x.length; i += 3) {
    const g = (1 - f) * (WR * x[i] + WG * x[i + 1] + WB * x[i + 2]);
    x[i] = clamp01(f * x[i] + g);
    x[i + 1] = clamp01(f * x[i + 1] + g);
    x[i + 2] = clamp01(f * x[i + 2] + g);
  }
}

/** Rotate the hue of each RGB pixel by `shift` turns (through HSV). */
export function adjustHue(x: Float32Array, shift: number): void {
  for (let i = 0; i < x.length; i += 3) {
    const r = x[i];
    const g = x[i + 1];
    const b = x[i + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const d = max - min;
    if (d === 0) continue; // grey: no hue to rotate
    let h = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d;
    h = (((h / 6 + shift) % 1) + 1) % 1;
    const s = d / max;
    const v = max;
    const h6 = h * 6;
    const k = Math.floor(h6);
    const f = h6 - k;
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    const [nr, ng, nb] = [
      [v, t, p],
      [q, v, p],
      [p, v, t],
      [p, q, v],
      [t, p, v],
      [v, p, q],
    ][k % 6];
    x[i] = nr;
    x[i + 1] = ng;
    x[i + 2] = nb;
  }
}
