// cnn's wasm kernels read and write tensors in place, in the backend's own memory: no tensor is
// read back to JavaScript (backend.read / readSync, what dataSync and data use) on the way, so
// nothing can be copied out and back in.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf, setBackend, conv2d, type Tensor4D } from '../src/index';

describe('wasm kernels copy nothing out of the backend and back', () => {
  it('a forward and backward pass of every conv path reads no tensor back from the backend', async () => {
    await setBackend('wasm');
    const backend = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
    const x = tf.randomNormal([2, 9, 8, 8]) as Tensor4D;
    const filters = {
      plain: tf.randomNormal([3, 3, 8, 8]) as Tensor4D,
      grouped: tf.randomNormal([3, 3, 2, 8]) as Tensor4D,
      depthwise: tf.randomNormal([3, 3, 1, 8]) as Tensor4D,
    };
    const calls: string[] = [];
    const originals = new Map<string, (...a: unknown[]) => unknown>();
    for (const name of ['read', 'readSync']) {
      const orig = backend[name];
      originals.set(name, orig);
      backend[name] = function (this: unknown, ...args: unknown[]) {
        calls.push(name);
        return orig.apply(this, args);
      };
    }
    try {
      const g = (_filter: Tensor4D, groups: number) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          conv2d(a as Tensor4D, b as Tensor4D, { pad: 2, dilations: 2, strides: 1, groups }),
        );
      const outs = [
        g(filters.plain, 1)([x, filters.plain]),
        g(filters.grouped, 4)([x, filters.grouped]),
        g(filters.depthwise, 8)([x, filters.depthwise]),
      ];
      expect(calls).toEqual([]);
      for (const o of outs) tf.dispose(o);
    } finally {
      for (const [name, orig] of originals) backend[name] = orig;
      tf.dispose([x, ...Object.values(filters)]);
    }
  });

  it('no kernel source reads tensors back into JavaScript', () => {
    const dir = join(__dirname, '..', 'src', 'wasm');
    const files = readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && f !== 'kernels-binary.ts' && f !== 'tfjs-threaded-glue.ts',
    ); // generated: our binary, tfjs's runtime
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect({ file: f, found: text.match(/\b(dataSync|arraySync|readSync|HEAPF32|\.data\(\)|\.array\(\))/g) }).toEqual(
        { file: f, found: null },
      );
    }
  });
});
