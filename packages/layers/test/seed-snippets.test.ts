// The seed's own snippets, written with this API, give the shapes the seed states; and LeNet-5 built from these
// layers has the reference parameter and MAC counts.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  F,
  Conv2d,
  Linear,
  MaxPool2d,
  AvgPool2d,
  Tanh,
  Flatten,
  Sequential,
  Module,
  summary,
  manualSeed,
} from '../src/index';

class LeNet5 extends Module {
  features = this.registerModule(
    'features',
    new Sequential(
      new Conv2d(1, 6, 5, { padding: 2 }),
      new Tanh(),
      new AvgPool2d(2),
      new Conv2d(6, 16, 5),
      new Tanh(),
      new AvgPool2d(2),
      new Conv2d(16, 120, 5),
      new Tanh(),
    ),
  );
  flatten = this.registerModule('flatten', new Flatten());
  classifier = this.registerModule('classifier', new Sequential(new Linear(120, 84), new Tanh(), new Linear(84, 10)));
  forward(x: Tensor) {
    return this.classifier.call(this.flatten.call(this.features.call(x)));
  }
}

describe.each(['wasm', 'cpu'] as const)('the seed on %s', (backend) => {
  it('conv of 1x8x12x3 with six 3x3 filters and padding 1 gives 1x8x12x6 (both APIs)', async () => {
    await setBackend(backend);
    const img = tf.randomNormal([1, 8, 12, 3]);
    const weight = tf.randomNormal([3, 3, 3, 6]);
    const y1 = F.conv2d(img, weight, { padding: 1 });
    const conv = new Conv2d(3, 6, 3, { padding: 1 });
    const y2 = conv.call(img);
    expect(y1.shape).toEqual([1, 8, 12, 6]);
    expect(y2.shape).toEqual([1, 8, 12, 6]);
    tf.dispose([img, weight, y1, y2]);
    conv.dispose();
  });

  it('a 2x2 max pool at stride 2 halves H and W; linear 8 -> 6; softmax rows sum to 1', async () => {
    await setBackend(backend);
    const x = tf.randomNormal([1, 8, 12, 6]);
    const p = new MaxPool2d(2).call(x);
    expect(p.shape).toEqual([1, 4, 6, 6]);
    const fc = new Linear(8, 6);
    const z = fc.call(tf.randomNormal([3, 8]));
    expect(z.shape).toEqual([3, 6]);
    const s = F.softmax(z);
    const sums = Array.from(tf.sum(s, 1).dataSync());
    sums.forEach((v) => expect(v).toBeCloseTo(1, 5));
    tf.dispose([x, p, z, s]);
    fc.dispose();
  });

  it('summary of LeNet-5 (28x28 with padding 2) gives 61,706 params and 416,520 MACs', async () => {
    await setBackend(backend);
    manualSeed(0);
    const net = new LeNet5();
    const s = summary(net, [28, 28, 1]);
    expect(s.totalParams).toBe(61706);
    expect(s.totalMacs).toBe(416520);
    expect(s.outputShape).toEqual([1, 10]);
    expect(s.rows.map((r) => r.name)).toContain('features.0');
    expect(String(s)).toMatch(/params: 61,706/);
    net.dispose();
  });
});
