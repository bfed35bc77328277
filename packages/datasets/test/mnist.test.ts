// MNIST-family IDX reading from folders the tests write: layouts, plain and gzip, and every bad input.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetError, FashionMNIST, MNIST, parseIdx } from '../src/index';
import { idx, idxImages, put, tempDir } from './helpers';
import { allInOrder } from '../src/util';

const root = tempDir('mnist');

/** Writes a split of n images of 28x28 under dir with the given naming and compression. */
function writeSplit(dir: string, prefix: string, n: number, { gzip = true, dotted = false } = {}) {
  const name = (kind: string, rank: number) =>
    `${prefix}-${kind}${dotted ? '.' : '-'}idx${rank}-ubyte${gzip ? '.gz' : ''}`;
  const labels = Uint8Array.from({ length: n }, (_, k) => k % 10);
  put(join(dir, name('images', 3)), idx([n, 28, 28], idxImages(n, 28, 28), { gzip }));
  put(join(dir, name('labels', 1)), idx([n], labels, { gzip }));
}

/** Expects `p` to reject with a DatasetError whose file ends with `file` and whose reason matches `reason`. */
async function expectFault(p: Promise<unknown>, file: string, reason: RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  const e = err as DatasetError;
  expect(e.file.endsWith(file), `file ${e.file} should end with ${file}`).toBe(true);
  expect(e.reason).toMatch(reason);
  expect(e.message).toContain(e.file);
}

describe('MNIST.load', () => {
  it('reads gzipped IDX files: counts, shapes, pixels and labels', async () => {
    const dir = join(root, 'gz');
    writeSplit(dir, 'train', 25);
    writeSplit(dir, 't10k', 7);
    const train = await MNIST.load(dir);
    const test = await MNIST.load(dir, { train: false });
    expect([train.length, test.length]).toEqual([25, 7]);
    expect(train.classes[3]).toBe('3 - three');
    expect(train.stats).toEqual({ mean: [0.1307], std: [0.3081] });
    const { image, label } = train.get(12);
    expect(label).toBe(2);
    expect([image.height, image.width, image.channels]).toEqual([28, 28, 1]);
    expect(image.data[5 * 28 + 9]).toBe((12 * 31 + 5 * 7 + 9) % 256);
    expect(train.files[0].endsWith('train-images-idx3-ubyte.gz')).toBe(true);
  });

  it('reads plain (uncompressed) files, the dotted names, and torchvision roots', async () => {
    writeSplit(join(root, 'plain'), 'train', 4, { gzip: false });
    writeSplit(join(root, 'dotted'), 'train', 5, { dotted: true, gzip: false });
    writeSplit(join(root, 'tv', 'MNIST', 'raw'), 'train', 6);
    writeSplit(join(root, 'tvf', 'FashionMNIST', 'raw'), 't10k', 3);
    expect((await MNIST.load(join(root, 'plain'))).length).toBe(4);
    expect((await MNIST.load(join(root, 'dotted'))).length).toBe(5);
    expect((await MNIST.load(join(root, 'tv'))).length).toBe(6);
    const f = await FashionMNIST.load(join(root, 'tvf'), { train: false });
    expect(f).toBeInstanceOf(FashionMNIST);
    expect(f.classes[0]).toBe('T-shirt/top');
  });

  it('fromFiles reads two explicit files', async () => {
    const images = put(join(root, 'explicit', 'a.idx'), idx([2, 3, 4], idxImages(2, 3, 4)));
    const labels = put(join(root, 'explicit', 'b.idx.gz'), idx([2], Uint8Array.of(7, 1), { gzip: true }));
    const ds = await MNIST.fromFiles(images, labels);
    expect(ds.imageShape).toEqual([3, 4, 1]);
    expect(Array.from(ds.labels)).toEqual([7, 1]);
  });

  it('withTransform shares the buffer and keeps the class', async () => {
    writeSplit(join(root, 'wt'), 'train', 3);
    const ds = await FashionMNIST.load(join(root, 'wt'));
    const t = ds.withTransform({ name: 'zero', apply: (img) => ({ ...img, data: new Uint8Array(img.data.length) }) });
    expect(t).toBeInstanceOf(FashionMNIST);
    expect(t.images).toBe(ds.images);
    expect(t.get(1).image.data.every((v) => v === 0)).toBe(true);
    expect(ds.get(1).image.data.some((v) => v !== 0)).toBe(true);
    expect(() => ds.get(3)).toThrow(/index 3 is out of range \[0, 3\)/);
  });
});

describe('bad IDX input names the file and the fault', () => {
  it('reports the first bad file in order, not whichever fault was found first', async () => {
    // Both lookups fail; the labels one fails first in time, and the images one is still the error.
    const later = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('images')), 30));
    const sooner = Promise.reject(new Error('labels'));
    await expect(allInOrder<[string, string]>([later, sooner])).rejects.toThrow('images');
    await expect(allInOrder<[number, string]>([Promise.resolve(1), Promise.resolve('a')])).resolves.toEqual([1, 'a']);
  });

  it('missing files', async () => {
    await expectFault(
      MNIST.load(join(root, 'nothing-here')),
      'nothing-here',
      /no train-images-idx3-ubyte\[\.gz\] here/,
    );
  });

  it('Fashion-MNIST files missing: the error says which Debian package has them', async () => {
    const err = (await MNIST.load(join(root, 'none')).catch((e) => e)) as Error;
    expect(err.message).not.toMatch(/apt-get/);
    await expectFault(FashionMNIST.load(join(root, 'none')), 'none', /apt-get install dataset-fashion-mnist/);
  });

  it('a wrong magic number (labels where images belong, or not IDX at all)', async () => {
    const dir = join(root, 'magic');
    put(join(dir, 'train-images-idx3-ubyte'), idx([3], Uint8Array.of(1, 2, 3)));
    put(join(dir, 'train-labels-idx1-ubyte'), idx([3], Uint8Array.of(1, 2, 3)));
    await expectFault(
      MNIST.load(dir),
      'train-images-idx3-ubyte',
      /wrong magic number 0x00000801 \(an IDX file of ubyte values with 1 dimension\): expected 0x00000803/,
    );
    put(join(dir, 'x'), new TextEncoder().encode('<html>not found</html>'));
    expect(() => parseIdx(new TextEncoder().encode('<html>not found</html>'), 'x', 1)).toThrow(
      /x: wrong magic number 0x3c68746d \(not an IDX file\)/,
    );
  });

  it('a truncated file: plain, and gzip cut short', async () => {
    const dir = join(root, 'trunc');
    const full = idx([10, 28, 28], idxImages(10, 28, 28));
    put(join(dir, 'train-images-idx3-ubyte'), full.subarray(0, full.length - 100));
    put(join(dir, 'train-labels-idx1-ubyte'), idx([10], new Uint8Array(10)));
    await expectFault(
      MNIST.load(dir),
      'train-images-idx3-ubyte',
      /truncated: its header promises 10x28x28 = 7840 values but only 7740 follow/,
    );
    const dir2 = join(root, 'trunc-gz');
    const gz = idx([10, 28, 28], idxImages(10, 28, 28), { gzip: true });
    put(join(dir2, 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 40));
    put(join(dir2, 'train-labels-idx1-ubyte.gz'), idx([10], new Uint8Array(10), { gzip: true }));
    await expectFault(MNIST.load(dir2), 'train-images-idx3-ubyte.gz', /truncated gzip stream/);
    expect(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), 'h', 3)).toThrow(
      /h: truncated: 6 bytes, shorter than its 16-byte header/,
    );
  });

  it('bytes beyond the declared data', async () => {
    const bytes = new Uint8Array([...idx([2], Uint8Array.of(1, 2)), 9, 9]);
    expect(() => parseIdx(bytes, 'labels', 1)).toThrow(/labels: 2 bytes beyond the 2 = 2 values its header declares/);
  });

  it('image and label counts that differ', async () => {
    const dir = join(root, 'count');
    put(join(dir, 'train-images-idx3-ubyte.gz'), idx([5, 28, 28], idxImages(5, 28, 28), { gzip: true }));
    put(join(dir, 'train-labels-idx1-ubyte.gz'), idx([4], new Uint8Array(4), { gzip: true }));
    await expectFault(
      MNIST.load(dir),
      'train-labels-idx1-ubyte.gz',
      /holds 4 labels but .*train-images-idx3-ubyte.gz holds 5 images/,
    );
  });

  it('a label outside the classes', async () => {
    const dir = join(root, 'label');
    put(join(dir, 'train-images-idx3-ubyte.gz'), idx([3, 28, 28], idxImages(3, 28, 28), { gzip: true }));
    put(join(dir, 'train-labels-idx1-ubyte.gz'), idx([3], Uint8Array.of(1, 12, 3), { gzip: true }));
    await expectFault(MNIST.load(dir), 'train-labels-idx1-ubyte.gz', /label 12 at index 1 is outside 0..9/);
  });
});
