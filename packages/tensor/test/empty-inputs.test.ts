// Tensors with no elements (a batch of zero images) on the wasm backend: tfjs's Transpose kernel trapped with
// `RuntimeError: divide by zero` on them (and Mean / Max over the spatial axes with it: every network's global
// pooling), its reductions over an empty axis returned uninitialised memory, and cnn's own kernels divide by the
// sizes. Every such call now answers from the shapes, with what the cpu backend gives, and leaks nothing.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, conv2d, type Tensor4D } from '../src/index';

type Op = () => tf.Tensor;

// Each op once on an input without elements; the cpu backend is the reference.
const OPS: Array<[string, Op]> = [
  ['transpose of [0, 8, 8, 4]', () => tf.transpose(tf.zeros([0, 8, 8, 4]), [0, 3, 1, 2])],
  ['transpose of [5, 0, 3]', () => tf.transpose(tf.zeros([5, 0, 3]), [2, 0, 1])],
  ['mean over [1, 2] (global average pooling of an empty batch)', () => tf.mean(tf.zeros([0, 8, 8, 4]), [1, 2])],
  ['mean over [1, 2], keepDims', () => tf.mean(tf.zeros([0, 8, 8, 4]), [1, 2], true)],
  ['max over [1, 2]', () => tf.max(tf.zeros([0, 8, 8, 4]), [1, 2])],
  ['min over [1, 2]', () => tf.min(tf.zeros([0, 8, 8, 4]), [1, 2])],
  ['sum over [1, 2]', () => tf.sum(tf.zeros([0, 8, 8, 4]), [1, 2])],
  ['prod over [1, 2]', () => tf.prod(tf.zeros([0, 8, 8, 4]), [1, 2])],
  ['sum over the empty axis', () => tf.sum(tf.zeros([0, 3, 2]), 0)],
  ['sum over the empty axis, keepDims', () => tf.sum(tf.zeros([0, 3, 2]), [0, 2], true)],
  ['mean over the empty axis', () => tf.mean(tf.zeros([0, 3, 2]), 0)],
  ['max over the empty axis', () => tf.max(tf.zeros([0, 3, 2]), 0)],
  ['min over the empty axis', () => tf.min(tf.zeros([0, 3, 2]), 0)],
  ['prod over the empty axis', () => tf.prod(tf.zeros([0, 3, 2]), 0)],
  ['sum over an empty inner axis', () => tf.sum(tf.zeros([3, 0]), 1)],
  ['max over an empty inner axis', () => tf.max(tf.zeros([3, 0]), 1)],
  ['all over the empty axis', () => tf.all(tf.zeros([0, 3], 'bool'), 0)],
  ['any over the empty axis', () => tf.any(tf.zeros([0, 3], 'bool'), 0)],
  ['argMax over the empty axis', () => tf.argMax(tf.zeros([0, 3]), 0)],
  ['argMin of an empty batch', () => tf.argMin(tf.zeros([0, 3]), 1)],
  ['cumsum of an empty batch', () => tf.cumsum(tf.zeros([0, 3, 2]), 1)],
  ['cumprod of an empty batch', () => tf.cumprod(tf.zeros([0, 3, 2]), 2)],
  ['softmax over the channels of an empty batch', () => tf.softmax(tf.zeros([0, 10]))],
];

function run(op: Op): { shape: number[]; dtype: string; values: number[] } {
  return tf.tidy(() => {
    const y = op();
    return { shape: y.shape.slice(), dtype: y.dtype, values: Array.from(y.dataSync() as ArrayLike<number>) };
  });
}

describe('zero-size inputs on wasm', () => {
  it("tfjs kernels that trapped or returned garbage give the cpu backend's shape, dtype and values", async () => {
    await setBackend('cpu');
    const want = OPS.map(([, op]) => run(op));
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    OPS.forEach(([name, op], i) => {
      // toEqual treats NaN as equal to NaN: max / min over nothing are NaN on both backends.
      expect({ name, ...run(op) }).toEqual({ name, ...want[i] });
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("nonempty inputs still go to tfjs's kernels", async () => {
    await setBackend('wasm');
    tf.tidy(() => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
      expect(Array.from(tf.mean(x, [1, 2]).dataSync())).toEqual([2.5, 6.5]);
      expect(Array.from(tf.transpose(x, [3, 1, 2, 0]).dataSync())).toEqual([1, 5, 2, 6, 3, 7, 4, 8]);
      expect(
        Array.from(
          tf
            .max(
              tf.tensor2d([
                [1, 9],
                [4, 2],
              ]),
              0,
            )
            .dataSync(),
        ),
      ).toEqual([4, 9]);
    });
  });

  // Convolutions of every kind on an empty batch, forward and both gradients: outputs with no elements and a
  // filter gradient of zeros (nothing reached the filter), as PyTorch gives, on cnn's kernels and on cpu.
  type ConvOpts = { pad?: number; strides?: number; dilations?: number; groups?: number };
  const CONVS: Array<[string, [number, number, number, number], ConvOpts]> = [
    ['plain 3x3', [3, 3, 4, 6], { pad: 1 }],
    ['grouped 3x3, groups 2', [3, 3, 2, 6], { pad: 1, groups: 2 }],
    ['depthwise 3x3', [3, 3, 1, 4], { pad: 1, groups: 4 }],
    ['strided 1x1', [1, 1, 4, 8], { strides: 2 }],
    ['dilated 3x3', [3, 3, 4, 4], { pad: 2, dilations: 2 }],
  ];
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, wShape, opts] of CONVS) {
      it(`conv2d ${name} on ${backend}, batch of 0: forward and gradients`, async () => {
        await setBackend(backend);
        const before = tf.memory().numTensors;
        const x = tf.zeros([0, 9, 9, 4]) as Tensor4D;
        const w = tf.randomNormal(wShape, 0, 1, 'float32', 1) as Tensor4D;
        const y = conv2d(x, w, opts);
        expect(y.shape[0]).toBe(0);
        const { grads, value } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(conv2d(a, b, opts)))([x, w]);
        expect(value.dataSync()[0]).toBe(0);
        expect(grads[0].shape).toEqual([0, 9, 9, 4]);
        expect(grads[1].shape).toEqual(wShape);
        expect(Array.from(grads[1].dataSync()).every((v) => v === 0)).toBe(true);
        tf.dispose([x, w, y, value, ...grads]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
    it(`maxPool and its gradient on ${backend}, batch of 0`, async () => {
      await setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.zeros([0, 8, 8, 3]) as Tensor4D;
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as Tensor4D, 3, 2, 'same')))(x);
      expect(g.shape).toEqual([0, 8, 8, 3]);
      tf.dispose([x, g]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
