// CIFAR-10 and CIFAR-100 binary files written by the test in the real record layout.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CIFAR10, CIFAR100, DatasetError } from '../src/index';
import { cifarRecords, cifarValue, put, tempDir } from './helpers';

const root = tempDir('cifar');

/** Writes cifar-10-batches-bin/ under dir: data_batch_k with sizes[k-1] records, test_batch with 4. */
function writeCifar10(dir: string, sizes = [3, 2, 4, 1, 2], meta = true) {
  const bin = join(dir, 'cifar-10-batches-bin');
  let offset = 0;
  sizes.forEach((n, k) => {
    const labels = Array.from({ length: n }, (_, i) => [(offset + i) % 10]);
    put(join(bin, `data_batch_${k + 1}.bin`), cifarRecords(labels, 1, offset));
    offset += n;
  });
  put(join(bin, 'test_batch.bin'), cifarRecords([[9], [0], [5], [5]], 1, 1000));
  if (meta) put(join(bin, 'batches.meta.txt'), 'plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return bin;
}

describe('CIFAR10.load', () => {
  it('reads the five training batches in order, converting planar RGB to HWC', async () => {
    writeCifar10(join(root, 'c10'));
    const train = await CIFAR10.load(join(root, 'c10'));
    expect(train.length).toBe(12);
    expect(train.imageShape).toEqual([32, 32, 3]);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(train.classes[0]).toBe('plane'); // from batches.meta.txt
    expect(train.stats.mean).toEqual([0.4914, 0.4822, 0.4465]);
    for (const k of [0, 5, 11]) {
      const img = train.raw(k).data;
      for (const [y, x] of [
        [0, 0],
        [7, 19],
        [31, 31],
      ]) {
        for (let c = 0; c < 3; c++) expect(img[(y * 32 + x) * 3 + c]).toBe(cifarValue(k, c, y * 32 + x));
      }
    }
  });

  it('reads the test batch, from the batches folder itself, with default class names', async () => {
    const bin = writeCifar10(join(root, 'c10b'), [1, 1, 1, 1, 1], false);
    const test = await CIFAR10.load(bin, { train: false });
    expect(Array.from(test.labels)).toEqual([9, 0, 5, 5]);
    expect(test.classes).toEqual(CIFAR10.CLASSES);
    expect(test.raw(2).data[3 * 40 + 1]).toBe(cifarValue(1002, 1, 40));
  });

  it('a missing batch, a truncated file, an empty file and a bad label name the file', async () => {
    const dir = join(root, 'bad');
    const bin = writeCifar10(dir);
    const { rmSync, writeFileSync, readFileSync } = await import('node:fs');
    rmSync(join(bin, 'data_batch_3.bin'));
    await expect(CIFAR10.load(dir)).rejects.toThrow(
      /data_batch_3\.bin: is missing: the training set is data_batch_1\.bin to data_batch_5\.bin/,
    );

    const full = readFileSync(join(bin, 'test_batch.bin'));
    writeFileSync(join(bin, 'test_batch.bin'), full.subarray(0, 3073 * 2 + 100));
    const err = await CIFAR10.load(dir, { train: false }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.file).toBe(join(bin, 'test_batch.bin'));
    expect(err.reason).toMatch(
      /truncated or not a CIFAR binary file: 6246 bytes is not a whole number of 3073-byte records \(2 records and 100 bytes left over\)/,
    );

    writeFileSync(join(bin, 'test_batch.bin'), new Uint8Array(0));
    await expect(CIFAR10.load(dir, { train: false })).rejects.toThrow(/test_batch\.bin: is empty/);

    writeFileSync(join(bin, 'test_batch.bin'), cifarRecords([[1], [10]], 1));
    await expect(CIFAR10.load(dir, { train: false })).rejects.toThrow(
      /test_batch\.bin: record 1 has class label 10, outside 0\.\.9/,
    );

    await expect(CIFAR10.load(join(root, 'nowhere'))).rejects.toThrow(
      /nowhere: no data_batch_1\.bin here nor in cifar-10-batches-bin\//,
    );
  });

  it('a class-name file with the wrong count', async () => {
    const bin = writeCifar10(join(root, 'meta'));
    put(join(bin, 'batches.meta.txt'), 'a\nb\n');
    await expect(CIFAR10.load(bin)).rejects.toThrow(/batches\.meta\.txt: lists 2 class names where 10 were expected/);
  });
});

describe('CIFAR100.load', () => {
  const dir = join(root, 'c100');
  put(
    join(dir, 'cifar-100-binary', 'train.bin'),
    cifarRecords(
      [
        [3, 42],
        [19, 99],
        [0, 0],
      ],
      2,
    ),
  );
  put(join(dir, 'cifar-100-binary', 'test.bin'), cifarRecords([[7, 55]], 2, 500));

  it('reads fine labels by default, coarse on request, and both label sets', async () => {
    const fine = await CIFAR100.load(dir);
    expect(fine.length).toBe(3);
    expect(Array.from(fine.labels)).toEqual([42, 99, 0]);
    expect(fine.classes.length).toBe(100);
    expect(fine.classes[99]).toBe('worm');
    expect(Array.from(fine.coarseLabels)).toEqual([3, 19, 0]);
    const coarse = await CIFAR100.load(join(dir, 'cifar-100-binary'), { labelType: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([3, 19, 0]);
    expect(coarse.classes.length).toBe(20);
    expect(coarse.classes[19]).toBe('vehicles_2');
    expect(coarse.get(1).label).toBe(19);
    const test = await CIFAR100.load(dir, { train: false });
    expect(test.get(0).label).toBe(55);
    expect(test.raw(0).data[(5 * 32 + 6) * 3 + 2]).toBe(cifarValue(500, 2, 5 * 32 + 6));
    expect(CIFAR100.FINE_CLASSES.length).toBe(100);
    expect(CIFAR100.COARSE_CLASSES.length).toBe(20);
  });

  it('a label out of range, or a CIFAR-10 file read as CIFAR-100, names the file', async () => {
    const bad = join(root, 'c100bad');
    put(join(bad, 'train.bin'), cifarRecords([[20, 1]], 2));
    await expect(CIFAR100.load(bad)).rejects.toThrow(/train\.bin: record 0 has coarse label 20, outside 0\.\.19/);
    put(join(bad, 'train.bin'), cifarRecords([[1], [2]], 1));
    await expect(CIFAR100.load(bad)).rejects.toThrow(
      /train\.bin: truncated or not a CIFAR binary file: 6146 bytes is not a whole number of 3074-byte records/,
    );
  });
});
