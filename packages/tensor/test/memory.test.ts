// Nothing leaks: 200 training steps of a small conv net that exercises every convolution path
// (tfjs's forward with cnn's gradients, grouped, dilated, strided, depthwise) leave exactly the
// tensors and bytes that the first step left (parameters and optimizer state).
import { describe, expect, it } from 'vitest';
import { tf, setBackend, conv2d, type Tensor4D } from '../src/index';

function net(seed: number) {
  const v = (shape: number[], i: number) => tf.variable(tf.randomUniform(shape, -0.3, 0.3, 'float32', seed + i));
  return {
    w1: v([3, 3, 3, 8], 0),
    w2: v([3, 3, 4, 16], 1),
    w3: v([3, 3, 1, 16], 2),
    w4: v([1, 1, 16, 16], 3),
    fc: v([16, 4], 4),
  };
}

function loss(p: ReturnType<typeof net>, x: Tensor4D, y: tf.Tensor) {
  let h = tf.relu(conv2d(x, p.w1, { pad: 1 }));
  h = tf.relu(conv2d(h, p.w2, { pad: 2, dilations: 2, groups: 2 }));
  h = tf.relu(
    conv2d(h, p.w3, {
      pad: [
        [0, 1],
        [0, 1],
      ],
      strides: 2,
      groups: 16,
    }),
  );
  h = tf.relu(conv2d(h, p.w4, { strides: 1 }));
  return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.mean(h, [1, 2]), p.fc)) as tf.Scalar;
}

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  it('200 training steps leave tensor count and bytes unchanged after the first', async () => {
    await setBackend(backend);
    const x = tf.randomNormal([4, 10, 9, 3], 0, 1, 'float32', 3) as Tensor4D;
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    const p = net(11);
    const opt = tf.train.momentum(0.05, 0.9);
    const steps = backend === 'wasm' ? 200 : 20; // the pure-JS backend is slow; 20 steps prove the same
    let after1 = { numTensors: 0, numBytes: 0 };
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const l = opt.minimize(() => loss(p, x, y), true)!;
      losses.push(l.dataSync()[0]);
      l.dispose();
      const m = tf.memory();
      if (i === 0) after1 = { numTensors: m.numTensors, numBytes: m.numBytes };
      else expect({ step: i + 1, numTensors: m.numTensors, numBytes: m.numBytes }).toEqual({ step: i + 1, ...after1 });
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    opt.dispose();
    for (const v of Object.values(p)) v.dispose();
    x.dispose();
    y.dispose();
  });
});
