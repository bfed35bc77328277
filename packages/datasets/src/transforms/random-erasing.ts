import type { ImageHWC } from '../image';
import { DatasetUsageError } from '../errors';
import type { Rng } from '../rng';
import { checkProbability, checkRange, roundHalfEven, type Transform, type TransformSpec } from './transform';

/** Options of {@link RandomErasing}. */
export interface RandomErasingOptions {
  /** Probability of erasing. Default 0.5. */
  p?: number;
  /** Range of the erased area as a fraction of the image's. Default `[0.02, 0.33]`. */
  scale?: readonly [number, number];
  /** Range of the erased rectangle's aspect ratio (drawn log-uniformly). Default `[0.3, 3.3]`. */
  ratio?: readonly [number, number];
  /**
   * What fills the rectangle: a number, one number per channel, or `'random'` (standard normal
   * noise per value, for normalised float images). Default 0.
   */
  value?: number | readonly number[] | 'random';
}

/**
 * With probability `p`, fills a random rectangle with a value or with noise (Zhong et al., 2017,
 * https://arxiv.org/abs/1708.04896), drawing like torchvision's `RandomErasing`: up to ten tries at
 * a rectangle that fits, else nothing is erased. Usually placed after {@link Normalize}.
 *
 * @example
 * new RandomErasing({ p: 0.25, value: 'random' }).apply(normalised, rng);
 */
export class RandomErasing implements Transform {
  private readonly p: number;
  private readonly scale: readonly [number, number];
  private readonly ratio: readonly [number, number];
  private readonly value: number | readonly number[] | 'random';
  /** The class name and constructor arguments. */
  readonly spec: TransformSpec;

  /** @param options - probability, area and ratio ranges, fill value. */
  constructor(options: RandomErasingOptions = {}) {
    this.spec = { type: 'RandomErasing', args: [options] };
    this.p = options.p ?? 0.5;
    this.scale = options.scale ?? [0.02, 0.33];
    this.ratio = options.ratio ?? [0.3, 3.3];
    this.value = options.value ?? 0;
    checkProbability(this.p, 'RandomErasing');
    checkRange(this.scale, 'RandomErasing', 'scale', 0, 1);
    checkRange(this.ratio, 'RandomErasing', 'ratio', Number.MIN_VALUE, Infinity);
  }

  /** `RandomErasing(p=0.5)`. */
  get name(): string {
    return `RandomErasing(p=${this.p})`;
  }

  /** The rectangle `[top, left, height, width]` to erase for an image of that size, or null (none fits). */
  params(height: number, width: number, rng: Rng): [number, number, number, number] | null {
    const area = height * width;
    const logLo = Math.log(this.ratio[0]);
    const logHi = Math.log(this.ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * rng.uniform(this.scale[0], this.scale[1]);
      const aspect = Math.exp(rng.uniform(logLo, logHi));
      const h = roundHalfEven(Math.sqrt(target * aspect));
      const w = roundHalfEven(Math.sqrt(target / aspect));
      if (!(h < height && w < width)) continue;
      const i = rng.int(0, height - h + 1);
      const j = rng.int(0, width - w + 1);
      return [i, j, h, w];
    }
    return null;
  }

  /** Erases (on a copy) or returns the image unchanged. */
  apply(img: ImageHWC, rng: Rng): ImageHWC {
    if (!(rng.next() < this.p)) return img;
    const c = img.channels;
    const values = this.value;
    if (values === 'random' && !(img.data instanceof Float32Array)) {
      throw new DatasetUsageError(
        'RandomErasing',
        "value 'random' needs float pixels; put ToTensor() (and Normalize) before it",
      );
    }
    if (typeof values !== 'number' && values !== 'random' && values.length !== c) {
      throw new DatasetUsageError('RandomErasing', `${values.length} fill values for a ${c}-channel image`);
    }
    const rect = this.params(img.height, img.width, rng);
    if (!rect) return img;
    const [top, left, h, w] = rect;
    const data = img.data.slice();
    for (let y = top; y < top + h; y++) {
      for (let x = left; x < left + w; x++) {
        const at = (y * img.width + x) * c;
        for (let k = 0; k < c; k++) {
          data[at + k] = values === 'random' ? rng.normal() : typeof values === 'number' ? values : values[k];
        }
      }
    }
    return { ...img, data };
  }
}
