// Rebuilding built-in transforms from their specs (class name + constructor arguments): how a
// transform pipeline crosses into a worker thread.
import { DatasetUsageError } from '../errors';
import { CenterCrop, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, Resize } from './geometry';
import { ColorJitter, Normalize, ToTensor } from './pixel';
import { RandomErasing } from './random-erasing';
import { Compose, type Transform, type TransformSpec } from './transform';

// biome-ignore lint/suspicious/noExplicitAny: a constructor of any transform, whatever its arguments
type AnyConstructor = new (...args: any[]) => Transform;

const CLASSES: Record<string, AnyConstructor> = {
  Resize,
  CenterCrop,
  RandomCrop,
  RandomResizedCrop,
  RandomHorizontalFlip,
  ToTensor,
  Normalize,
  ColorJitter,
  RandomErasing,
};

/**
 * The transform a spec describes (see {@link Transform.spec}): `transformFromSpec(t.spec)` behaves
 * exactly like `t`.
 *
 * @throws DatasetUsageError for a type that is not a built-in transform (and whatever the class's constructor throws).
 */
export function transformFromSpec(spec: TransformSpec): Transform {
  if (spec.type === 'Compose') return new Compose((spec.args[0] as TransformSpec[]).map(transformFromSpec));
  const Cls = CLASSES[spec.type];
  if (!Cls)
    throw new DatasetUsageError('transformFromSpec', `'${String(spec.type).slice(0, 60)}' is not a built-in transform`);
  return new Cls(...spec.args);
}
