// Separable bilinear resampling with antialiasing: the triangle filter, widened by the scale factor
// when shrinking (as PIL and torchvision's `antialias=True` do), so that downscaling averages every
// source pixel instead of skipping most of them. Upscaling (and antialias off) is plain bilinear
// interpolation with half-pixel centres (`align_corners=False`).
import { DatasetUsageError } from '../errors';
import type { ImageHWC, PixelArray } from '../image';
import { checkOutputSize } from './transform';

/** The filter taps of one axis: for output index i, weights[i*k .. i*k+count[i]) apply from source index start[i]. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  k: number;
}

const cache = new Map<string, Taps>();

function taps(inSize: number, outSize: number, antialias: boolean): Taps {
  const key = `${inSize}:${outSize}:${antialias ? 1 : 0}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const support = antialias ? Math.max(scale, 1) : 1;
  const k = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * k);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(Math.floor(centre - support + 0.5), 0);
    const hi = Math.min(Math.floor(centre + support + 0.5), inSize);
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const w = Math.max(0, 1 - Math.abs((x - centre + 0.5) / support));
      weights[i * k + x - lo] = w;
      sum += w;
    }
    const n = hi - lo;
    if (sum > 0) for (let t = 0; t < n; t++) weights[i * k + t] /= sum;
    start[i] = lo;
    count[i] = n;
  }
  const result = { start, count, weights, k };
  if (cache.size > 512) cache.clear();
  cache.set(key, result);
  return result;
}

/**
 * Resizes the rectangle `[top, top + height) x [left, left + width)` of `img` to `outHeight x outWidth`.
 * Taps stay inside the rectangle (as if it had been cropped first). uint8 in, uint8 out (rounded and
 * clamped); float32 in, float32 out.
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
  // Horizontal pass: every row of the region, resampled to outWidth, as floats.
  const tmp = scratchBuffer(height * rowLen);
  if (img.data instanceof Uint8Array)
    horizontal(img.data, img.width, c, top, left, height, width, outWidth, antialias, tmp);
  else horizontal(img.data as Float32Array, img.width, c, top, left, height, width, outWidth, antialias, tmp);
  // Vertical pass: rows of tmp combined into each output row. Uint8ClampedArray rounds and clamps.
  const isByte = img.data instanceof Uint8Array;
  const out = isByte ? new Uint8Array(outHeight * rowLen) : new Float32Array(outHeight * rowLen);
  const sink = isByte ? new Uint8ClampedArray(out.buffer) : (out as Float32Array);
  vertical(tmp, rowLen, height, outHeight, antialias, sink);
  return { data: out as T, height: outHeight, width: outWidth, channels: c };
}

let scratch = new Float32Array(0);

/** A reused buffer for the intermediate rows (fully overwritten by each call; calls are synchronous). */
function scratchBuffer(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, 2 * scratch.length));
  return scratch.subarray(0, n);
}

function horizontal(
  src: Uint8Array | Float32Array,
  srcWidth: number,
  c: number,
  top: number,
  left: number,
  height: number,
  width: number,
  outWidth: number,
  antialias: boolean,
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
  const { start, count, weights, k } = taps(width, outWidth, antialias);
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
  out: Uint8ClampedArray | Float32Array,
): void {
  if (height === outHeight) {
    out.set(tmp.subarray(0, out.length));
    return;
  }
  const { start, count, weights, k } = taps(height, outHeight, antialias);
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
