// Image folders of real JPEG and PNG files written by the test with sharp: discovery order,
// decoding, file lists, and every bad input (unknown class folder, undecodable or truncated image).
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Compose,
  DatasetError,
  IMAGENET_STATS,
  ImageFolder,
  RandomResizedCrop,
  Rng,
  computeStats,
  decodeImage,
  loadImage,
  type SkippedFile,
} from '../src/index';
import { put, tempDir } from './helpers';

const root = tempDir('folder');
const tree = join(root, 'tree');

/** w x h RGB pixels: (x * 20 + k * 60 + seed) mod 256, y added to green. */
function pixels(w: number, h: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < 3; k++) b[(y * w + x) * 3 + k] = (x * 20 + k * 60 + seed + (k === 1 ? y : 0)) % 256;
  return b;
}
const png = (w: number, h: number, seed: number) =>
  sharp(pixels(w, h, seed), { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
const jpeg = (w: number, h: number, seed: number) =>
  sharp(pixels(w, h, seed), { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();

beforeAll(async () => {
  // Classes 'B', 'Z', 'a', 'é' (code point order: uppercase before lowercase before accented).
  put(join(tree, 'a', '2.png'), await png(4, 3, 2));
  put(join(tree, 'a', '10.png'), await png(4, 3, 10));
  put(join(tree, 'a', 'sub', '1.jpg'), await jpeg(16, 16, 1));
  put(join(tree, 'a', 'sub dir', '0.JPG'), await jpeg(16, 16, 0));
  put(join(tree, 'a', 'notes.txt'), 'not an image');
  put(join(tree, 'B', 'x.jpeg'), await jpeg(20, 10, 5));
  put(join(tree, 'Z', 'y.png'), await png(5, 5, 7));
  put(join(tree, 'é', 'z.png'), await png(2, 2, 9));
});

describe('ImageFolder discovery', () => {
  it("sorts classes and files the way torchvision's ImageFolder does", async () => {
    const ds = await ImageFolder.load(tree);
    expect(ds.classes).toEqual(['B', 'Z', 'a', 'é']);
    expect(ds.classToIndex).toEqual({ B: 0, Z: 1, a: 2, é: 3 });
    const rel = ds.samples.map((s) => [s.path.slice(tree.length + 1), s.label]);
    // sorted(os.walk): 'a' < 'a/sub' < 'a/sub dir'; files sorted by name ('10.png' < '2.png')
    expect(rel).toEqual([
      ['B/x.jpeg', 0],
      ['Z/y.png', 1],
      ['a/10.png', 2],
      ['a/2.png', 2],
      ['a/sub/1.jpg', 2],
      ['a/sub dir/0.JPG', 2],
      ['é/z.png', 3],
    ]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 2, 2, 2, 3]);
    expect(ds.labelCounts()).toEqual([1, 1, 4, 1]);
    expect(ds.stats).toBe(IMAGENET_STATS);
    expect(ds.skipped).toEqual([]);
  });

  it('decodes PNG exactly and JPEG closely, as HWC uint8 RGB or grey', async () => {
    const ds = await ImageFolder.load(tree);
    const { image, label } = await ds.get(3); // a/2.png
    expect(label).toBe(2);
    expect([image.height, image.width, image.channels]).toEqual([3, 4, 3]);
    expect(Buffer.from(image.data).equals(pixels(4, 3, 2))).toBe(true);
    const j = (await ds.get(0)).image; // B/x.jpeg, 20 wide, 10 high
    expect([j.height, j.width, j.channels]).toEqual([10, 20, 3]);
    // A smooth image survives JPEG within a few levels.
    const smooth = Buffer.alloc(32 * 24 * 3);
    for (let i = 0; i < smooth.length; i++) smooth[i] = 40 + ((i / 3) % 32) * 4 + (i % 3) * 30;
    const file = put(
      join(root, 'smooth.jpg'),
      await sharp(smooth, { raw: { width: 32, height: 24, channels: 3 } })
        .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
        .toBuffer(),
    );
    const decoded = await loadImage(file);
    let err = 0;
    for (let i = 0; i < smooth.length; i++) err += Math.abs(smooth[i] - decoded.data[i]);
    expect(err / smooth.length).toBeLessThan(2);
    const grey = await ImageFolder.load(tree, { channels: 1 });
    const g = (await grey.get(3)).image;
    expect(g.channels).toBe(1);
    expect(g.data.length).toBe(12);
  });

  it('drops alpha like PIL convert("RGB"), and loadImage / decodeImage work on their own', async () => {
    const rgba = await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]), {
      raw: { width: 2, height: 1, channels: 4 },
    })
      .png()
      .toBuffer();
    const file = put(join(root, 'alpha.png'), rgba);
    expect(Array.from((await loadImage(file)).data)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(Array.from((await decodeImage(new Uint8Array(rgba))).data)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('applies its transform with the given generator, and withTransform shares the scan', async () => {
    const ds = await ImageFolder.load(tree);
    const t = ds.withTransform(new Compose([new RandomResizedCrop(8)]));
    expect(t.samples).toBe(ds.samples);
    const a = await t.get(4, new Rng(3));
    const b = await t.get(4, new Rng(3));
    expect([a.image.height, a.image.width]).toEqual([8, 8]);
    expect(Array.from(a.image.data)).toEqual(Array.from(b.image.data));
    const stats = await computeStats(await ImageFolder.load(join(tree), { classes: ['B', 'Z', 'a', 'é'] }), {
      limit: 2,
    });
    expect(stats.mean.length).toBe(3);
  });

  it('takes a file list: folder-named classes, explicit labels, comments', async () => {
    const list = put(join(root, 'list.txt'), '# a file list\na/2.png\n\nZ/y.png\nB/x.jpeg 3\n');
    const ds = await ImageFolder.load(tree, { files: list });
    expect(ds.classes).toEqual(['B', 'Z', 'a', 'é']);
    expect(ds.samples.map((s) => [s.path.slice(tree.length + 1), s.label])).toEqual([
      ['a/2.png', 2],
      ['Z/y.png', 1],
      ['B/x.jpeg', 3],
    ]);
    const arr = await ImageFolder.load(tree, { files: ['é/z.png'], classes: ['é'] });
    expect(arr.labels[0]).toBe(0);
  });
});

describe('ImageFolder bad input', () => {
  it('an unknown class folder is an error naming it, or skipped and reported under skipInvalid', async () => {
    const err = await ImageFolder.load(tree, { classes: ['B', 'Z', 'a'] }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.file).toBe(join(tree, 'é'));
    expect(err.reason).toMatch(/unknown class folder 'é': the classes are 'B', 'Z', 'a'/);
    let reported: readonly SkippedFile[] = [];
    const ds = await ImageFolder.load(tree, {
      classes: ['B', 'Z', 'a'],
      skipInvalid: true,
      onSkip: (s) => (reported = s),
    });
    expect(ds.length).toBe(6);
    expect(reported).toEqual([{ file: join(tree, 'é'), reason: expect.stringMatching(/unknown class folder 'é'/) }]);
    expect(ds.skipped).toEqual(reported);
  });

  it('a file list naming an unknown class, a bad label or a missing file is an error naming the list and line', async () => {
    const list = put(join(root, 'bad-list.txt'), 'a/2.png\nq/nope.png\n');
    await expect(ImageFolder.load(tree, { files: list })).rejects.toThrow(
      /bad-list\.txt: line 2: 'q\/nope\.png' is in unknown class folder 'q'/,
    );
    await expect(ImageFolder.load(tree, { files: ['a/2.png 9'] })).rejects.toThrow(
      /line 1: label 9 of 'a\/2\.png' is outside 0\.\.3/,
    );
    await expect(ImageFolder.load(tree, { files: ['a/missing.png'] })).rejects.toThrow(
      /a\/missing\.png: is listed in the file list but does not exist/,
    );
    const ds = await ImageFolder.load(tree, {
      files: ['a/missing.png', 'a/2.png', 'q/x.png'],
      skipInvalid: true,
      allowEmpty: true,
      onSkip: () => {},
    });
    expect(ds.length).toBe(1);
    expect(ds.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/unknown class folder 'q'/),
      expect.stringMatching(/does not exist/),
    ]);
  });

  it('an undecodable image: get rejects naming the file; skipInvalid leaves it out and says why', async () => {
    const dir = join(root, 'broken');
    put(join(dir, 'cat', 'good.png'), await png(3, 3, 1));
    put(join(dir, 'cat', 'bad.jpg'), 'this is not a JPEG');
    put(join(dir, 'dog', 'good.jpg'), await jpeg(8, 8, 2));
    for (const workers of [0, 2]) {
      const ds = await ImageFolder.load(dir, { workers });
      expect(ds.length).toBe(3);
      const err = await ds.get(0).catch((e) => e);
      expect(err).toBeInstanceOf(DatasetError);
      expect(err.file).toBe(join(dir, 'cat', 'bad.jpg'));
      expect(err.reason).toMatch(/cannot be decoded as an image \(Input buffer contains unsupported image format\)/);
    }
    const skipped: SkippedFile[][] = [];
    const ok = await ImageFolder.load(dir, { skipInvalid: true, onSkip: (s) => skipped.push([...s]) });
    expect(ok.length).toBe(2);
    expect(skipped).toEqual([
      [{ file: join(dir, 'cat', 'bad.jpg'), reason: expect.stringMatching(/is not a readable image/) }],
    ]);
  });

  it("a truncated JPEG passes the header check but not decoding: get rejects, verify: 'decode' skips it", async () => {
    const dir = join(root, 'truncated');
    const full = await jpeg(64, 64, 3);
    put(join(dir, 'only', 'cut.jpg'), full.subarray(0, full.length - 300));
    put(join(dir, 'only', 'fine.jpg'), full);
    for (const workers of [0, 2]) {
      const ds = await ImageFolder.load(dir, { workers });
      await expect(ds.get(0)).rejects.toThrow(/cut\.jpg: cannot be decoded as an image \(.*premature end of JPEG/i);
    }
    expect((await ImageFolder.load(dir, { skipInvalid: true, onSkip: () => {} })).length).toBe(2);
    const strict = await ImageFolder.load(dir, { skipInvalid: true, verify: 'decode', onSkip: () => {} });
    expect(strict.length).toBe(1);
    expect(strict.skipped[0].file).toBe(join(dir, 'only', 'cut.jpg'));
  });

  it('an empty class, a root without class folders, and a missing root are errors', async () => {
    const dir = join(root, 'empty');
    put(join(dir, 'full', 'a.png'), await png(2, 2, 0));
    put(join(dir, 'hollow', 'readme.txt'), 'no images here');
    await expect(ImageFolder.load(dir)).rejects.toThrow(
      /empty: no images \(\.jpg, \.jpeg, \.png\) for class 'hollow'; pass allowEmpty: true/,
    );
    expect((await ImageFolder.load(dir, { allowEmpty: true })).labelCounts()).toEqual([1, 0]);
    await expect(ImageFolder.load(join(dir, 'full'))).rejects.toThrow(/full: has no class sub-folders/);
    await expect(ImageFolder.load(join(root, 'absent'))).rejects.toThrow(/absent: no such folder/);
  });

  it('a warning lists skips when no onSkip is given', async () => {
    const dir = join(root, 'warn');
    put(join(dir, 'k', 'a.png'), await png(2, 2, 0));
    writeFileSync(join(dir, 'k', 'b.png'), readFileSync(join(dir, 'k', 'a.png')).subarray(0, 10));
    const warnings: string[] = [];
    const orig = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      const ds = await ImageFolder.load(dir, { skipInvalid: true });
      expect(ds.length).toBe(1);
    } finally {
      console.warn = orig;
    }
    expect(warnings).toEqual([expect.stringMatching(/ImageFolder: skipped 1 file\(s\) under .*b\.png/)]);
  });
});
