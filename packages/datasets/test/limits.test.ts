// The readers' resource limits against the hostile files of issue 19, all written by this test: a
// 249 kB PNG that decodes to 768 MB, a gzip IDX that inflates to 784 MB, /dev/zero and a FIFO,
// file-list paths that climb out of the root, and transform sizes out of range. Each hostile case
// must end in the package's named error (class and key words checked) well inside its cap; the
// time each took is printed.
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CenterCrop,
  CIFAR10,
  DatasetError,
  DatasetUsageError,
  DEFAULT_MAX_IDX_BYTES,
  DEFAULT_MAX_PIXELS,
  FashionMNIST,
  ImageFolder,
  MAX_SIDE,
  MNIST,
  RandomCrop,
  RandomResizedCrop,
  Resize,
  Rng,
  cropPad,
  decodeImage,
  loadImage,
  readIdx,
  resizeRegion,
  stopDecodeWorkers,
  transformFromSpec,
} from '../src/index';
import { imageHeaderSize } from '../src/image-header';
import { cifarRecords, idx, idxImages, palettePng, put, tempDir } from './helpers';

/** Every hostile case gets this long at most (it takes milliseconds): a hang fails the test instead of the run. */
const CAP = 20_000;

const root = tempDir('limits');

/** Runs a hostile case, prints how long it took, and returns what it threw (null if it did not throw). */
async function hostile(label: string, run: () => unknown): Promise<unknown> {
  const t0 = performance.now();
  try {
    await run();
    return null;
  } catch (err) {
    return err;
  } finally {
    console.log(`[limits] ${label}: ${(performance.now() - t0).toFixed(1)} ms`);
  }
}

/** Checks a DatasetError: the file it names ends with `file`, the reason matches every pattern, and the message holds both. */
function expectDatasetError(err: unknown, file: string, ...reason: RegExp[]): DatasetError {
  expect(err).toBeInstanceOf(DatasetError);
  const e = err as DatasetError;
  expect(e.name).toBe('DatasetError');
  expect(e.file.endsWith(file), `file ${e.file} should end with ${file}`).toBe(true);
  for (const r of reason) expect(e.reason).toMatch(r);
  expect(e.message).toBe(`${e.file}: ${e.reason}`);
  return e;
}

/** Checks a DatasetUsageError: the call it names and the reason. */
function expectUsageError(err: unknown, op: string, ...reason: RegExp[]): DatasetUsageError {
  expect(err).toBeInstanceOf(DatasetUsageError);
  const e = err as DatasetUsageError;
  expect(e.name).toBe('DatasetUsageError');
  expect(e.op).toBe(op);
  for (const r of reason) expect(e.reason).toMatch(r);
  expect(e.message).toBe(`${op}: ${e.reason}`);
  return e;
}

afterAll(() => stopDecodeWorkers());

describe('the decoded-pixel budget', () => {
  const bombDir = join(root, 'bomb');
  const bombFile = join(bombDir, 'big', 'bomb.png');
  let bomb: Buffer;
  let mid: Buffer; // 3000 x 2500 = 7,500,000 pixels, valid, 7 kB

  beforeAll(async () => {
    bomb = palettePng(16000, 16000);
    mid = palettePng(3000, 2500, [10, 200, 90]);
    put(bombFile, bomb);
    put(join(bombDir, 'big', 'mid.png'), mid);
    put(
      join(bombDir, 'small', 'ok.png'),
      await sharp(Buffer.alloc(4 * 3 * 3, 77), { raw: { width: 4, height: 3, channels: 3 } })
        .png()
        .toBuffer(),
    );
  });

  it('the test PNGs are real: the builder’s images decode exactly, and the bomb announces 16000x16000 in 249 kB', async () => {
    const small = await sharp(palettePng(300, 200, [200, 30, 60]), { failOn: 'error' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(small.info).toMatchObject({ width: 300, height: 200, channels: 3 });
    expect(small.data.every((v, i) => v === [200, 30, 60][i % 3])).toBe(true);
    const m = await decodeImage(mid, 'mid.png');
    expect([m.width, m.height, m.channels]).toEqual([3000, 2500, 3]);
    expect(m.data.every((v, i) => v === [10, 200, 90][i % 3])).toBe(true);
    expect(bomb.length).toBeLessThan(260_000);
    const meta = await sharp(bomb).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 16000, 16000]);
    expect(DEFAULT_MAX_PIXELS).toBe(2 ** 26);
  });

  it('decodeImage and loadImage refuse the 249 kB PNG of 16000x16000 from its header, naming the file and both sizes', {
    timeout: CAP,
  }, async () => {
    for (const [label, run] of [
      ['decodeImage(bomb)', () => decodeImage(bomb, 'bomb.png')],
      ['decodeImage(bomb, grey)', () => decodeImage(bomb, 'bomb.png', 1)],
      ['loadImage(bomb)', () => loadImage(bombFile)],
    ] as const) {
      const e = expectDatasetError(
        await hostile(label, run),
        'bomb.png',
        /16000x16000 = 256,000,000 pixels/,
        /budget of 67,108,864 pixels/,
        /before decoding/,
        /maxPixels/,
      );
      expect(e.cause).toBeUndefined(); // refused by the check, not a wrapped failure of the decoder
    }
  });

  it('ImageFolder refuses it in get, on the calling thread and in a worker, and skipInvalid skips it', {
    timeout: CAP,
  }, async () => {
    for (const workers of [0, 1]) {
      const ds = await ImageFolder.load(bombDir, { workers });
      const i = ds.samples.findIndex((s) => s.path === bombFile);
      expectDatasetError(
        await hostile(`ImageFolder.get(bomb), workers ${workers}`, () => ds.get(i, new Rng(0))),
        'bomb.png',
        /16000x16000 = 256,000,000 pixels/,
        /67,108,864/,
      );
      expect((await ds.get(ds.samples.findIndex((s) => s.path.endsWith('mid.png')))).image.height).toBe(2500);
    }
    for (const verify of ['header', 'decode'] as const) {
      let skipped: readonly { file: string; reason: string }[] = [];
      const err = await hostile(`ImageFolder.load(skipInvalid, verify ${verify})`, async () => {
        const ds = await ImageFolder.load(bombDir, { skipInvalid: true, verify, onSkip: (s) => (skipped = s) });
        expect(ds.samples.map((s) => s.path.split(/[/\\]/).pop())).toEqual(['mid.png', 'ok.png']);
      });
      expect(err).toBeNull();
      expect(skipped).toHaveLength(1);
      expect(skipped[0].file).toBe(bombFile);
      expect(skipped[0].reason).toMatch(/16000x16000 = 256,000,000 pixels, over the decoding budget of 67,108,864/);
    }
  });

  it('maxPixels is configurable in decodeImage, loadImage and ImageFolder (workers or not)', {
    timeout: CAP,
  }, async () => {
    const under = { maxPixels: 7_000_000 };
    const why = [/3000x2500 = 7,500,000 pixels/, /budget of 7,000,000 pixels/];
    expectDatasetError(
      await hostile('decodeImage(mid, maxPixels 7e6)', () => decodeImage(mid, 'mid.png', 3, under)),
      'mid.png',
      ...why,
    );
    expectDatasetError(
      await hostile('loadImage(mid, maxPixels 7e6)', () => loadImage(join(bombDir, 'big', 'mid.png'), 3, under)),
      'mid.png',
      ...why,
    );
    expect((await decodeImage(mid, 'mid.png', 3, { maxPixels: 7_500_000 })).width).toBe(3000);
    for (const workers of [0, 1]) {
      const ds = await ImageFolder.load(bombDir, { workers, ...under });
      expect(ds.maxPixels).toBe(7_000_000);
      const i = ds.samples.findIndex((s) => s.path.endsWith('mid.png'));
      expectDatasetError(
        await hostile(`ImageFolder.get(mid, maxPixels 7e6), workers ${workers}`, () => ds.get(i)),
        'mid.png',
        ...why,
      );
      expect(ds.withTransform(null).maxPixels).toBe(7_000_000);
    }
    // Raised: the bomb's header passes the check (it is not decoded here: 768 MB).
    expect(() => imageHeaderSize(bomb)).not.toThrow();
  });

  it('a maxPixels or channels that is not allowed is a DatasetUsageError, before anything is read', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 60]) {
      expectUsageError(
        await hostile(`decodeImage(maxPixels ${bad})`, () => decodeImage(mid, 'mid.png', 3, { maxPixels: bad })),
        'decodeImage',
        /maxPixels must be a positive integer/,
      );
    }
    expectUsageError(
      await hostile('loadImage(maxPixels 0)', () => loadImage('/nonexistent.png', 3, { maxPixels: 0 })),
      'loadImage',
      /maxPixels must be a positive integer, got 0/,
    );
    expectUsageError(
      await hostile('ImageFolder.load(maxPixels -5)', () => ImageFolder.load('/nonexistent', { maxPixels: -5 })),
      'ImageFolder',
      /maxPixels must be a positive integer, got -5/,
    );
    expectUsageError(
      await hostile('decodeImage(channels 2)', () => decodeImage(mid, 'mid.png', 2 as 1)),
      'decodeImage',
      /channels must be 1 or 3, got 2/,
    );
    expectUsageError(
      await hostile('ImageFolder.load(channels 4)', () => ImageFolder.load('/nonexistent', { channels: 4 as 3 })),
      'ImageFolder',
      /channels must be 1 or 3, got 4/,
    );
  });

  it('truncated and mutated PNG and JPEG files decode or end in a DatasetError naming the file', {
    timeout: 60_000,
  }, async () => {
    const px = Buffer.from(Array.from({ length: 24 * 16 * 3 }, (_, i) => (i * 37) % 256));
    const raw = { raw: { width: 24, height: 16, channels: 3 as const } };
    const originals = {
      'p.png': await sharp(px, raw).png().toBuffer(),
      'j.jpg': await sharp(px, raw).jpeg().toBuffer(),
    };
    let n = 0;
    let refused = 0;
    const t0 = performance.now();
    for (const [name, good] of Object.entries(originals)) {
      const mutants: Buffer[] = [];
      for (const cut of [0, 1, 8, 16, 24, 33, 50, good.length >> 1, good.length - 12, good.length - 1])
        mutants.push(good.subarray(0, cut));
      for (let k = 0; k < 30; k++) {
        const m = Buffer.from(good);
        const at = (k * 7919 + 13) % Math.min(m.length, 400); // the headers and the first compressed bytes
        m[at] ^= 1 << (k % 8);
        if (k % 3 === 0) m.writeUInt32BE(0xffffffff, Math.min(at, m.length - 4)); // sizes and lengths blown up
        mutants.push(m);
      }
      for (const m of mutants) {
        n++;
        try {
          const img = await decodeImage(m, name);
          expect(img.data.length).toBe(img.width * img.height * 3);
        } catch (err) {
          refused++;
          expectDatasetError(err, name);
        }
      }
    }
    console.log(
      `[limits] ${n} image mutants: ${refused} refused by name, ${n - refused} decoded, ${(performance.now() - t0).toFixed(0)} ms`,
    );
    expect(refused).toBeGreaterThan(10);
  });

  it('reads the size of PNG, JPEG, GIF, WebP and BMP from their headers (how a browser checks the budget)', async () => {
    const px = Buffer.alloc(37 * 23 * 3, 99);
    const img = () => sharp(px, { raw: { width: 37, height: 23, channels: 3 } });
    for (const [format, bytes] of [
      ['png', await img().png().toBuffer()],
      ['jpeg', await img().jpeg().toBuffer()],
      ['jpeg', await img().jpeg({ progressive: true }).toBuffer()],
      ['gif', await img().gif().toBuffer()],
      ['webp', await img().webp().toBuffer()],
      ['webp', await img().webp({ lossless: true }).toBuffer()],
    ] as const) {
      expect(imageHeaderSize(bytes)).toEqual({ format, width: 37, height: 23 });
    }
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(30000, 18);
    bmp.writeInt32LE(-20000, 22); // top-down
    expect(imageHeaderSize(bmp)).toEqual({ format: 'bmp', width: 30000, height: 20000 });
    expect(imageHeaderSize(bomb)).toEqual({ format: 'png', width: 16000, height: 16000 });
    expect(imageHeaderSize(bomb.subarray(0, 20))).toBeNull();
    expect(imageHeaderSize(new TextEncoder().encode('<svg/>'))).toBeNull();
  });
});

describe('IDX size limits', () => {
  const dir = join(root, 'idx');

  it('a 0.8 MB gzip IDX that inflates to 784 MB stops as soon as it passes the size its header declares', {
    timeout: CAP,
  }, () => {
    // A header for 10 images of 28x28, then 784 gzip members of 1 MiB of zeros each (a valid
    // multi-member gzip file). The last member is cut short: an inflater that went to the end
    // would report a truncated stream; this one must stop long before and say why.
    const mib = gzipSync(Buffer.alloc(1 << 20));
    const first = idx([10, 28, 28], new Uint8Array(1 << 20), { gzip: true });
    const members = Buffer.concat([first, ...new Array<Buffer>(783).fill(mib)]);
    const file = put(join(dir, 'bomb', 'train-images-idx3-ubyte.gz'), members.subarray(0, members.length - 10));
    put(join(dir, 'bomb', 'train-labels-idx1-ubyte.gz'), idx([10], new Uint8Array(10), { gzip: true }));
    expect(members.length).toBeLessThan(1_000_000);
    return (async () => {
      expectDatasetError(
        await hostile('readIdx(784 MB gzip bomb)', () => readIdx(file, 3)),
        'train-images-idx3-ubyte.gz',
        /inflates past the 10x28x28 = 7,840 values its header declares/,
      );
      expectDatasetError(
        await hostile('MNIST.load(784 MB gzip bomb)', () => MNIST.load(join(dir, 'bomb'))),
        'train-images-idx3-ubyte.gz',
        /inflates past/,
      );
    })();
  });

  it('a header that declares more than maxBytes is refused from the header, gzipped or plain', {
    timeout: CAP,
  }, async () => {
    const gz = put(
      join(dir, 'huge', 'train-images-idx3-ubyte.gz'),
      idx([1_000_000, 28, 28], new Uint8Array(1024), { gzip: true }),
    );
    const plain = put(join(dir, 'huge-plain', 'images'), idx([1_000_000, 28, 28], new Uint8Array(1024)));
    const why = [
      /its header declares 1000000x28x28 = 784,000,000 values, over the limit/,
      /at most 268,435,456 bytes/,
      /maxBytes/,
    ];
    expectDatasetError(
      await hostile('readIdx(header of 784 MB, gzip)', () => readIdx(gz, 3)),
      'train-images-idx3-ubyte.gz',
      ...why,
    );
    expectDatasetError(await hostile('readIdx(header of 784 MB, plain)', () => readIdx(plain, 3)), 'images', ...why);
    expect(DEFAULT_MAX_IDX_BYTES).toBe(2 ** 28);
  });

  it('a gzip header that declares more than its compressed bytes can hold is refused before allocating', {
    timeout: CAP,
  }, async () => {
    const file = put(join(dir, 'short', 'x.gz'), idx([200_000, 28, 28], new Uint8Array(1024), { gzip: true }));
    expectDatasetError(
      await hostile('readIdx(156.8 MB declared in 1 kB of gzip)', () => readIdx(file, 3)),
      'x.gz',
      /truncated: its header declares 200000x28x28 = 156,800,000 values, but \d+ bytes of gzip data inflate to at most/,
      /1032-fold/,
    );
  });

  it('maxBytes is configurable: lowered, a real split is refused (plain files from their size, before reading)', {
    timeout: CAP,
  }, async () => {
    const split = join(dir, 'split');
    put(join(split, 'train-images-idx3-ubyte.gz'), idx([25, 28, 28], idxImages(25, 28, 28), { gzip: true }));
    put(join(split, 'train-labels-idx1-ubyte.gz'), idx([25], new Uint8Array(25), { gzip: true }));
    expect((await MNIST.load(split)).length).toBe(25);
    expectDatasetError(
      await hostile('MNIST.load(maxBytes 10000)', () => MNIST.load(split, { maxBytes: 10_000 })),
      'train-images-idx3-ubyte.gz',
      /25x28x28 = 19,600 values, over the limit/,
      /at most 10,000 bytes/,
    );
    expect((await MNIST.load(split, { maxBytes: 19_600 })).length).toBe(25);
    const plain = put(join(dir, 'plain-big', 'train-images-idx3-ubyte'), idx([25, 28, 28], idxImages(25, 28, 28)));
    expectDatasetError(
      await hostile('readIdx(plain, maxBytes 1000)', () => readIdx(plain, 3, { maxBytes: 1000 })),
      'train-images-idx3-ubyte',
      /is 19,616 bytes, over the limit of 2,\d{3} bytes/,
      /at most 1,000 bytes of values/,
    );
    for (const bad of [0, -3, 0.5, Number.NaN]) {
      expectUsageError(
        await hostile(`readIdx(maxBytes ${bad})`, () => readIdx(plain, 3, { maxBytes: bad })),
        'readIdx',
        /maxBytes must be a positive integer/,
      );
    }
  });
});

describe('only regular files are read', () => {
  const dir = join(root, 'special');
  const fifo = join(dir, 'fifo');

  beforeAll(() => {
    put(join(dir, 'keep'), '');
    execFileSync('mkfifo', [fifo]);
  });

  it('/dev/zero and a FIFO are refused by name as IDX, CIFAR, image and file-list files', {
    timeout: CAP,
  }, async () => {
    const cases: [string, () => Promise<unknown>, string, RegExp][] = [
      ['readIdx(/dev/zero)', () => readIdx('/dev/zero', 3), '/dev/zero', /is a character device, not a regular file/],
      ['readIdx(FIFO)', () => readIdx(fifo, 1), 'fifo', /is a FIFO \(named pipe\), not a regular file/],
      ['loadImage(/dev/zero)', () => loadImage('/dev/zero'), '/dev/zero', /character device/],
      ['loadImage(FIFO)', () => loadImage(fifo), 'fifo', /FIFO/],
      ['ImageFolder.load(files: FIFO)', () => ImageFolder.load(dir, { files: fifo, classes: ['x'] }), 'fifo', /FIFO/],
      [
        'FashionMNIST.fromFiles(/dev/zero)',
        () => FashionMNIST.fromFiles('/dev/zero', fifo),
        '/dev/zero',
        /character device/,
      ],
    ];
    for (const [label, run, file, why] of cases)
      expectDatasetError(await hostile(label, run), file, why, /only regular files are read/);
  });

  it('MNIST and CIFAR folders whose files are a link to /dev/zero or a FIFO', { timeout: CAP }, async () => {
    const mn = join(dir, 'mnist');
    put(join(mn, 'train-labels-idx1-ubyte'), idx([2], Uint8Array.of(1, 2)));
    symlinkSync('/dev/zero', join(mn, 'train-images-idx3-ubyte'));
    expectDatasetError(
      await hostile('MNIST.load(images -> /dev/zero)', () => MNIST.load(mn)),
      'train-images-idx3-ubyte',
      /is a character device/,
    );
    const cf = join(dir, 'cifar', 'cifar-10-batches-bin');
    for (const k of [2, 3, 4, 5]) put(join(cf, `data_batch_${k}.bin`), cifarRecords([[1]], 1));
    execFileSync('mkfifo', [join(cf, 'data_batch_1.bin')]);
    expectDatasetError(
      await hostile('CIFAR10.load(batch 1 a FIFO)', () => CIFAR10.load(join(dir, 'cifar'))),
      'data_batch_1.bin',
      /is a FIFO/,
    );
  });

  it('an image folder listing a FIFO: get refuses it (workers or not), skipInvalid skips it', {
    timeout: CAP,
  }, async () => {
    const folder = join(dir, 'folder');
    put(
      join(folder, 'cat', 'a.png'),
      await sharp(Buffer.alloc(12, 5), { raw: { width: 2, height: 2, channels: 3 } })
        .png()
        .toBuffer(),
    );
    execFileSync('mkfifo', [join(folder, 'cat', 'b.png')]);
    symlinkSync('/dev/zero', join(folder, 'cat', 'c.png'));
    // A folder scan lists regular files only; a file list names them explicitly.
    expect((await ImageFolder.load(folder)).length).toBe(1);
    for (const workers of [0, 1]) {
      const ds = await ImageFolder.load(folder, { files: ['cat/a.png', 'cat/b.png', 'cat/c.png'], workers });
      expectDatasetError(
        await hostile(`ImageFolder.get(FIFO), workers ${workers}`, () => ds.get(1)),
        'b.png',
        /is a FIFO/,
      );
      expectDatasetError(
        await hostile(`ImageFolder.get(-> /dev/zero), workers ${workers}`, () => ds.get(2)),
        'c.png',
        /is a character device/,
      );
    }
    let skipped: readonly { file: string; reason: string }[] = [];
    const ds = await ImageFolder.load(folder, {
      files: ['cat/a.png', 'cat/b.png', 'cat/c.png'],
      skipInvalid: true,
      onSkip: (s) => (skipped = s),
    });
    expect(ds.length).toBe(1);
    expect(skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/FIFO/),
      expect.stringMatching(/character device/),
    ]);
  });
});

describe('ImageFolder paths stay inside the root', () => {
  const base = join(root, 'paths');
  const folder = join(base, 'data', 'root');

  beforeAll(async () => {
    const png = await sharp(Buffer.alloc(12, 9), { raw: { width: 2, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    put(join(folder, 'cat', 'a.png'), png);
    put(join(folder, 'dog', 'b.png'), png);
    put(join(base, 'secret', 'x.jpg'), png); // outside the root: must never be listed
    put(join(folder, 'list.txt'), '# a list\ncat/a.png\ncat/../../../secret/x.jpg\n');
  });

  it('a file-list line that climbs out, is absolute or holds a NUL is refused by line, even under skipInvalid', {
    timeout: CAP,
  }, async () => {
    expectDatasetError(
      await hostile('ImageFolder.load(list.txt with ../../..)', () =>
        ImageFolder.load(folder, { files: join(folder, 'list.txt') }),
      ),
      'list.txt',
      /^line 3: 'cat\/\.\.\/\.\.\/\.\.\/secret\/x\.jpg' leads outside the root/,
      /must stay inside the root/,
    );
    const lines: [string, RegExp][] = [
      ['cat/../../../secret/x.jpg', /leads outside the root/],
      ['../../secret/x.jpg 0', /leads outside the root/],
      ['cat/../../root/cat/a.png', /leads outside the root/], // out and back in: still refused
      ['%2e%2e/%2E%2e/secret/x.jpg 1', /leads outside the root/],
      ['cat\\..\\..\\..\\secret\\x.jpg 0', /leads outside the root/],
      ['/etc/passwd 0', /is an absolute path/],
      ['C:\\Windows\\win.ini 0', /is an absolute path/],
      ['http://example.com/x.jpg 0', /is an absolute path/],
      ['cat/a.png\0.txt 0', /holds a NUL character/],
    ];
    for (const [line, why] of lines) {
      for (const skipInvalid of [false, true]) {
        const err = await hostile(`ImageFolder.load(files: ${JSON.stringify(line)}, skipInvalid ${skipInvalid})`, () =>
          ImageFolder.load(folder, { files: ['cat/a.png', line], skipInvalid, onSkip: () => undefined }),
        );
        expectDatasetError(err, 'the file list', /^line 2: /, why);
      }
    }
    // Inside the root, even through '..', is fine.
    const ok = await ImageFolder.load(folder, { files: ['cat/a.png', 'cat/../dog/b.png 1', './dog/b.png 1'] });
    expect(ok.labels).toEqual(Int32Array.of(0, 1, 1));
    expect((await ok.get(1)).image.height).toBe(2);
  });

  it("a class name that is not a folder inside the root ('../../secret') is a DatasetUsageError naming it", {
    timeout: CAP,
  }, async () => {
    for (const [classes, why] of [
      [['cat', '../../secret'], /class '\.\.\/\.\.\/secret' \(classes\[1\]\) leads outside the root/],
      [['/etc'], /class '\/etc' \(classes\[0\]\) is an absolute path/],
      [['cat', 'a\0b'], /holds a NUL character/],
      [['cat', ''], /classes\[1\] must be a non-empty string/],
    ] as const) {
      expectUsageError(
        await hostile(`ImageFolder.load(classes ${JSON.stringify(classes)})`, () =>
          ImageFolder.load(folder, { classes }),
        ),
        'ImageFolder',
        why,
      );
      expectUsageError(
        await hostile(`ImageFolder.load(classes ${JSON.stringify(classes)}, files)`, () =>
          ImageFolder.load(folder, { classes, files: ['x.png 0'] }),
        ),
        'ImageFolder',
        why,
      );
    }
    expectUsageError(
      await hostile('ImageFolder.load(classes repeat)', () => ImageFolder.load(folder, { classes: ['cat', 'cat'] })),
      'ImageFolder',
      /class names repeat/,
    );
  });
});

describe('transform sizes are bounded', () => {
  it('new Resize(1e6) and every other size or padding out of range is a DatasetUsageError at construction', () => {
    const cases: [string, () => unknown, string, RegExp][] = [
      [
        'Resize(1e6)',
        () => new Resize(1e6),
        'Resize',
        /size must be an integer from 1 to 16384, or \[height, width\] of two, got 1000000/,
      ],
      [
        'Resize(16384)',
        () => new Resize(16384),
        'Resize',
        /an output of 16384x16384 = 268,435,456 pixels is over the 67,108,864 a transform may produce/,
      ],
      ['Resize([0, 5])', () => new Resize([0, 5]), 'Resize', /size must be/],
      ['Resize(NaN)', () => new Resize(Number.NaN), 'Resize', /got NaN/],
      ['Resize([1, 2, 3])', () => new Resize([1, 2, 3] as unknown as [number, number]), 'Resize', /got \[1, 2, 3\]/],
      ['CenterCrop(2.5)', () => new CenterCrop(2.5), 'CenterCrop', /size must be/],
      ['CenterCrop([16385, 1])', () => new CenterCrop([16385, 1]), 'CenterCrop', /size must be/],
      [
        'RandomCrop(32, padding 1e9)',
        () => new RandomCrop(32, { padding: 1e9 }),
        'RandomCrop',
        /padding must be non-negative integers up to 16384/,
      ],
      [
        'RandomCrop(32, padding [1, 2, 3])',
        () => new RandomCrop(32, { padding: [1, 2, 3] as unknown as [number, number] }),
        'RandomCrop',
        /padding/,
      ],
      ['RandomCrop(32, padding -1)', () => new RandomCrop(32, { padding: -1 }), 'RandomCrop', /padding/],
      ['RandomResizedCrop([1e5, 1])', () => new RandomResizedCrop([1e5, 1]), 'RandomResizedCrop', /size must be/],
      [
        'RandomResizedCrop(scale [1, 0])',
        () => new RandomResizedCrop(8, { scale: [1, 0] }),
        'RandomResizedCrop',
        /scale must be an ordered pair/,
      ],
      [
        'transformFromSpec(Resize 1e6)',
        () => transformFromSpec({ type: 'Resize', args: [1e6] }),
        'Resize',
        /size must be/,
      ],
      [
        'transformFromSpec(unknown)',
        () => transformFromSpec({ type: 'Nope', args: [] }),
        'transformFromSpec',
        /'Nope' is not a built-in transform/,
      ],
    ];
    for (const [label, run, op, why] of cases) {
      let err: unknown = null;
      const t0 = performance.now();
      try {
        run();
      } catch (e) {
        err = e;
      }
      console.log(`[limits] ${label}: ${(performance.now() - t0).toFixed(2)} ms`);
      expectUsageError(err, op, why);
    }
    // The largest sizes allowed.
    expect(new Resize([MAX_SIDE, 4096]).name).toBe('Resize(16384x4096)');
    expect(new Resize(8192).name).toBe('Resize(8192)');
    expect(new RandomCrop(32, { padding: MAX_SIDE }).name).toContain('padding=16384');
  });

  it('a Resize whose result would be too large for this image refuses before allocating, on the calling thread and in a worker', {
    timeout: CAP,
  }, async () => {
    const thin = { data: new Uint8Array(2 * 300 * 3), height: 2, width: 300, channels: 3 };
    expectUsageError(
      await hostile('Resize(8192) of 2x300', () => new Resize(8192).apply(thin, new Rng(0))),
      'Resize',
      /resizing a 2x300 image: an output of 8192x1228800 = 10,066,329,600 pixels is over the 67,108,864/,
    );
    expectUsageError(
      await hostile('resizeRegion to 1e5 x 1e5', () => resizeRegion(thin, 0, 0, 2, 300, 100_000, 100_000)),
      'resize',
      /100000x100000/,
    );
    expectUsageError(
      await hostile('cropPad 1e5 x 1e5', () => cropPad(thin, 0, 0, 100_000, 100_000)),
      'crop',
      /100000x100000/,
    );
    const folder = join(root, 'thin');
    put(
      join(folder, 'a', 'thin.png'),
      await sharp(Buffer.alloc(2 * 300 * 3, 40), { raw: { width: 300, height: 2, channels: 3 } })
        .png()
        .toBuffer(),
    );
    for (const workers of [0, 1]) {
      const ds = await ImageFolder.load(folder, { transform: new Resize(8192), workers });
      expectUsageError(
        await hostile(`ImageFolder.get(Resize(8192) of 2x300), workers ${workers}`, () => ds.get(0, new Rng(0))),
        'Resize',
        /resizing a 2x300 image/,
      );
    }
  });
});
