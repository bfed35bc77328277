// Freezing part of a model for fine-tuning: its parameters get no gradients (tf.Variable's `trainable` flag, which
// the Trainer and Optimizer.minimize honour) and its normalisation layers keep their running statistics (the Trainer
// runs them in evaluation mode while the rest of the model trains), as timm's `freeze` does.
import { BatchNorm2d, type Module } from '@cnn/layers';

/** What {@link freeze} froze. */
export interface FreezeResult {
  /** The frozen parameters' names, in the model's order. */
  names: string[];
  /** How many numbers they hold. */
  count: number;
  /** Names of the normalisation layers that now keep their running statistics. */
  norms: string[];
}

/** Normalisation layers frozen by {@link freeze}: the Trainer keeps them in evaluation mode. */
const frozenNorms = new WeakSet<Module>();

function isNorm(m: Module): boolean {
  return m instanceof BatchNorm2d || /Norm/.test(m.typeName);
}

/**
 * Freezes the parameters of `model` whose dotted name `match` takes (`name => !name.startsWith('fc.')` freezes all
 * but a head `fc`): sets their `trainable` flag to false, so {@link Trainer} (and `Optimizer.minimize`) compute no
 * gradient for them and never update them. A normalisation layer (BatchNorm2d, or a module whose class name holds
 * 'Norm') whose parameters are all frozen, or that has none and sits under a frozen module's name, also keeps its
 * running statistics: the Trainer runs it in evaluation mode while the rest trains. Undo with {@link unfreeze}.
 *
 * @returns the frozen parameters' names and count of numbers, and the normalisation layers kept in evaluation mode.
 * @throws when `match` is not a function.
 *
 * @example
 * const { count } = freeze(model, (name) => !name.startsWith('fc.')); // train the head only
 */
export function freeze(model: Module, match: (name: string) => boolean): FreezeResult {
  if (typeof match !== 'function') throw new Error('freeze: match must be a function (name) => boolean');
  const names: string[] = [];
  let count = 0;
  for (const [name, v] of model.namedParameters()) {
    if (!match(name)) continue;
    v.trainable = false;
    names.push(name);
    count += v.size;
  }
  const norms: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (!isNorm(m)) continue;
    const own = m.namedParameters();
    const frozen = own.length > 0 ? own.every(([, v]) => !v.trainable) : name !== '' && match(`${name}.`);
    if (frozen) {
      frozenNorms.add(m);
      norms.push(name);
    }
  }
  return { names, count, norms };
}

/** Makes every parameter of `model` trainable again and lets its normalisation layers train (undoes {@link freeze}). */
export function unfreeze(model: Module): void {
  for (const [, v] of model.namedParameters()) v.trainable = true;
  for (const [, m] of model.namedModules()) frozenNorms.delete(m);
}

/** Puts the normalisation layers {@link freeze} froze back in evaluation mode (after `model.train()`). */
export function keepFrozenNormsInEval(model: Module): void {
  for (const [, m] of model.namedModules()) if (frozenNorms.has(m)) m.training = false;
}
