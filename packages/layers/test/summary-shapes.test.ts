// summary computes shapes only: it runs the model on an empty batch, so a 100000x100000 input costs what a small one
// does (it used to allocate the zeros and die with a raw "Invalid typed array length"), and its rows and MACs are
// those of a real forward pass at the asked batch size. Flatten keeps an empty batch empty.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  F,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  setForwardHook,
  summary,
} from '../src/index';

// Every pooling whose host-side arrays scale with the image (avgPool's divisor map with padding, adaptive pooling's
// bin matrices) is here: they must not be built for the empty pass.
class Net extends Module {
  features = this.registerModule(
    'features',
    new Sequential(
      new Conv2d(3, 8, 3, { stride: 2, padding: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2, { stride: 2 }),
      new Conv2d(8, 16, 3, { padding: 1 }),
      new ReLU(),
      new AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }),
      new AdaptiveAvgPool2d(5),
    ),
  );
  pool = this.registerModule('pool', new AdaptiveAvgPool2d(1));
  flatten = this.registerModule('flatten', new Flatten());
  fc = this.registerModule('fc', new Linear(16, 10));
  forward(x: Tensor) {
    return this.fc.call(this.flatten.call(this.pool.call(this.features.call(x))));
  }
}

/** Output shapes and MACs of every leaf from a real forward pass on zeros (what summary used to run). */
function realPass(net: Module, shape: number[]): Array<[string, number[], number]> {
  const rows: Array<[string, number[], number]> = [];
  setForwardHook((m, _in, out) => {
    if (m.namedChildren().length > 0) return;
    const macs = 'macs' in m && typeof m.macs === 'function' ? (m.macs as (s: number[]) => number)(out.shape) : 0;
    rows.push([m.typeName, out.shape.slice(), macs]);
  });
  try {
    tf.tidy(() => void net.call(tf.zeros(shape)));
  } finally {
    setForwardHook(null);
  }
  return rows;
}

describe.each(['wasm', 'cpu'] as const)('summary on %s', (backend) => {
  it('rows, shapes and MACs equal a real forward pass, at batch 1 and batch 3', async () => {
    await setBackend(backend);
    const net = new Net();
    net.eval();
    for (const shape of [
      [1, 37, 29, 3],
      [3, 16, 16, 3],
    ]) {
      const s = summary(net, shape);
      const real = realPass(net, shape);
      expect(s.rows.map((r) => [r.type, r.outputShape, r.macs])).toEqual(real);
      expect(s.outputShape).toEqual([shape[0], 10]);
      expect(s.totalMacs).toBe(real.reduce((n, r) => n + r[2], 0));
    }
    net.dispose();
  });

  it('a 100000x100000x3 input allocates nothing: shapes and MACs by arithmetic, no tensor left', async () => {
    await setBackend(backend);
    const net = new Net();
    const before = tf.memory();
    const t0 = performance.now();
    const s = summary(net, [100_000, 100_000, 3]);
    const ms = performance.now() - t0;
    console.log(`summary at 100000x100000x3 on ${backend}: ${ms.toFixed(0)} ms`);
    expect(s.inputShape).toEqual([1, 100_000, 100_000, 3]);
    expect(s.rows[0].outputShape).toEqual([1, 50_000, 50_000, 8]);
    expect(s.rows[0].macs).toBe(50_000 * 50_000 * 8 * 27);
    expect(s.rows.find((r) => r.type === 'MaxPool2d')!.outputShape).toEqual([1, 25_000, 25_000, 8]);
    expect(s.rows.find((r) => r.type === 'AvgPool2d')!.outputShape).toEqual([1, 25_000, 25_000, 16]);
    expect(s.rows.find((r) => r.type === 'AdaptiveAvgPool2d')!.outputShape).toEqual([1, 5, 5, 16]);
    expect(s.outputShape).toEqual([1, 10]);
    expect(s.totalMacs).toBe(50_000 * 50_000 * 8 * 27 + 25_000 * 25_000 * 16 * 72 + 16 * 10);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    net.dispose();
  }, 20_000);

  it('refuses shapes beyond what tfjs can index, by name, before running anything', async () => {
    await setBackend(backend);
    const net = new Net();
    expect(() => summary(net, [2 ** 31, 8, 3])).toThrow(
      /^summary: inputShape \[2147483648, 8, 3\] is too large: each dimension at most 2147483647/,
    );
    expect(() => summary(net, [1e6, 1e6, 1e6, 3])).toThrow(
      /^summary: inputShape \[1000000, 1000000, 1000000, 3\] is too large: .* 9007199254740991 values in all/,
    );
    expect(() => summary(net, [8, 8, 3.5])).toThrow(
      /summary: inputShape must be \[h, w, c\] or \[n, h, w, c\] of positive integers, got \[8, 8, 3.5\]/,
    );
    net.dispose();
  });

  it('pooling of an empty batch: the right shapes, and a gradient through it', async () => {
    await setBackend(backend);
    const before = tf.memory().numTensors;
    const x = tf.zeros([0, 13, 11, 4]);
    const f = (a: tf.Tensor) =>
      tf.sum(F.adaptiveAvgPool2d(F.avgPool2d(a, 3, { stride: 1, padding: 1, countIncludePad: false }), 5));
    expect(tf.tidy(() => F.adaptiveAvgPool2d(x, [5, 3]).shape)).toEqual([0, 5, 3, 4]);
    expect(tf.tidy(() => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }).shape)).toEqual([0, 7, 6, 4]);
    const g = tf.grad(f)(x);
    expect(g.shape).toEqual([0, 13, 11, 4]);
    tf.dispose([x, g]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('F.flatten and Flatten keep an empty batch: [0, 2, 3, 4] -> [0, 24]', async () => {
    await setBackend(backend);
    const x = tf.zeros([0, 2, 3, 4]);
    const a = F.flatten(x);
    const b = new Flatten().call(x);
    expect([a.shape, b.shape]).toEqual([
      [0, 24],
      [0, 24],
    ]);
    expect(tf.tidy(() => F.flatten(tf.zeros([2, 0, 3]), 1).shape)).toEqual([2, 0]);
    tf.dispose([x, a, b]);
  });
});
