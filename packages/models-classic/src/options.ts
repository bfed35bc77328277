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
export type OptionSpec =
  | { type: 'integer'; min: number; max: number; hint?: string }
  | { type: 'number'; min: number; max: number; minExclusive?: boolean; maxExclusive?: boolean; hint?: string }
  | { type: 'boolean'; hint?: string }
  | { type: 'enum'; values: readonly unknown[]; hint?: string }
  | { type: 'function'; nullable?: boolean; hint?: string };

/** The options a model takes, by name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** numClasses and inChannels: what every classifier takes. */
export const CLASSIFIER_OPTIONS = {
  numClasses: { type: 'integer', min: 1, max: MAX_CLASSES },
  inChannels: { type: 'integer', min: 1, max: MAX_IN_CHANNELS },
} as const satisfies OptionSpecs;

/** A dropout probability, in [0, 1). */
export const DROPOUT_OPTION = { type: 'number', min: 0, max: 1, maxExclusive: true } as const satisfies OptionSpec;

/** A width multiplier, in (0, {@link MAX_WIDTH_MULTIPLIER}]. */
export const WIDTH_OPTION = { type: 'number', min: 0, max: MAX_WIDTH_MULTIPLIER, minExclusive: true } as const satisfies OptionSpec;

/** The attention options of the ResNet family (`attention` a factory, or `attn: 'se'`). */
export const ATTENTION_OPTIONS = {
  attention: { type: 'function', nullable: true },
  attn: { type: 'enum', values: ['se', null] },
} as const satisfies OptionSpecs;

/** The options of {@link ResNet} (and the registry ids built from it). */
export const RESNET_OPTIONS = {
  ...CLASSIFIER_OPTIONS,
  ...ATTENTION_OPTIONS,
  groups: { type: 'integer', min: 1, max: MAX_GROUP_WIDTH },
  baseWidth: { type: 'integer', min: 1, max: MAX_BASE_WIDTH },
  stem: { type: 'enum', values: ['imagenet', 'cifar'] },
  zeroInitResidual: { type: 'boolean' },
} as const satisfies OptionSpecs;

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
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'number': {
      const lo = spec.minExclusive ? `more than ${spec.min}` : `at least ${spec.min}`;
      const hi = spec.maxExclusive ? `less than ${spec.max}` : `at most ${spec.max}`;
      return `a number ${lo} and ${hi}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return spec.values.length === 1 ? describeValue(spec.values[0]) : `one of ${spec.values.map(describeValue).join(', ')}`;
    case 'function':
      return spec.nullable ? 'a function or null' : 'a function';
  }
}

function accepts(spec: OptionSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= spec.min && v <= spec.max;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
        && (spec.minExclusive ? v > spec.min : v >= spec.min) && (spec.maxExclusive ? v < spec.max : v <= spec.max);
    case 'boolean':
      return typeof v === 'boolean';
    case 'enum':
      return spec.values.includes(v);
    case 'function':
      return typeof v === 'function' || (spec.nullable === true && v === null);
  }
}

/**
 * Checks builder options against what `model` takes: a plain object, no unknown names (the error lists the valid
 * ones; `otherNames: 'pass'` lets them through unchecked instead), each value of its type and within its limits.
 * Throws {@link ModelOptionsError}; changes nothing.
 */
export function checkOptions(model: string, opts: unknown, specs: OptionSpecs, how: { otherNames?: 'refuse' | 'pass' } = {}): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new ModelOptionsError(model, `options must be an object, got ${describeValue(opts)}`);
  }
  const names = Object.keys(specs);
  for (const key of Object.keys(opts)) {
    const spec = Object.prototype.hasOwnProperty.call(specs, key) ? specs[key] : undefined;
    if (!spec) {
      if (how.otherNames === 'pass') continue;
      throw new ModelOptionsError(model, `unknown option ${quoteName(key)}; it takes ${names.join(', ')}`, key.slice(0, MAX_QUOTE));
    }
    const v = (opts as Record<string, unknown>)[key];
    if (v === undefined || accepts(spec, v)) continue;
    throw new ModelOptionsError(model, `option ${key} must be ${expected(spec)}, got ${describeValue(v)}${spec.hint ? ` (${spec.hint})` : ''}`, key);
  }
}
