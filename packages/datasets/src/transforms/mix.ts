// Batch-level augmentation that mixes pairs of images and their labels: Mixup and CutMix. They
// work on the batch in host memory, before it becomes tensors, and turn hard labels into soft
// targets (one row of class probabilities per image).
import { DatasetUsageError } from '../errors';
import type { Rng } from '../rng';
import { checkProbability } from './transform';

/** A batch before it becomes tensors: what batch transforms read and return. */
export interface HostBatch {
  /** Pixels, `[n, height, width, channels]` row-major (NHWC), float32. */
  x: Float32Array;
  /** `[n, height, width, channels]`. */
  shape: [number, number, number, number];
  /** Each image's class index. */
  labels: Int32Array;
  /** Soft targets `[n, numClasses]` once a batch transform has mixed labels; otherwise null. */
  targets: Float32Array | null;
  /** The number of classes (the width of `targets`). */
  numClasses: number;
  /** The dataset index of each image. */
  indices: Int32Array;
}

/**
 * A transform of a whole batch (see {@link Mixup}, {@link CutMix}); given to the {@link DataLoader}
 * as `batchTransform`. Like image transforms, it draws only from `rng` and must not write into the
 * batch it is given unless it returns that same batch.
 */
export interface BatchTransform {
  /** A short description, e.g. `Mixup(alpha=0.2)`. */
  readonly name: string;
  /** Transforms one batch. */
  apply(batch: HostBatch, rng: Rng): HostBatch;
}

/** The batch's targets as probabilities: its soft targets, or one-hot rows of its labels. */
export function softTargets(batch: HostBatch): Float32Array {
  if (batch.targets) return batch.targets;
  const n = batch.labels.length;
  const k = batch.numClasses;
  const t = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const label = batch.labels[i];
    if (!(label >= 0 && label < k)) throw new Error(`soft targets: label ${label} is outside 0..${k - 1}`);
    t[i * k + label] = 1;
  }
  return t;
}

/** targets of image i become lam * own + (1 - lam) * partner's (the image before it, cyclically). */
function mixTargets(batch: HostBatch, lam: number): Float32Array {
  const t = softTargets(batch);
  const n = batch.labels.length;
  const k = batch.numClasses;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const j = (i + n - 1) % n;
    for (let c = 0; c < k; c++) out[i * k + c] = lam * t[i * k + c] + (1 - lam) * t[j * k + c];
  }
  return out;
}

/** Options shared by {@link Mixup} and {@link CutMix}. */
export interface MixOptions {
  /** The Beta(alpha, alpha) distribution the mixing ratio is drawn from. Default 1 (uniform). */
  alpha?: number;
  /** Probability of mixing a batch at all (otherwise only one-hot targets are made). Default 1. */
  p?: number;
}

function checkAlpha(alpha: number, op: string): void {
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new DatasetUsageError(op, `alpha must be positive, got ${alpha}`);
}

/**
 * Mixup (Zhang et al., 2018, https://arxiv.org/abs/1710.09412): draws `lam ~ Beta(alpha, alpha)` once
 * per batch and replaces each image by `lam * image + (1 - lam) * partner`, its targets likewise; the
 * partner of image i is image i - 1 (the batch rolled by one, as torchvision's v2 `MixUp` pairs
 * them). Produces soft targets `[n, numClasses]`.
 *
 * @example
 * new DataLoader(train, { batchSize: 128, batchTransform: new Mixup({ alpha: 0.2 }) }); // batch.y: [128, 10] float32
 */
export class Mixup implements BatchTransform {
  private readonly alpha: number;
  private readonly p: number;

  /** @param options - alpha of the Beta distribution, probability of mixing. */
  constructor(options: MixOptions = {}) {
    this.alpha = options.alpha ?? 1;
    this.p = options.p ?? 1;
    checkAlpha(this.alpha, 'Mixup');
    checkProbability(this.p, 'Mixup');
  }

  /** `Mixup(alpha=1)`. */
  get name(): string {
    return `Mixup(alpha=${this.alpha})`;
  }

  /** Mixes the batch (into new arrays). */
  apply(batch: HostBatch, rng: Rng): HostBatch {
    if (!(rng.next() < this.p)) return { ...batch, targets: softTargets(batch) };
    const lam = rng.beta(this.alpha, this.alpha);
    const [n] = batch.shape;
    const size = batch.x.length / n;
    const x = new Float32Array(batch.x.length);
    const src = batch.x;
    for (let i = 0; i < n; i++) {
      const a = i * size;
      const b = ((i + n - 1) % n) * size;
      for (let k = 0; k < size; k++) x[a + k] = lam * src[a + k] + (1 - lam) * src[b + k];
    }
    return { ...batch, x, targets: mixTargets(batch, lam) };
  }
}

/**
 * CutMix (Yun et al., 2019, https://arxiv.org/abs/1905.04899): draws `lam ~ Beta(alpha, alpha)`, cuts
 * a rectangle of area `(1 - lam)` of the image at a uniformly drawn centre (clipped at the border),
 * and pastes the partner image's pixels there (partner of image i: image i - 1). Targets mix by the
 * area actually pasted. Produces soft targets `[n, numClasses]`.
 *
 * @example
 * new DataLoader(train, { batchSize: 128, batchTransform: new CutMix({ alpha: 1 }) });
 */
export class CutMix implements BatchTransform {
  private readonly alpha: number;
  private readonly p: number;

  /** @param options - alpha of the Beta distribution, probability of mixing. */
  constructor(options: MixOptions = {}) {
    this.alpha = options.alpha ?? 1;
    this.p = options.p ?? 1;
    checkAlpha(this.alpha, 'CutMix');
    checkProbability(this.p, 'CutMix');
  }

  /** `CutMix(alpha=1)`. */
  get name(): string {
    return `CutMix(alpha=${this.alpha})`;
  }

  /** The box `[top, left, bottom, right]` (exclusive ends) for ratio `lam` on an `h x w` image, drawn from `rng`. */
  box(h: number, w: number, lam: number, rng: Rng): [number, number, number, number] {
    const cutRatio = Math.sqrt(1 - lam);
    const cutH = Math.floor(h * cutRatio);
    const cutW = Math.floor(w * cutRatio);
    const cy = rng.int(0, h);
    const cx = rng.int(0, w);
    const top = Math.max(0, cy - Math.floor(cutH / 2));
    const bottom = Math.min(h, cy + Math.floor(cutH / 2));
    const left = Math.max(0, cx - Math.floor(cutW / 2));
    const right = Math.min(w, cx + Math.floor(cutW / 2));
    return [top, left, bottom, right];
  }

  /** Pastes the boxes (into a new array). */
  apply(batch: HostBatch, rng: Rng): HostBatch {
    if (!(rng.next() < this.p)) return { ...batch, targets: softTargets(batch) };
    const lam = rng.beta(this.alpha, this.alpha);
    const [n, h, w, c] = batch.shape;
    const [top, left, bottom, right] = this.box(h, w, lam, rng);
    const x = batch.x.slice();
    const size = h * w * c;
    const rowSpan = (right - left) * c;
    for (let i = 0; i < n; i++) {
      const j = (i + n - 1) % n;
      for (let y = top; y < bottom; y++) {
        const at = (y * w + left) * c;
        x.set(batch.x.subarray(j * size + at, j * size + at + rowSpan), i * size + at);
      }
    }
    const pasted = ((bottom - top) * (right - left)) / (h * w);
    return { ...batch, x, targets: mixTargets(batch, 1 - pasted) };
  }
}
