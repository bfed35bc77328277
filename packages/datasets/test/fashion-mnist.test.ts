// The embedded sample (no network, no apt package) and Debian's full Fashion-MNIST.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DatasetUsageError, FashionMNIST, computeStats } from '../src/index';
import { fashionMnistSampleFiles } from '../src/fashion-mnist-sample';

const DEBIAN = '/usr/share/datasets/fashion-mnist';
const PKG = fileURLToPath(new URL('..', import.meta.url));

describe('embedded Fashion-MNIST sample', () => {
  it('loads 3,000 training images, 300 per class, with the dataset classes and statistics', async () => {
    const train = await FashionMNIST.sample();
    expect(train.length).toBe(3000);
    expect(train.imageShape).toEqual([28, 28, 1]);
    expect(train.labelCounts()).toEqual(new Array(10).fill(300));
    expect(train.classes).toEqual([
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ]);
    expect(train.stats).toEqual({ mean: [0.286], std: [0.353] });
    const { image, label } = train.get(0);
    expect([image.height, image.width, image.channels]).toEqual([28, 28, 1]);
    expect(image.data).toBeInstanceOf(Uint8Array);
    expect(train.classes[label]).toBe('Ankle boot'); // Fashion-MNIST's first training image
  });

  it('loads 1,000 test images, 100 per class', async () => {
    const test = await FashionMNIST.sample({ train: false });
    expect(test.length).toBe(1000);
    expect(test.labelCounts()).toEqual(new Array(10).fill(100));
  });

  it('reads the files that @cnn/datasets/fashion-mnist-sample names (what a page passes as files), and names a missing one', async () => {
    expect(Object.keys(fashionMnistSampleFiles).sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
    for (const [name, url] of Object.entries(fashionMnistSampleFiles))
      expect(fileURLToPath(url)).toBe(join(PKG, 'data', 'fashion-mnist-sample', name));
    const viaFiles = await FashionMNIST.sample({ train: false, files: fashionMnistSampleFiles });
    const plain = await FashionMNIST.sample({ train: false });
    expect(viaFiles.length).toBe(1000);
    expect(viaFiles.labels).toEqual(plain.labels);
    expect(viaFiles.raw(999).data).toEqual(plain.raw(999).data);
    const { 't10k-labels-idx1-ubyte.gz': _, ...partial } = fashionMnistSampleFiles;
    const err = await FashionMNIST.sample({ train: false, files: partial }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetUsageError);
    expect((err as Error).message).toBe(
      "FashionMNIST.sample: files must map each file name of the split to its URL or path; missing: t10k-labels-idx1-ubyte.gz (import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample')",
    );
    // The training split needs none of the test files.
    expect((await FashionMNIST.sample({ files: partial })).length).toBe(3000);
  });

  it('stays under 2 MB', () => {
    const dir = join(PKG, 'data', 'fashion-mnist-sample');
    const names = [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ];
    const total = names.reduce((a, n) => a + readFileSync(join(dir, n)).length, 0);
    expect(total).toBeLessThan(2_000_000);
    expect(existsSync(join(dir, 'LICENSE'))).toBe(true);
  });

  it('is found by the built ESM and CJS entry points (run the build first)', () => {
    for (const [file, code] of [
      [
        'dist/index.js',
        `import('./dist/index.js').then(async (m) => console.log((await m.FashionMNIST.sample({ train: false })).length))`,
      ],
      ['dist/index.cjs', `require('./dist/index.cjs').FashionMNIST.sample().then((d) => console.log(d.length))`],
    ]) {
      expect(
        existsSync(join(PKG, file)),
        `${file} is missing: build with npx turbo run build --filter=@cnn/datasets`,
      ).toBe(true);
      const out = execFileSync(process.execPath, ['-e', code], { cwd: PKG, encoding: 'utf8' });
      expect(out.trim()).toBe(file.endsWith('.cjs') ? '3000' : '1000');
    }
  });
});

describe("Debian's full Fashion-MNIST (apt-get install dataset-fashion-mnist)", () => {
  const need = () => {
    if (!existsSync(join(DEBIAN, 'train-images-idx3-ubyte.gz'))) {
      throw new Error(
        `Fashion-MNIST is not installed in ${DEBIAN}: run \`apt-get install -y dataset-fashion-mnist\` (CI installs it)`,
      );
    }
  };

  it('has 60,000 training images, 6,000 per class, with the published pixel statistics', async () => {
    need();
    const train = await FashionMNIST.debian();
    expect(train.length).toBe(60000);
    expect(train.labelCounts()).toEqual(new Array(10).fill(6000));
    const stats = await computeStats(train);
    expect(stats.mean[0]).toBeCloseTo(FashionMNIST.STATS.mean[0], 3);
    expect(stats.std[0]).toBeCloseTo(FashionMNIST.STATS.std[0], 3);
  });

  it('has 10,000 test images, 1,000 per class', async () => {
    need();
    const test = await FashionMNIST.debian({ train: false });
    expect(test.length).toBe(10000);
    expect(test.labelCounts()).toEqual(new Array(10).fill(1000));
  });

  it('contains the sample: the first 300 (train) and 100 (test) images of each class, in order', async () => {
    need();
    for (const [train, per] of [
      [true, 300],
      [false, 100],
    ] as const) {
      const full = await FashionMNIST.debian({ train });
      const sample = await FashionMNIST.sample({ train });
      const taken = new Array(10).fill(0);
      let k = 0;
      for (let i = 0; k < sample.length; i++) {
        const label = full.labels[i];
        if (taken[label] >= per) continue;
        taken[label]++;
        expect(sample.labels[k]).toBe(label);
        expect(Buffer.compare(Buffer.from(sample.raw(k).data), Buffer.from(full.raw(i).data))).toBe(0);
        k++;
      }
    }
  });

  it('reads the same bytes as a plain gunzip of the Debian files', async () => {
    need();
    const test = await FashionMNIST.debian({ train: false });
    const raw = gunzipSync(readFileSync(join(DEBIAN, 't10k-images-idx3-ubyte.gz')));
    expect(Buffer.compare(Buffer.from(test.images), raw.subarray(16))).toBe(0);
  });
});
