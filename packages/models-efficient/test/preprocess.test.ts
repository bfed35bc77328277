// Loading and ImageNet preprocessing: a JPEG/PNG file or its bytes in, a normalised [1, 224, 224, 3] tensor out.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DatasetError, DatasetUsageError, loadImage as datasetsLoadImage } from '@cnn/datasets';
import { setBackend, loadImage, imagenetPreprocess, IMAGENET_STATS, getModel, manualSeed } from '../src/index';
import { palettePng } from '../../datasets/test/helpers';

async function png(width: number, height: number): Promise<{ bytes: Uint8Array; rgb: Uint8Array }> {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + (i % 3) * 71) % 256;
  const bytes = new Uint8Array(
    await sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return { bytes, rgb };
}

describe('images in', () => {
  it('a 256x256 PNG: the centre 224x224 crop, scaled and normalised with ImageNet statistics', async () => {
    await setBackend('wasm');
    const { bytes, rgb } = await png(256, 256);
    const dir = mkdtempSync(join(tmpdir(), 'cnn-img-'));
    const file = join(dir, 'x.png');
    writeFileSync(file, bytes);
    const fromPath = await loadImage(file);
    const fromBytes = await loadImage(bytes);
    expect([fromPath.height, fromPath.width, fromPath.channels]).toEqual([256, 256, 3]);
    expect(Array.from(fromBytes.data)).toEqual(Array.from(rgb));
    const x = imagenetPreprocess(fromPath);
    expect(x.shape).toEqual([1, 224, 224, 3]);
    const got = x.dataSync();
    // Pixel (i, j) of the crop is pixel (i + 16, j + 16) of the image (no resampling at 256).
    for (const [i, j, c] of [
      [0, 0, 0],
      [5, 100, 1],
      [223, 223, 2],
      [111, 7, 0],
    ]) {
      const v = rgb[((i + 16) * 256 + (j + 16)) * 3 + c] / 255;
      expect(got[(i * 224 + j) * 3 + c]).toBeCloseTo((v - IMAGENET_STATS.mean[c]) / IMAGENET_STATS.std[c], 5);
    }
    x.dispose();
  });

  it('a 300x400 image becomes [1, 224, 224, 3]; a grey image is refused by name; predict classifies it', async () => {
    await setBackend('wasm');
    const { bytes } = await png(400, 300);
    const x = imagenetPreprocess(await loadImage(bytes));
    expect(x.shape).toEqual([1, 224, 224, 3]);
    manualSeed(0);
    const net = getModel('mobilenet_v2', { numClasses: 10 });
    const p = net.predict(x, { topk: 3, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] });
    expect(p.labels![0].length).toBe(3);
    net.dispose();
    x.dispose();
    expect(() => imagenetPreprocess({ data: new Uint8Array(4), height: 2, width: 2, channels: 1 })).toThrow(
      /imagenetPreprocess: expected an RGB image \(3 channels\), got 1/,
    );
  });

  it("loadImage is @cnn/datasets' one: the same function, taking channels too", async () => {
    expect(loadImage).toBe(datasetsLoadImage);
    const { bytes } = await png(6, 5);
    const grey = await loadImage(bytes, 1);
    expect([grey.height, grey.width, grey.channels]).toEqual([5, 6, 1]);
  });

  it('ImageData (RGBA) is read as RGB', async () => {
    const data = new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 128]);
    const img = await loadImage({ data, width: 2, height: 1 });
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a 249 kB PNG of 16000x16000 is refused by name from its header, as a path or as bytes; maxPixels sets the budget', {
    timeout: 20_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnn-img-'));
    const bomb = palettePng(16000, 16000); // decodes to 768 MB as RGB
    const file = join(dir, 'bomb.png');
    writeFileSync(file, bomb);
    const caught = async (label: string, run: () => Promise<unknown>) => {
      const t0 = performance.now();
      const err = await run().then(
        () => null,
        (e: unknown) => e,
      );
      console.log(`[preprocess] ${label}: ${(performance.now() - t0).toFixed(1)} ms`);
      return err;
    };
    for (const [label, run, name] of [
      ['loadImage(path)', () => loadImage(file), file],
      ['loadImage(bytes)', () => loadImage(new Uint8Array(bomb)), 'image'],
      [
        'loadImage(ArrayBuffer)',
        () => loadImage(bomb.buffer.slice(bomb.byteOffset, bomb.byteOffset + bomb.length) as ArrayBuffer),
        'image',
      ],
    ] as const) {
      const err = await caught(label, run);
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).file).toBe(name);
      expect((err as DatasetError).reason).toMatch(
        /image is 16000x16000 = 256,000,000 pixels, over the decoding budget of 67,108,864 pixels/,
      );
    }
    const { bytes } = await png(64, 48);
    expect((await loadImage(bytes)).width).toBe(64);
    const err = await caught('loadImage(64x48, maxPixels 3000)', () => loadImage(bytes, { maxPixels: 3000 }));
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).reason).toMatch(/64x48 = 3,072 pixels, over the decoding budget of 3,000 pixels/);
    expect(await caught('loadImage(maxPixels 0)', () => loadImage(bytes, { maxPixels: 0 }))).toBeInstanceOf(
      DatasetUsageError,
    );
    // A preprocessing size out of range is refused by name before anything is allocated.
    const img = await loadImage(bytes);
    expect(() => imagenetPreprocess(img, { resize: 1e6 })).toThrow(DatasetUsageError);
    expect(() => imagenetPreprocess(img, { resize: 1e6 })).toThrow(/Resize: size must be an integer from 1 to 16384/);
  });
});
