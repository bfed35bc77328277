import { DatasetUsageError } from '../errors';
import type { ImageHWC } from '../image';
import { count, MAX_OUTPUT_PIXELS, MAX_SIDE } from '../limits';
import type { Rng } from '../rng';

/**
 * One step of image preprocessing or augmentation. `apply` never writes into its input (which may
 * be a view into a dataset's buffer); it returns a new image, or the input itself when it changes
 * nothing. Random transforms draw only from `rng`, so a seeded generator reproduces their output.
 */
export interface Transform {
  /** A short description, e.g. `RandomCrop(32, padding=4)`. */
  readonly name: string;
  /** Transforms one image. */
  apply(image: ImageHWC, rng: Rng): ImageHWC;
  /**
   * How to rebuild this transform elsewhere (a worker thread): the class name and the constructor
   * arguments, all structured-cloneable. Present on every built-in transform; a transform without it
   * runs on the main thread.
   */
  readonly spec?: TransformSpec;
  /**
   * Optional: whether this transform gives the same result whether or not `previous` ran just before
   * it, so that {@link Compose} may skip `previous` (e.g. Normalize absorbs ToTensor).
   */
  absorbs?(previous: Transform): boolean;
}

/** A built-in transform as data: its class name and constructor arguments (see {@link Transform.spec}). */
export interface TransformSpec {
  /** The class name, e.g. `'RandomResizedCrop'`. */
  readonly type: string;
  /** The constructor arguments. */
  readonly args: readonly unknown[];
}

/**
 * Applies transforms one after another, each drawing from the same generator.
 *
 * @example
 * const t = new Compose([new RandomCrop(32, { padding: 4 }), new RandomHorizontalFlip(), new ToTensor(), new Normalize(CIFAR10.STATS.mean, CIFAR10.STATS.std)]);
 * t.apply(img, new Rng(1)); // { data: Float32Array(3072), height: 32, width: 32, channels: 3 }
 */
export class Compose implements Transform {
  /** The transforms, in order. */
  readonly transforms: readonly Transform[];
  /** What runs: the transforms, less any step that a `skippable` check says the next one makes redundant. */
  private readonly plan: readonly Transform[];

  /** @param transforms - applied first to last. */
  constructor(transforms: readonly Transform[]) {
    this.transforms = [...transforms];
    // A step the next step declares redundant (ToTensor before Normalize, which reads uint8 the same
    // way) is left out: one pass and one buffer fewer, identical output.
    this.plan = this.transforms.filter((t, i) => !this.transforms[i + 1]?.absorbs?.(t));
  }

  /** The steps' specs, or undefined when a step has none (then the whole runs on the main thread). */
  get spec(): TransformSpec | undefined {
    const specs = this.transforms.map((t) => t.spec);
    return specs.every((s) => s !== undefined) ? { type: 'Compose', args: [specs] } : undefined;
  }

  /** `Compose(A, B, ...)`. */
  get name(): string {
    return `Compose(${this.transforms.map((t) => t.name).join(', ')})`;
  }

  /** Runs every transform in order. */
  apply(image: ImageHWC, rng: Rng): ImageHWC {
    let out = image;
    for (const t of this.plan) out = t.apply(out, rng);
    return out;
  }
}

/**
 * A transform made from a function, for one-off steps. The function must not write into its input.
 *
 * @example
 * const invert = new Lambda('invert', (img) => ({ ...img, data: img.data.map((v) => 255 - v) }));
 */
export class Lambda implements Transform {
  /** The name given. */
  readonly name: string;
  private readonly fn: (image: ImageHWC, rng: Rng) => ImageHWC;

  /** @param fn - receives the image and the generator; returns the new image. */
  constructor(name: string, fn: (image: ImageHWC, rng: Rng) => ImageHWC) {
    this.name = name;
    this.fn = fn;
  }

  /** Calls the function. */
  apply(image: ImageHWC, rng: Rng): ImageHWC {
    return this.fn(image, rng);
  }
}

/** A transform argument as a message shows it: at most a short prefix. */
export function shown(v: unknown): string {
  const text = Array.isArray(v) ? `[${v.slice(0, 4).map(String).join(', ')}${v.length > 4 ? ', ...' : ''}]` : String(v);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

/** Throws a {@link DatasetUsageError} unless `p` is a probability. */
export function checkProbability(p: number, op: string): void {
  if (!(p >= 0 && p <= 1)) throw new DatasetUsageError(op, `p must be in [0, 1], got ${shown(p)}`);
}

/** Throws a {@link DatasetUsageError} unless `[lo, hi]` is an ordered pair of finite numbers (within `[min, max]` when given). */
export function checkRange(
  r: readonly [number, number],
  op: string,
  what: string,
  min = -Infinity,
  max = Infinity,
): void {
  if (
    !Array.isArray(r) ||
    r.length !== 2 ||
    !(r[0] <= r[1]) ||
    r[0] < min ||
    r[1] > max ||
    !Number.isFinite(r[0]) ||
    !Number.isFinite(r[1])
  ) {
    throw new DatasetUsageError(
      op,
      `${what} must be an ordered pair [lo, hi] within [${min}, ${max}], got ${shown(r)}`,
    );
  }
}

/**
 * A size given as one number (square) or `[height, width]`, as `[height, width]`: integers from 1 to
 * {@link MAX_SIDE} (16,384) whose product is at most {@link MAX_OUTPUT_PIXELS} (2^26), else a
 * {@link DatasetUsageError} naming `op`.
 */
export function toSize(size: number | readonly [number, number], op: string): [number, number] {
  const hw =
    typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 2 ? [size[0], size[1]] : null;
  if (!hw?.every((v) => Number.isInteger(v) && v >= 1 && v <= MAX_SIDE)) {
    throw new DatasetUsageError(
      op,
      `size must be an integer from 1 to ${MAX_SIDE}, or [height, width] of two, got ${shown(size)}`,
    );
  }
  checkOutputSize(hw[0], hw[1], op);
  return [hw[0], hw[1]];
}

/** Throws a {@link DatasetUsageError} when an output of `height x width` would be over {@link MAX_OUTPUT_PIXELS}. */
export function checkOutputSize(height: number, width: number, op: string, context = ''): void {
  if (height * width > MAX_OUTPUT_PIXELS) {
    throw new DatasetUsageError(
      op,
      `${context}an output of ${height}x${width} = ${count(height * width)} pixels is over the ${count(MAX_OUTPUT_PIXELS)} a transform may produce`,
    );
  }
}

/** Python's round(): halves go to the even neighbour, as torchvision's crop arithmetic rounds. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
