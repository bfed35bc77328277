// A tiny convolutional classifier written straight on @cnn/tensor: a plain 3x3 convolution, a
// dilated grouped convolution and a depthwise one, then global average pooling and a linear layer.
// Shared by the quick-start demo (train-tiny.mjs) and the memory test.
import { tf, conv2d } from '@cnn/tensor';

/** Creates the parameters (tf.Variable) of the tiny net for `classes` classes. */
export function tinyNet(classes, seed = 1) {
  const init = (shape, fanIn, i) =>
    tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', seed + i));
  return {
    w1: init([3, 3, 1, 8], 9, 0),
    w2: init([3, 3, 4, 16], 36, 1), // groups 2, dilation 2
    w3: init([3, 3, 1, 16], 9, 2), // depthwise
    fc: init([16, classes], 16, 3),
    b: tf.variable(tf.zeros([classes])),
  };
}

/** Logits of the tiny net for images x [n, h, w, 1]. */
export function forward(p, x) {
  let h = tf.relu(conv2d(x, p.w1, { pad: 1 }));
  h = tf.relu(conv2d(h, p.w2, { pad: 2, dilations: 2, groups: 2 }));
  h = tf.relu(conv2d(h, p.w3, { pad: 1, strides: 2, groups: 16 }));
  return tf.add(tf.matMul(tf.mean(h, [1, 2]), p.fc), p.b);
}

/** Synthetic images: class 0 has a horizontal bar, class 1 a vertical one, class 2 a diagonal. */
export function barsDataset(n, size = 12, seed = 7) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const img = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const cls = k % 3;
    const at = 1 + Math.floor(rand() * (size - 2));
    labels[k] = cls;
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const on = cls === 0 ? i === at : cls === 1 ? j === at : Math.abs(i - j - (at - size / 2)) < 1;
        img[(k * size + i) * size + j] = (on ? 1 : 0) + 0.3 * (rand() - 0.5);
      }
  }
  return { x: tf.tensor4d(img, [n, size, size, 1]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 3) };
}
