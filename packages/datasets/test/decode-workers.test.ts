// Image folders decoded and transformed in worker threads give exactly what the calling thread
// gives, continue the caller's generator, report bad files by name, and never keep a process alive.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ColorJitter,
  Compose,
  DataLoader,
  DatasetError,
  ImageFolder,
  Lambda,
  Normalize,
  RandomErasing,
  RandomHorizontalFlip,
  RandomResizedCrop,
  Rng,
  ToTensor,
  stopDecodeWorkers,
  transformFromSpec,
} from '../src/index';
import { put, tempDir } from './helpers';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const root = tempDir('workers');
const badRoot = tempDir('workers-bad');

beforeAll(async () => {
  for (let i = 0; i < 12; i++) {
    const w = 40 + i * 3;
    const h = 30 + i;
    const px = Buffer.alloc(w * h * 3);
    for (let k = 0; k < px.length; k++) px[k] = (k * (i + 3) + (k >> 7)) % 256;
    const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
    put(
      join(root, i % 3 ? 'one' : 'two', `${i}.${i % 2 ? 'png' : 'jpg'}`),
      await (i % 2 ? img.png() : img.jpeg()).toBuffer(),
    );
  }
});
afterAll(() => stopDecodeWorkers());

const augment = () =>
  new Compose([
    new RandomResizedCrop(24),
    new RandomHorizontalFlip(),
    new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
    new ToTensor(),
    new Normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2]),
    new RandomErasing({ p: 0.5, value: 'random' }),
  ]);

describe('decode workers', () => {
  it('rebuild every built-in transform from its spec', () => {
    const t = augment();
    const copy = transformFromSpec(t.spec!);
    const img = {
      data: Uint8Array.from({ length: 30 * 30 * 3 }, (_, i) => (i * 7) % 256),
      height: 30,
      width: 30,
      channels: 3,
    };
    expect(Array.from(copy.apply(img, new Rng(2)).data)).toEqual(Array.from(t.apply(img, new Rng(2)).data));
    expect(new Compose([t, new Lambda('x', (i) => i)]).spec).toBeUndefined();
  });

  it('give bit-identical items, and leave the generator where the calling thread would', async () => {
    const inWorkers = await ImageFolder.load(root, { transform: augment(), workers: 2 });
    const inThread = await ImageFolder.load(root, { transform: augment(), workers: 0 });
    expect(inWorkers.workers).toBe(2);
    for (let i = 0; i < inWorkers.length; i++) {
      const ra = new Rng(i);
      const rb = new Rng(i);
      const [a, b] = await Promise.all([inWorkers.get(i, ra), inThread.get(i, rb)]);
      expect(a.label).toBe(b.label);
      expect(a.image.data).toBeInstanceOf(Float32Array);
      expect(Buffer.from(a.image.data.buffer).equals(Buffer.from(b.image.data.buffer))).toBe(true);
      expect(ra.uint32()).toBe(rb.uint32());
    }
  });

  it('give the same loader batches as no workers', async () => {
    const batches = async (workers: number) => {
      const ds = await ImageFolder.load(root, { transform: augment(), workers });
      const out: Float32Array[] = [];
      for await (const b of new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 9 }).hostBatches(0)) out.push(b.x);
      return out;
    };
    const [a, b] = await Promise.all([batches(3), batches(0)]);
    expect(a.length).toBe(3);
    a.forEach((x, k) => expect(Buffer.from(x.buffer).equals(Buffer.from(b[k].buffer))).toBe(true));
  });

  it('decode only, and run a transform of your own on the calling thread', async () => {
    const own = new Lambda('double', (img) => ({ ...img, data: Float32Array.from(img.data, (v) => 2 * v) }));
    const ds = await ImageFolder.load(root, { transform: own, workers: 2 });
    const plain = await ImageFolder.load(root, { workers: 2 });
    const [a, b] = await Promise.all([ds.get(1), plain.get(1)]);
    expect(b.image.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(a.image.data.subarray(0, 9))).toEqual(Array.from(b.image.data.subarray(0, 9), (v) => 2 * v));
  });

  it('report an undecodable file by name', async () => {
    const dir = badRoot;
    put(join(dir, 'c', 'broken.png'), 'not a png at all');
    const ds = await ImageFolder.load(dir, { transform: augment(), workers: 2 });
    const err = await ds.get(0).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.file).toBe(join(dir, 'c', 'broken.png'));
    expect(err.reason).toMatch(/cannot be decoded as an image/);
  });

  it('never keep a process alive (built package)', () => {
    const code = `
      import { ImageFolder, Compose, RandomResizedCrop } from './dist/index.js';
      const ds = await ImageFolder.load(${JSON.stringify(root)}, { transform: new Compose([new RandomResizedCrop(8)]), workers: 2 });
      const { image } = await ds.get(0);
      console.log(image.height, image.width);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: PKG,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(out.trim()).toBe('8 8');
  });
});
