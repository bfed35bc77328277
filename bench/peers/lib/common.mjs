// Helpers shared by the orchestrator (run.mjs) and the runner processes (child.mjs). Plain Node: nothing here
// imports a tensor library, so that each runner process loads only its own engine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The three models the issue sets targets on; the tfjs hand-fused graph exists for these only. */
export const TARGET_MODELS = ['resnet50', 'resnet18', 'mobilenet_v2'];
/** Reported only. */
export const REPORTED_MODELS = ['mobilenet_v3_large', 'shufflenet_v2_x1_0', 'resnext50_32x4d'];
export const ALL_MODELS = [...TARGET_MODELS, ...REPORTED_MODELS];
export const RUNNERS = ['cnn', 'ort', 'tfjs'];
export const RUNNER_LABEL = { cnn: 'cnn', ort: 'ORT-web', tfjs: 'tfjs fused' };

/** Input of the export: float32 NCHW [2, 3, 224, 224]; logits float32 [2, 1000]. */
export const REF_BATCH = 2;
export const IMAGE = 224;
export const CLASSES = 1000;

/** Logits farther than this from torchvision's, relative to the largest |logit|, refuse a runner's timing. */
export const LOGITS_TOLERANCE = 1e-4;

export function readFloat32(path) {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function referenceInput(dir) {
  return readFloat32(join(dir, 'input.bin'));
}

export function referenceLogits(dir, model) {
  return readFloat32(join(dir, `${model}.logits.bin`));
}

/** `batch` images in NCHW: the reference images repeated. */
export function tileNCHW(ref, batch) {
  const per = ref.length / REF_BATCH;
  const out = new Float32Array(per * batch);
  for (let i = 0; i < batch; i++) out.set(ref.subarray((i % REF_BATCH) * per, ((i % REF_BATCH) + 1) * per), i * per);
  return out;
}

/** NCHW to NHWC, for the engines that compute channels-last. */
export function nchwToNhwc(x, n, c, h, w) {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
  return out;
}

/** Max absolute difference, and that divided by the largest |reference| value. */
export function logitsDiff(got, want) {
  if (got.length !== want.length) return { maxAbs: Number.POSITIVE_INFINITY, rel: Number.POSITIVE_INFINITY };
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return { maxAbs, rel: maxAbs / (scale || 1) };
}

/**
 * Reads a safetensors file written by export.py: name -> { dtype, shape, data } (F32 as Float32Array; other dtypes
 * are skipped). Only for the bench's own exports; the library's reader is @cnn/layers' readSafetensors.
 */
export function readSafetensorsF32(path) {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = new Map();
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__' || v.dtype !== 'F32') continue;
    const [s, e] = v.data_offsets;
    const bytes = b.subarray(base + s, base + e);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    out.set(key, { shape: v.shape, data });
  }
  return out;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
