// The smoke test of a block, shared by @cnn/layers' generic blocks and the model families' own: it builds, runs
// forward and backward on wasm with the expected output shape, has the expected parameter count (counted with
// torchvision 0.14 on the same configuration) and state-dict keys, and leaks nothing.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import type { ModuleLike } from './layer-fixtures';

/** One block to check: how to build it, its input and output shapes, and optionally its parameter count and keys. */
export interface BlockCase {
  name: string;
  make: () => ModuleLike;
  input: number[];
  output: number[];
  params?: number;
  keys?: string[];
}

/**
 * One test per case, under `title`; `manualSeed` is @cnn/layers' of the copy of the library the blocks are built
 * with (its source for its own tests, its build for the model packages').
 */
export function describeBlockCases(title: string, cases: BlockCase[], manualSeed: (seed: number) => void): void {
  describe(title, () => {
    for (const c of cases) {
      it(`${c.name}: shape, parameters, keys, gradients, no leaks`, async () => {
        await setBackend('wasm');
        manualSeed(1);
        const m = c.make();
        const x = tf.randomNormal(c.input);
        const before = tf.memory().numTensors;
        const y = m.call(x);
        expect(y.shape).toEqual(c.output);
        if (c.params !== undefined) expect(m.numParameters()).toBe(c.params);
        if (c.keys) expect([...m.stateDict().keys()]).toEqual(c.keys);
        const params = m.parameters();
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.call(x) as Tensor)) as tf.Scalar, params);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(Object.keys(grads).length).toBe(params.length);
        tf.dispose([value, ...Object.values(grads), y]);
        expect(tf.memory().numTensors).toBe(before);
        m.dispose();
        x.dispose();
      });
    }
  });
}

/** A bad call: what it does, the call, and what its error message must match. */
export type BadCall = [string, () => unknown, RegExp];

/**
 * One test per bad call, in the current describe block: it throws an Error whose message matches, and leaves nothing
 * behind but the variables of modules it built (at most 8 tensors).
 */
export function itRefuses(cases: BadCall[]): void {
  for (const [name, f, re] of cases) {
    it(name, async () => {
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      let err: unknown = null;
      tf.tidy(() => {
        try {
          f();
        } catch (e) {
          err = e;
        }
      });
      expect(err, 'an error').toBeInstanceOf(Error);
      expect(String((err as Error).message)).toMatch(re);
      // The failed call leaves nothing behind but the variables of modules it built.
      expect(tf.memory().numTensors - before).toBeLessThanOrEqual(8);
    });
  }
}
