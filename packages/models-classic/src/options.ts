// Builder options, checked before anything is built: every name must be one the model takes, every value of its
// type and inside its limits. The limits stop absurd values (a typo, 1e9 classes) before they reach an allocation;
// see the package README's "Limits".
import { ModelOptionsError } from './errors';

/** Most output classes a builder accepts (ImageNet-21k has 21,841). */
export const MAX_CLASSES = 100_000;
/** Most input channels a builder accepts. */
export const MAX_IN_CHANNELS = 4096;
/** Largest width multiplier of the MobileNets and ShuffleNets (the papers use at most 2). */
export const MAX_WIDTH_MULTIPLIER = 4;
/** Largest ResNet `baseWidth` (torchvision's wide_resnet50_2 uses 128). */
export const MAX_BASE_WIDTH = 128;
/** Largest ResNet `groups * baseWidth`, four times ResNet's 64 (ResNeXt 32x8d and 64x4d reach 256). */
export const MAX_GROUP_WIDTH = 256;

/** What one option accepts. `undefined` always means "the default". */
export interface OptionSpec {
  /**
   * The kind of value: `'integer'` or `'number'` (finite, within `min` and `max`), `'boolean'`, `'enum'` (one of
   * `values`) or `'function'` (or null when `nullable`).
   */
  type: 'integer' | 'number' | 'boolean' | 'enum' | 'function';
  /** Smallest accepted integer or number (inclusive unless `minExclusive`). */
  min?: number;
  /** Largest accepted integer or number (inclusive unless `maxExclusive`). */
  max?: number;
  /** `min` itself is refused. */
  minExclusive?: boolean;
  /** `max` itself is refused. */
  maxExclusive?: boolean;
  /** The accepted values of an `'enum'`. */
  values?: readonly unknown[];
  /** A `'function'` option also accepts null. */
  nullable?: boolean;
  /** Added to the error message in parentheses (what to do instead). */
  hint?: string;
}

/** The options a model takes, by name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** numClasses and inChannels: what every classifier takes. */
export const CLASSIFIER_OPTIONS: OptionSpecs = {
  numClasses: { type: 'integer', min: 1, max: MAX_CLASSES },
  inChannels: { type: 'integer', min: 1, max: MAX_IN_CHANNELS },
};

/** A dropout probability, in [0, 1). */
export const DROPOUT_OPTION: OptionSpec = { type: 'number', min: 0, max: 1, maxExclusive: true };

/** A width multiplier, in (0, {@link MAX_WIDTH_MULTIPLIER}]. */
export const WIDTH_OPTION: OptionSpec = { type: 'number', min: 0, max: MAX_WIDTH_MULTIPLIER, minExclusive: true };

/** The attention options of the ResNet family (`attention` a factory, or `attn: 'se'`). */
export const ATTENTION_OPTIONS: OptionSpecs = {
  attention: { type: 'function', nullable: true },
  attn: { type: 'enum', values: ['se', null] },
};

/** The options of {@link ResNet} (and the registry ids built from it). */
export const RESNET_OPTIONS: OptionSpecs = {
  ...CLASSIFIER_OPTIONS,
  ...ATTENTION_OPTIONS,
  groups: { type: 'integer', min: 1, max: MAX_GROUP_WIDTH },
  baseWidth: { type: 'integer', min: 1, max: MAX_BASE_WIDTH },
  stem: { type: 'enum', values: ['imagenet', 'cifar'] },
  zeroInitResidual: { type: 'boolean' },
};

const MAX_QUOTE = 40;

/** A short, safe rendering of a value for a message (strings quoted and cut, objects by kind). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > MAX_QUOTE ? `${v.slice(0, MAX_QUOTE)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return `${String(v).slice(0, MAX_QUOTE)}n`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a ${typeof v}`;
}

function quoteName(name: string): string {
  return `'${name.length > MAX_QUOTE ? `${name.slice(0, MAX_QUOTE)}...` : name}'`;
}

function expected(spec: OptionSpec): string {
  switch (spec.type) {
    case 'integer':
      return `an integer from ${spec.min ?? -Infinity} to ${spec.max ?? Infinity}`;
    case 'number': {
      const lo = spec.minExclusive ? `more than ${spec.min ?? -Infinity}` : `at least ${spec.min ?? -Infinity}`;
      const hi = spec.maxExclusive ? `less than ${spec.max ?? Infinity}` : `at most ${spec.max ?? Infinity}`;
      return `a number ${lo} and ${hi}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return (spec.values ?? []).length === 1
        ? describeValue(spec.values![0])
        : `one of ${(spec.values ?? []).map(describeValue).join(', ')}`;
    case 'function':
      return spec.nullable ? 'a function or null' : 'a function';
  }
}

function inRange(spec: OptionSpec, v: number): boolean {
  const min = spec.min ?? -Infinity;
  const max = spec.max ?? Infinity;
  return (spec.minExclusive ? v > min : v >= min) && (spec.maxExclusive ? v < max : v <= max);
}

function accepts(spec: OptionSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && inRange(spec, v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && inRange(spec, v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'enum':
      return (spec.values ?? []).includes(v);
    case 'function':
      return typeof v === 'function' || (spec.nullable === true && v === null);
  }
}

/**
 * Checks builder options against what `model` takes: a plain object, no unknown names (the error lists the valid
 * ones; `otherNames: 'pass'` lets them through unchecked instead), each value of its type and within its limits.
 * Throws {@link ModelOptionsError}; changes nothing.
 */
export function checkOptions(
  model: string,
  opts: unknown,
  specs: OptionSpecs,
  how: {
    /** What to do with a name `specs` lacks: refuse it (the default) or let it through unchecked. */
    otherNames?: 'refuse' | 'pass';
  } = {},
): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new ModelOptionsError(model, `options must be an object, got ${describeValue(opts)}`);
  }
  const names = Object.keys(specs);
  for (const key of Object.keys(opts)) {
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec) {
      if (how.otherNames === 'pass') continue;
      throw new ModelOptionsError(
        model,
        `unknown option ${quoteName(key)}; it takes ${names.join(', ')}`,
        key.slice(0, MAX_QUOTE),
      );
    }
    const v = (opts as Record<string, unknown>)[key];
    if (v === undefined || accepts(spec, v)) continue;
    throw new ModelOptionsError(
      model,
      `option ${key} must be ${expected(spec)}, got ${describeValue(v)}${spec.hint ? ` (${spec.hint})` : ''}`,
      key,
    );
  }
}
