// The DataLoader on the embedded sample and on asynchronous datasets: shapes, scaling, seeded order
// and augmentation, dropLast, prefetching, batch transforms, errors, and no tensor leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend, tf } from '@cnn/tensor';
import {
  Compose,
  DataLoader,
  FashionMNIST,
  Mixup,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  Rng,
  ToTensor,
  imageHWC,
  type Dataset,
  type Sample,
} from '../src/index';

let sample: FashionMNIST;
beforeAll(async () => {
  await setBackend('wasm');
  sample = await FashionMNIST.sample({ train: false }); // 1000 images
});

const augment = () =>
  new Compose([
    new RandomCrop(28, { padding: 4 }),
    new RandomHorizontalFlip(),
    new ToTensor(),
    new Normalize([0.286], [0.353]),
  ]);

/** Every batch of an epoch in host memory. */
async function hostEpoch(loader: DataLoader, epoch: number) {
  const out = [];
  for await (const b of loader.hostBatches(epoch)) out.push(b);
  return out;
}

/** An asynchronous dataset of n 4x4x1 images (value = index) that resolves items after random delays. */
function slowDataset(n: number, calls: number[] = []): Dataset<Sample> {
  const jitter = new Rng(99);
  return {
    length: n,
    classes: ['even', 'odd'],
    stats: { mean: [0], std: [1] },
    async get(i: number, rng?: Rng) {
      calls.push(i);
      await new Promise((r) => setTimeout(r, jitter.int(0, 4)));
      const noise = rng ? rng.next() : 0;
      return { image: imageHWC(new Float32Array(16).fill(i + noise), 4, 4, 1), label: i % 2 };
    },
  };
}

describe('DataLoader batches', () => {
  it('yields NHWC float32 images scaled to [0, 1] and int32 labels; the last batch is smaller', async () => {
    const loader = new DataLoader(sample, { batchSize: 64 });
    expect(loader.length).toBe(16);
    let count = 0;
    let last = 0;
    for await (const batch of loader) {
      expect(batch.x.shape.slice(1)).toEqual([28, 28, 1]);
      expect(batch.x.dtype).toBe('float32');
      expect(batch.y.dtype).toBe('int32');
      if (count === 0) {
        const x = batch.x.dataSync();
        const raw = sample.raw(5).data;
        for (const p of [0, 300, 783]) expect(x[5 * 784 + p]).toBeCloseTo(raw[p] / 255, 6);
        expect(Array.from(batch.y.dataSync())).toEqual(Array.from(sample.labels.subarray(0, 64)));
        expect(Array.from(batch.indices)).toEqual(Array.from({ length: 64 }, (_, i) => i));
      }
      last = batch.size;
      count++;
      batch.dispose();
    }
    expect(count).toBe(16);
    expect(last).toBe(1000 - 15 * 64);
  });

  it('dropLast leaves out the short batch', async () => {
    const loader = new DataLoader(sample, { batchSize: 64, dropLast: true });
    expect(loader.length).toBe(15);
    const batches = await hostEpoch(loader, 0);
    expect(batches.length).toBe(15);
    expect(batches.every((b) => b.labels.length === 64)).toBe(true);
  });

  it('a batch transform gives float32 soft targets [n, classes]', async () => {
    const loader = new DataLoader(sample.withTransform(new ToTensor()), {
      batchSize: 32,
      batchTransform: new Mixup({ alpha: 0.2 }),
      seed: 1,
    });
    for await (const batch of loader) {
      expect(batch.y.shape).toEqual([32, 10]);
      expect(batch.y.dtype).toBe('float32');
      const sums = tf.tidy(() => tf.sum(batch.y, 1).dataSync());
      for (const s of sums) expect(s).toBeCloseTo(1, 5);
      batch.dispose();
      break;
    }
  });
});

describe('DataLoader seeding', () => {
  it('shuffles each epoch to a new permutation; the same seed gives the same order, another seed another', () => {
    const a = new DataLoader(sample, { shuffle: true, seed: 7 });
    const b = new DataLoader(sample, { shuffle: true, seed: 7 });
    const c = new DataLoader(sample, { shuffle: true, seed: 8 });
    expect(Array.from(a.order(0))).toEqual(Array.from(b.order(0)));
    expect(Array.from(a.order(0))).not.toEqual(Array.from(a.order(1)));
    expect(Array.from(a.order(0))).not.toEqual(Array.from(c.order(0)));
    expect(Array.from(a.order(3)).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(new DataLoader(sample).order(5).subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it('successive for-await loops are successive epochs, reproducible across loaders', async () => {
    const first = async (loader: DataLoader) => {
      for await (const b of loader) {
        const i = Array.from(b.indices);
        b.dispose();
        return i;
      }
      return [];
    };
    const a = new DataLoader(sample, { shuffle: true, seed: 3, batchSize: 8 });
    const b = new DataLoader(sample, { shuffle: true, seed: 3, batchSize: 8 });
    const a0 = await first(a);
    const a1 = await first(a);
    expect(a0).toEqual(Array.from(a.order(0).subarray(0, 8)));
    expect(a1).toEqual(Array.from(a.order(1).subarray(0, 8)));
    expect(await first(b)).toEqual(a0);
  });

  it('random augmentation is identical for the same seed, whatever prefetch and concurrency, and differs by seed and epoch', async () => {
    const ds = sample.withTransform(augment());
    const run = (seed: number, epoch: number, prefetch: number) =>
      hostEpoch(new DataLoader(ds, { batchSize: 100, shuffle: true, seed, prefetch }), epoch);
    const [a, b, c, d] = await Promise.all([run(1, 0, 0), run(1, 0, 4), run(2, 0, 2), run(1, 1, 2)]);
    for (let k = 0; k < a.length; k++) {
      expect(Buffer.from(a[k].x.buffer).equals(Buffer.from(b[k].x.buffer))).toBe(true);
      expect(Array.from(a[k].indices)).toEqual(Array.from(b[k].indices));
    }
    expect(Buffer.from(a[0].x.buffer).equals(Buffer.from(c[0].x.buffer))).toBe(false);
    expect(Buffer.from(a[0].x.buffer).equals(Buffer.from(d[0].x.buffer))).toBe(false);
    // The same image at the same position of the same epoch gets the same augmentation.
    const same = await hostEpoch(new DataLoader(ds, { batchSize: 50, shuffle: true, seed: 1 }), 0);
    expect(Buffer.from(same[1].x.buffer).equals(Buffer.from(a[0].x.buffer.slice(50 * 784 * 4)))).toBe(true);
  });

  it('an asynchronous dataset finishing out of order still gives the same batches', async () => {
    const run = (concurrency: number) =>
      hostEpoch(new DataLoader(slowDataset(40), { batchSize: 8, shuffle: true, seed: 5, concurrency }), 0);
    const [a, b] = await Promise.all([run(1), run(16)]);
    expect(a.map((x) => Array.from(x.x))).toEqual(b.map((x) => Array.from(x.x)));
    const firstValues = Array.from(a[0].x.filter((_, i) => i % 16 === 0)).map(Math.floor);
    expect(firstValues).toEqual(Array.from(a[0].indices));
  });
});

describe('DataLoader prefetching and memory', () => {
  it('prepares the next batches while the consumer holds the current one', async () => {
    const calls: number[] = [];
    const loader = new DataLoader(slowDataset(100, calls), { batchSize: 10, prefetch: 2, concurrency: 64 });
    const it = loader.hostBatches(0)[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 50)); // the consumer "trains"
    expect(calls.length).toBe(40); // batch 0, plus batches 1-3 (prefetch 2 beyond the next)
    await it.return?.();
  });

  it('leaves no tensors behind: full epochs with dispose, and an epoch abandoned midway', async () => {
    const loader = new DataLoader(sample.withTransform(augment()), {
      batchSize: 50,
      shuffle: true,
      seed: 2,
      prefetch: 3,
    });
    const before = tf.memory().numTensors;
    for (let e = 0; e < 2; e++) {
      for await (const batch of loader) {
        tf.tidy(() => batch.x.mean().dataSync());
        batch.dispose();
        batch.dispose(); // idempotent
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    let n = 0;
    for await (const batch of loader) {
      batch.dispose();
      if (++n === 3) break;
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DataLoader errors', () => {
  it('images of different sizes in one batch', async () => {
    const mixed: Dataset<Sample> = {
      length: 3,
      classes: ['a'],
      stats: { mean: [0], std: [1] },
      get: (i) => ({
        image: imageHWC(new Uint8Array(i === 2 ? 12 : 4), i === 2 ? 3 : 2, 2, i === 2 ? 2 : 1),
        label: 0,
      }),
    };
    await expect(hostEpoch(new DataLoader(mixed, { batchSize: 3 }), 0)).rejects.toThrow(
      /image 2 of batch 0 \(dataset index 2\) is 3x2x2 but image 0 is 2x2x1: batched images must share one size/,
    );
  });

  it('a failing item rejects the iteration with its error', async () => {
    const failing: Dataset<Sample> = {
      ...slowDataset(20),
      get: async (i) => Promise.reject(new Error(`item ${i} is broken`)),
    };
    await expect(hostEpoch(new DataLoader(failing, { batchSize: 4 }), 0)).rejects.toThrow(/item 0 is broken/);
  });

  it('bad options and labels outside the classes', async () => {
    expect(() => new DataLoader(sample, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => new DataLoader(sample, { prefetch: -1 })).toThrow(/prefetch/);
    const badLabel: Dataset<Sample> = {
      length: 1,
      classes: ['a'],
      stats: { mean: [0], std: [1] },
      get: () => ({ image: imageHWC(new Uint8Array(1), 1, 1, 1), label: 4 }),
    };
    await expect(hostEpoch(new DataLoader(badLabel), 0)).rejects.toThrow(/dataset index 0 has label 4, outside 0\.\.0/);
  });
});
