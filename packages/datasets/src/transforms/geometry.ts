// Geometric transforms: Resize, CenterCrop, RandomCrop, RandomResizedCrop, RandomHorizontalFlip.
// Their parameters and random draws follow torchvision's, so a recipe reads the same in both.
import { DatasetUsageError } from '../errors';
import { emptyLike, type ImageHWC, type PixelArray } from '../image';
import { MAX_SIDE } from '../limits';
import type { Rng } from '../rng';
import { resizeRegion, type Interpolation } from './resample';
import {
  checkOutputSize,
  checkProbability,
  checkRange,
  roundHalfEven,
  shown,
  toSize,
  type Transform,
  type TransformSpec,
} from './transform';

/** How pixels outside an image are made up when a crop reaches past its border. */
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

/** Maps a possibly out-of-range index to a source index in [0, n), or -1 for "use the fill value". */
function mapIndex(v: number, n: number, mode: PaddingMode): number {
  if (v >= 0 && v < n) return v;
  switch (mode) {
    case 'constant':
      return -1;
    case 'edge':
      return v < 0 ? 0 : n - 1;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      let m = ((v % period) + period) % period;
      if (m >= n) m = period - m;
      return m;
    }
    case 'symmetric': {
      const period = 2 * n;
      let m = ((v % period) + period) % period;
      if (m >= n) m = period - 1 - m;
      return m;
    }
  }
}

/**
 * The `height x width` window of `img` whose top-left corner is at (`top`, `left`), which may reach
 * past the image's border: those pixels come from `mode` (`fill` per channel for 'constant').
 */
export function cropPad<T extends PixelArray>(
  img: ImageHWC<T>,
  top: number,
  left: number,
  height: number,
  width: number,
  mode: PaddingMode = 'constant',
  fill: number | readonly number[] = 0,
): ImageHWC<T> {
  const c = img.channels;
  if (![top, left].every(Number.isInteger) || ![height, width].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new DatasetUsageError(
      'crop',
      `window ${height}x${width} at (${top}, ${left}) must be positive integer sizes at an integer position`,
    );
  }
  checkOutputSize(height, width, 'crop');
  const fills = typeof fill === 'number' ? new Array<number>(c).fill(fill) : fill;
  if (fills.length !== c)
    throw new DatasetUsageError('crop', `fill has ${fills.length} values for a ${c}-channel image`);
  const out = emptyLike(img.data, height, width, c);
  const src = img.data;
  const dst = out.data;
  const needsFill = fills.some((f) => f !== 0);
  const cols = new Int32Array(width);
  for (let x = 0; x < width; x++) cols[x] = mapIndex(left + x, img.width, mode);
  // The columns that come straight from the source, as one span: copied with set().
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, img.width - left);
  for (let y = 0; y < height; y++) {
    const sy = mapIndex(top + y, img.height, mode);
    const rowOut = y * width * c;
    if (sy < 0) {
      if (needsFill)
        for (let x = 0; x < width; x++) for (let ch = 0; ch < c; ch++) dst[rowOut + x * c + ch] = fills[ch];
      continue;
    }
    const rowIn = sy * img.width * c;
    if (x1 > x0) dst.set(src.subarray(rowIn + (left + x0) * c, rowIn + (left + x1) * c), rowOut + x0 * c);
    for (let x = 0; x < width; x++) {
      if (x >= x0 && x < x1) {
        x = x1 - 1;
        continue;
      }
      const sx = cols[x];
      for (let ch = 0; ch < c; ch++) dst[rowOut + x * c + ch] = sx < 0 ? fills[ch] : src[rowIn + sx * c + ch];
    }
  }
  return out;
}

/** Options of {@link Resize}. */
export interface ResizeOptions {
  /** Average over the source pixels when shrinking (PIL's and torchvision's default), rather than plain bilinear interpolation. Default true. */
  antialias?: boolean;
  /**
   * The filter: `'bilinear'` (default) or `'bicubic'`, as PIL's BILINEAR / BICUBIC (torchvision's
   * `InterpolationMode` on PIL images). On uint8 images the result is byte for byte PIL's `Image.resize`.
   */
  interpolation?: Interpolation;
}

/**
 * Resizes with bilinear (or bicubic) interpolation, antialiased, as PIL and torchvision do (on uint8 images byte for
 * byte PIL's `Image.resize`). A single number sets the shorter side and keeps the aspect
 * ratio (the longer side becomes `floor(size * long / short)`, as in torchvision); `[height, width]`
 * sets both.
 *
 * @example
 * new Resize(256).apply(photo, rng); // a photo 375 high and 500 wide becomes { height: 256, width: 341 }
 */
export class Resize implements Transform {
  private readonly size: number | [number, number];
  private readonly antialias: boolean;
  private readonly interpolation: Interpolation;
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /**
   * @param size - the shorter side, or `[height, width]`: integers from 1 to 16,384, at most 2^26
   *   pixels in all (a single number counts as its square).
   * @throws DatasetUsageError for a size out of that range (`new Resize(1e6)`), or an interpolation other than
   *   'bilinear' and 'bicubic'.
   */
  constructor(size: number | readonly [number, number], options: ResizeOptions = {}) {
    this.spec = { type: 'Resize', args: [size, options] };
    this.size = typeof size === 'number' ? toSize(size, 'Resize')[0] : toSize(size, 'Resize');
    this.antialias = options.antialias ?? true;
    const interpolation = options.interpolation ?? 'bilinear';
    if (interpolation !== 'bilinear' && interpolation !== 'bicubic')
      throw new DatasetUsageError(
        'Resize',
        `interpolation must be 'bilinear' or 'bicubic', got ${typeof interpolation === 'string' ? `'${String(interpolation).slice(0, 40)}'` : typeof interpolation}`,
      );
    this.interpolation = interpolation;
  }

  /** `Resize(256)` or `Resize(224x224)`. */
  get name(): string {
    return `Resize(${typeof this.size === 'number' ? this.size : this.size.join('x')})`;
  }

  /** The output `[height, width]` for an input of that size. */
  outputSize(height: number, width: number): [number, number] {
    if (typeof this.size !== 'number') return this.size;
    const s = this.size;
    return width <= height ? [Math.floor((s * height) / width), s] : [s, Math.floor((s * width) / height)];
  }

  /**
   * Resizes the whole image.
   *
   * @throws DatasetUsageError when the result would be over 2^26 pixels (a short side of 8,192 for a
   *   very long, thin image), before it is allocated.
   */
  apply(img: ImageHWC, _rng: Rng): ImageHWC {
    const [h, w] = this.outputSize(img.height, img.width);
    checkOutputSize(h, w, 'Resize', `resizing a ${img.height}x${img.width} image: `);
    if (h === img.height && w === img.width) return img;
    return resizeRegion(img, 0, 0, img.height, img.width, h, w, this.antialias, this.interpolation);
  }
}

/**
 * Cuts the central `height x width` window; an image smaller than that is padded with zeros around
 * it first (torchvision's rule, including its rounding of odd margins).
 *
 * @example
 * new CenterCrop(224).apply(resized, rng); // 224x224
 */
export class CenterCrop implements Transform {
  private readonly size: [number, number];
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /**
   * @param size - a side length, or `[height, width]`: integers from 1 to 16,384, at most 2^26 pixels in all.
   * @throws DatasetUsageError for a size out of that range.
   */
  constructor(size: number | readonly [number, number]) {
    this.spec = { type: 'CenterCrop', args: [size] };
    this.size = toSize(size, 'CenterCrop');
  }

  /** `CenterCrop(224x224)`. */
  get name(): string {
    return `CenterCrop(${this.size.join('x')})`;
  }

  /** Crops (and pads where needed). */
  apply(img: ImageHWC, _rng: Rng): ImageHWC {
    const [ch, cw] = this.size;
    if (ch === img.height && cw === img.width) return img;
    const top = ch > img.height ? -Math.floor((ch - img.height) / 2) : roundHalfEven((img.height - ch) / 2);
    const left = cw > img.width ? -Math.floor((cw - img.width) / 2) : roundHalfEven((img.width - cw) / 2);
    return cropPad(img, top, left, ch, cw);
  }
}

/** Options of {@link RandomCrop}. */
export interface RandomCropOptions {
  /** Padding added before cropping: one number for every side, `[leftRight, topBottom]`, or `[left, top, right, bottom]`; integers from 0 to 16,384. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Pad an image smaller than the crop (on both sides) instead of failing. Default false. */
  padIfNeeded?: boolean;
  /** Value of constant padding, one number or one per channel. Default 0. */
  fill?: number | readonly number[];
  /** How padding is made: `'constant'` (default), `'edge'`, `'reflect'` or `'symmetric'`. */
  paddingMode?: PaddingMode;
}

/**
 * Pads (optionally), then cuts a `height x width` window at a random position: the standard CIFAR
 * augmentation is `new RandomCrop(32, { padding: 4 })`. The padded image is never materialised;
 * the crop reads through the padding.
 *
 * @example
 * new RandomCrop(32, { padding: 4 }).apply(cifarImage, new Rng(0)); // 32x32x3, shifted by up to 4 pixels
 */
export class RandomCrop implements Transform {
  private readonly size: [number, number];
  private readonly pad: [number, number, number, number];
  private readonly padIfNeeded: boolean;
  private readonly fill: number | readonly number[];
  private readonly mode: PaddingMode;
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /**
   * @param size - a side length, or `[height, width]`: integers from 1 to 16,384, at most 2^26 pixels in all.
   * @throws DatasetUsageError for a size or padding out of range.
   */
  constructor(size: number | readonly [number, number], options: RandomCropOptions = {}) {
    this.spec = { type: 'RandomCrop', args: [size, options] };
    this.size = toSize(size, 'RandomCrop');
    const p = options.padding ?? 0;
    const pad =
      typeof p === 'number'
        ? [p, p, p, p]
        : !Array.isArray(p)
          ? []
          : p.length === 2
            ? [p[0], p[1], p[0], p[1]]
            : p.length === 4
              ? [p[0], p[1], p[2], p[3]]
              : [];
    if (pad.length !== 4 || !pad.every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_SIDE)) {
      throw new DatasetUsageError(
        'RandomCrop',
        `padding must be non-negative integers up to ${MAX_SIDE}: one, [leftRight, topBottom] or [left, top, right, bottom], got ${shown(p)}`,
      );
    }
    this.pad = pad as [number, number, number, number];
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = options.fill ?? 0;
    this.mode = options.paddingMode ?? 'constant';
  }

  /** `RandomCrop(32x32, padding=4,4,4,4)`. */
  get name(): string {
    return `RandomCrop(${this.size.join('x')}${this.pad.some((v) => v) ? `, padding=${this.pad.join(',')}` : ''})`;
  }

  /** Draws the window's row then column (torchvision's order) and cuts it. */
  apply(img: ImageHWC, rng: Rng): ImageHWC {
    const [th, tw] = this.size;
    let [pl, pt, pr, pb] = this.pad;
    if (this.padIfNeeded) {
      const w = img.width + pl + pr;
      const h = img.height + pt + pb;
      if (w < tw) {
        pl += tw - w;
        pr += tw - w;
      }
      if (h < th) {
        pt += th - h;
        pb += th - h;
      }
    }
    const h = img.height + pt + pb;
    const w = img.width + pl + pr;
    if (h < th || w < tw) {
      throw new DatasetUsageError(
        'RandomCrop',
        `crop ${th}x${tw} is larger than the (padded) image ${h}x${w}; use padIfNeeded`,
      );
    }
    if (h === th && w === tw && pt === 0 && pl === 0) return img;
    const i = h === th && w === tw ? 0 : rng.int(0, h - th + 1);
    const j = h === th && w === tw ? 0 : rng.int(0, w - tw + 1);
    return cropPad(img, i - pt, j - pl, th, tw, this.mode, this.fill);
  }
}

/** Options of {@link RandomResizedCrop}. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's. Default `[0.08, 1]`. */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height), drawn log-uniformly. Default `[3/4, 4/3]`. */
  ratio?: readonly [number, number];
  /** Antialiased resizing (default true). */
  antialias?: boolean;
}

/**
 * Cuts a window of random area and aspect ratio and resizes it to `size`: the ImageNet training
 * augmentation (Inception's). Ten tries at a window that fits, then the central window of the
 * nearest allowed ratio, exactly as torchvision draws them.
 *
 * @example
 * new RandomResizedCrop(224).apply(photo, rng); // 224x224x3
 */
export class RandomResizedCrop implements Transform {
  private readonly size: [number, number];
  private readonly scale: readonly [number, number];
  private readonly ratio: readonly [number, number];
  private readonly antialias: boolean;
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /**
   * @param size - the output side length, or `[height, width]`: integers from 1 to 16,384, at most 2^26 pixels in all.
   * @throws DatasetUsageError for a size, scale or ratio out of range.
   */
  constructor(size: number | readonly [number, number], options: RandomResizedCropOptions = {}) {
    this.spec = { type: 'RandomResizedCrop', args: [size, options] };
    this.size = toSize(size, 'RandomResizedCrop');
    this.scale = options.scale ?? [0.08, 1];
    this.ratio = options.ratio ?? [3 / 4, 4 / 3];
    checkRange(this.scale, 'RandomResizedCrop', 'scale', 0, Infinity);
    checkRange(this.ratio, 'RandomResizedCrop', 'ratio', Number.MIN_VALUE, Infinity);
    this.antialias = options.antialias ?? true;
  }

  /** `RandomResizedCrop(224x224)`. */
  get name(): string {
    return `RandomResizedCrop(${this.size.join('x')})`;
  }

  /** The window `[top, left, height, width]` for an image of that size, drawn from `rng`. */
  params(height: number, width: number, rng: Rng): [number, number, number, number] {
    const area = height * width;
    const logLo = Math.log(this.ratio[0]);
    const logHi = Math.log(this.ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * rng.uniform(this.scale[0], this.scale[1]);
      const aspect = Math.exp(rng.uniform(logLo, logHi));
      const w = roundHalfEven(Math.sqrt(target * aspect));
      const h = roundHalfEven(Math.sqrt(target / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const i = rng.int(0, height - h + 1);
        const j = rng.int(0, width - w + 1);
        return [i, j, h, w];
      }
    }
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < this.ratio[0]) h = roundHalfEven(w / this.ratio[0]);
    else if (inRatio > this.ratio[1]) w = roundHalfEven(h * this.ratio[1]);
    return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
  }

  /** Crops and resizes in one pass. */
  apply(img: ImageHWC, rng: Rng): ImageHWC {
    const [top, left, h, w] = this.params(img.height, img.width, rng);
    return resizeRegion(img, top, left, h, w, this.size[0], this.size[1], this.antialias);
  }
}

/**
 * Mirrors the image left-right with probability `p` (default 0.5).
 *
 * @example
 * new RandomHorizontalFlip().apply(img, rng); // img itself, or a new mirrored image
 */
export class RandomHorizontalFlip implements Transform {
  private readonly p: number;
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /** @param p - the probability of flipping. */
  constructor(p = 0.5) {
    this.spec = { type: 'RandomHorizontalFlip', args: [p] };
    checkProbability(p, 'RandomHorizontalFlip');
    this.p = p;
  }

  /** `RandomHorizontalFlip(p=0.5)`. */
  get name(): string {
    return `RandomHorizontalFlip(p=${this.p})`;
  }

  /** One draw decides. */
  apply(img: ImageHWC, rng: Rng): ImageHWC {
    return rng.next() < this.p ? hflip(img) : img;
  }
}

/** The image mirrored left-right (a new image). */
export function hflip<T extends PixelArray>(img: ImageHWC<T>): ImageHWC<T> {
  const { height, width, channels: c } = img;
  const out = emptyLike(img.data, height, width, c);
  const src = img.data;
  const dst = out.data;
  const row = width * c;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    if (c === 1) {
      for (let x = 0; x < width; x++) dst[base + x] = src[base + width - 1 - x];
    } else if (c === 3) {
      for (let x = 0, s = base + row - 3; x < width; x++, s -= 3) {
        const d = base + 3 * x;
        dst[d] = src[s];
        dst[d + 1] = src[s + 1];
        dst[d + 2] = src[s + 2];
      }
    } else {
      for (let x = 0; x < width; x++)
        for (let ch = 0; ch < c; ch++) dst[base + x * c + ch] = src[base + (width - 1 - x) * c + ch];
    }
  }
  return out;
}
