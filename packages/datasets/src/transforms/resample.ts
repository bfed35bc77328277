// Separable resampling with antialiasing, PIL's algorithm (and so torchvision's on PIL images): a bilinear (triangle)
// or bicubic (Keys, a = -0.5) filter, widened by the scale factor when shrinking, so that downscaling averages every
// source pixel instead of skipping most of them; upscaling (and antialias off) is plain interpolation with half-pixel
// centres (`align_corners=False`). uint8 images go through PIL's fixed-point arithmetic exactly (coefficients with 22
// fractional bits, a horizontal then a vertical pass, each rounded half up and clamped to a byte), so the result is
// byte for byte PIL's `Image.resize`; float32 images are resampled in floating point with the same coefficients.
import { DatasetUsageError } from '../errors';
import type { ImageHWC, PixelArray } from '../image';
import { checkOutputSize } from './transform';

/** Resampling filters: `'bilinear'` (triangle, PIL's BILINEAR) or `'bicubic'` (Keys' cubic with a = -0.5, PIL's BICUBIC). */
export type Interpolation = 'bilinear' | 'bicubic';

const FILTERS: Record<Interpolation, { support: number; f: (x: number) => number }> = {
  bilinear: { support: 1, f: (x) => (x < 0 ? (x > -1 ? 1 + x : 0) : x < 1 ? 1 - x : 0) },
  bicubic: {
    support: 2,
    f: (v) => {
      const a = -0.5;
      const x = Math.abs(v);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Fractional bits of the fixed-point coefficients for uint8 images (PIL's PRECISION_BITS: 32 - 8 - 2). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/**
 * The filter taps of one axis: for output index i, weights[i*k .. i*k+count[i]) apply from source index start[i];
 * `fixed` holds the same weights as PIL's fixed-point integers.
 */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  fixed: Int32Array;
  k: number;
}

const cache = new Map<string, Taps>();

function taps(inSize: number, outSize: number, antialias: boolean, interpolation: Interpolation): Taps {
  const key = `${inSize}:${outSize}:${antialias ? 1 : 0}:${interpolation}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterScale = antialias ? Math.max(scale, 1) : 1;
  const support = filter.support * filterScale;
  const ss = 1 / filterScale;
  const k = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * k);
  const fixed = new Int32Array(outSize * k);
  const w = new Float64Array(k);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      w[x - lo] = filter.f((x - centre + 0.5) * ss);
      sum += w[x - lo];
    }
    const n = hi - lo;
    for (let t = 0; t < n; t++) {
      const v = sum !== 0 ? w[t] / sum : w[t];
      weights[i * k + t] = v;
      fixed[i * k + t] = v < 0 ? Math.trunc(v * ONE - 0.5) : Math.trunc(v * ONE + 0.5);
    }
    start[i] = lo;
    count[i] = n;
  }
  const result = { start, count, weights, fixed, k };
  if (cache.size > 512) cache.clear();
  cache.set(key, result);
  return result;
}

/** PIL's clip8: a fixed-point accumulator (with its rounding half already added) to a byte. */
const clip8 = (acc: number): number => {
  const v = Math.floor(acc / ONE);
  return Math.min(Math.max(v, 0), 255);
};

/**
 * Resizes the rectangle `[top, top + height) x [left, left + width)` of `img` to `outHeight x outWidth`.
 * Taps stay inside the rectangle (as if it had been cropped first). uint8 in, uint8 out, byte for byte as PIL's
 * `Image.resize` (with `antialias`); float32 in, float32 out.
 */
export function resizeRegion<T extends PixelArray>(
  img: ImageHWC<T>,
  top: number,
  left: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  antialias = true,
  interpolation: Interpolation = 'bilinear',
): ImageHWC<T> {
  const c = img.channels;
  if (
    ![top, left, height, width].every(Number.isInteger) ||
    top < 0 ||
    left < 0 ||
    height < 1 ||
    width < 1 ||
    top + height > img.height ||
    left + width > img.width
  ) {
    throw new DatasetUsageError(
      'resize',
      `region ${height}x${width} at (${top}, ${left}) is not inside the ${img.height}x${img.width} image`,
    );
  }
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < 1 || outWidth < 1) {
    throw new DatasetUsageError('resize', `output size must be positive integers, got ${outHeight}x${outWidth}`);
  }
  checkOutputSize(outHeight, outWidth, 'resize');
  const rowLen = outWidth * c;
  if (img.data instanceof Uint8Array) {
    // PIL: a horizontal pass to bytes, then a vertical pass to bytes, in fixed point.
    const rows =
      width === outWidth && left === 0 && img.width === width
        ? img.data.subarray(top * rowLen, (top + height) * rowLen)
        : horizontalBytes(img.data, img.width, c, top, left, height, width, outWidth, antialias, interpolation);
    const out =
      height === outHeight ? rows.slice() : verticalBytes(rows, rowLen, height, outHeight, antialias, interpolation);
    return { data: out as T, height: outHeight, width: outWidth, channels: c };
  }
  // Horizontal pass: every row of the region, resampled to outWidth, as floats.
  const tmp = scratchBuffer(height * rowLen);
  horizontal(img.data as Float32Array, img.width, c, top, left, height, width, outWidth, antialias, interpolation, tmp);
  const out = new Float32Array(outHeight * rowLen);
  vertical(tmp, rowLen, height, outHeight, antialias, interpolation, out);
  return { data: out as T, height: outHeight, width: outWidth, channels: c };
}

/** PIL's horizontal pass on bytes: each row of the region resampled to outWidth, rounded half up, clamped. */
function horizontalBytes(
  src: Uint8Array,
  srcWidth: number,
  c: number,
  top: number,
  left: number,
  height: number,
  width: number,
  outWidth: number,
  antialias: boolean,
  interpolation: Interpolation,
): Uint8Array {
  const srcStride = srcWidth * c;
  const rowLen = outWidth * c;
  const out = new Uint8Array(height * rowLen);
  if (width === outWidth) {
    for (let y = 0; y < height; y++) {
      const s = (top + y) * srcStride + left * c;
      out.set(src.subarray(s, s + rowLen), y * rowLen);
    }
    return out;
  }
  const { start, count, fixed, k } = taps(width, outWidth, antialias, interpolation);
  for (let y = 0; y < height; y++) {
    const rowBase = (top + y) * srcStride + left * c;
    let o = y * rowLen;
    for (let x = 0; x < outWidth; x++) {
      const n = count[x];
      const s0 = rowBase + start[x] * c;
      for (let ch = 0; ch < c; ch++) {
        let a = HALF;
        for (let t = 0, wi = x * k, s = s0 + ch; t < n; t++, wi++, s += c) a += fixed[wi] * src[s];
        out[o++] = clip8(a);
      }
    }
  }
  return out;
}

/** PIL's vertical pass on bytes: rows of `rows` combined into each output row, rounded half up, clamped. */
function verticalBytes(
  rows: Uint8Array,
  rowLen: number,
  height: number,
  outHeight: number,
  antialias: boolean,
  interpolation: Interpolation,
): Uint8Array {
  const out = new Uint8Array(outHeight * rowLen);
  const { start, count, fixed, k } = taps(height, outHeight, antialias, interpolation);
  for (let y = 0; y < outHeight; y++) {
    const n = count[y];
    const r0 = start[y] * rowLen;
    const w0 = y * k;
    const o = y * rowLen;
    for (let j = 0; j < rowLen; j++) {
      let a = HALF;
      for (let t = 0, r = r0 + j; t < n; t++, r += rowLen) a += fixed[w0 + t] * rows[r];
      out[o + j] = clip8(a);
    }
  }
  return out;
}

let scratch = new Float32Array(0);

/** A reused buffer for the intermediate rows (fully overwritten by each call; calls are synchronous). */
function scratchBuffer(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, 2 * scratch.length));
  return scratch.subarray(0, n);
}

function horizontal(
  src: Float32Array,
  srcWidth: number,
  c: number,
  top: number,
  left: number,
  height: number,
  width: number,
  outWidth: number,
  antialias: boolean,
  interpolation: Interpolation,
  tmp: Float32Array,
): void {
  const srcStride = srcWidth * c;
  const rowLen = outWidth * c;
  if (width === outWidth) {
    for (let y = 0; y < height; y++) {
      const s = (top + y) * srcStride + left * c;
      tmp.set(src.subarray(s, s + rowLen), y * rowLen);
    }
    return;
  }
  const { start, count, weights, k } = taps(width, outWidth, antialias, interpolation);
  for (let y = 0; y < height; y++) {
    const rowBase = (top + y) * srcStride + left * c;
    let o = y * rowLen;
    if (c === 3) {
      for (let x = 0; x < outWidth; x++) {
        const n = count[x];
        let wi = x * k;
        let s = rowBase + start[x] * 3;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let t = 0; t < n; t++, wi++, s += 3) {
          const w = weights[wi];
          a0 += w * src[s];
          a1 += w * src[s + 1];
          a2 += w * src[s + 2];
        }
        tmp[o++] = a0;
        tmp[o++] = a1;
        tmp[o++] = a2;
      }
    } else {
      for (let x = 0; x < outWidth; x++) {
        const n = count[x];
        const s0 = rowBase + start[x] * c;
        for (let ch = 0; ch < c; ch++) {
          let a = 0;
          for (let t = 0, wi = x * k, s = s0 + ch; t < n; t++, wi++, s += c) a += weights[wi] * src[s];
          tmp[o++] = a;
        }
      }
    }
  }
}

function vertical(
  tmp: Float32Array,
  rowLen: number,
  height: number,
  outHeight: number,
  antialias: boolean,
  interpolation: Interpolation,
  out: Float32Array,
): void {
  if (height === outHeight) {
    out.set(tmp.subarray(0, out.length));
    return;
  }
  const { start, count, weights, k } = taps(height, outHeight, antialias, interpolation);
  for (let y = 0; y < outHeight; y++) {
    const n = count[y];
    const r0 = start[y] * rowLen;
    const w0 = y * k;
    const o = y * rowLen;
    if (n === 1) {
      for (let j = 0; j < rowLen; j++) out[o + j] = tmp[r0 + j];
    } else if (n === 2) {
      const wa = weights[w0];
      const wb = weights[w0 + 1];
      for (let j = 0, r = r0; j < rowLen; j++, r++) out[o + j] = wa * tmp[r] + wb * tmp[r + rowLen];
    } else if (n === 3) {
      const wa = weights[w0];
      const wb = weights[w0 + 1];
      const wc = weights[w0 + 2];
      const r2 = 2 * rowLen;
      for (let j = 0, r = r0; j < rowLen; j++, r++) out[o + j] = wa * tmp[r] + wb * tmp[r + rowLen] + wc * tmp[r + r2];
    } else {
      for (let j = 0; j < rowLen; j++) {
        let a = 0;
        for (let t = 0, r = r0 + j; t < n; t++, r += rowLen) a += weights[w0 + t] * tmp[r];
        out[o + j] = a;
      }
    }
  }
}
