// loadImage, the one image loader of @cnn/datasets and @cnn/models-efficient: every source it takes (a path, file
// bytes, an ArrayBuffer, an ImageHWC, ImageData) gives the same pixels, with the channels and pixel budget asked for,
// called as loadImage(source, options) or loadImage(source, channels, options); anything else is refused by name.
// (Browser images, canvases and ImageBitmaps are tested in browser.test.ts.)
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DatasetError,
  DatasetUsageError,
  decodeImage,
  imageHWC,
  loadImage,
  type ImageHWC,
  type ImageSource,
} from '../src/index';
import { put, tempDir } from './helpers';

const root = tempDir('load-image');
const W = 5;
const H = 4;
const rgb = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + (i % 3) * 71) % 256);
const pngOf = async (): Promise<Uint8Array> =>
  new Uint8Array(
    await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer(),
  );

/** The rejection of `run`, and how long it took (logged). */
async function refusal(label: string, run: () => Promise<unknown>): Promise<unknown> {
  const t0 = performance.now();
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  console.log(`[load-image] ${label}: ${(performance.now() - t0).toFixed(1)} ms`);
  return err;
}

function expectUsage(err: unknown, reason: RegExp): void {
  expect(err).toBeInstanceOf(DatasetUsageError);
  expect((err as DatasetUsageError).op).toBe('loadImage');
  expect((err as DatasetUsageError).reason).toMatch(reason);
}

describe('loadImage', () => {
  it('a path, the bytes and an ArrayBuffer of one PNG give the same RGB pixels; channels 1 gives grey from each', async () => {
    const bytes = await pngOf();
    const file = put(join(root, 'x.png'), bytes);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    for (const source of [file, bytes, buffer]) {
      const img = await loadImage(source);
      expect([img.height, img.width, img.channels]).toEqual([H, W, 3]);
      expect(img.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(img.data)).toEqual(Array.from(rgb));
    }
    const grey = (await decodeImage(bytes, 'x.png', 1)).data;
    for (const source of [file, bytes, buffer]) {
      for (const img of [await loadImage(source, 1), await loadImage(source, 1, {})]) {
        expect([img.height, img.width, img.channels]).toEqual([H, W, 1]);
        expect(Array.from(img.data)).toEqual(Array.from(grey));
      }
    }
  });

  it('the pixel budget is the options argument, second or third', async () => {
    const bytes = await pngOf();
    const file = put(join(root, 'budget.png'), bytes);
    for (const [label, run, name] of [
      ['(path, options)', () => loadImage(file, { maxPixels: 19 }), file],
      ['(path, 3, options)', () => loadImage(file, 3, { maxPixels: 19 }), file],
      ['(bytes, options)', () => loadImage(bytes, { maxPixels: 19 }), 'image'],
      ['(bytes, 1, options)', () => loadImage(bytes, 1, { maxPixels: 19 }), 'image'],
    ] as const) {
      const err = await refusal(label, run);
      expect(err, label).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).file).toBe(name);
      expect((err as DatasetError).reason).toMatch(/image is 5x4 = 20 pixels, over the decoding budget of 19 pixels/);
    }
    expect((await loadImage(bytes, { maxPixels: 20 })).width).toBe(W);
    expect((await loadImage(bytes, 3, { maxPixels: 20 })).width).toBe(W);
  });

  it('an ImageHWC comes back as it is (uint8 or float32), after its shape and channels are checked', async () => {
    const u8 = imageHWC(rgb, H, W, 3);
    const f32 = imageHWC(new Float32Array(H * W), H, W, 1);
    expect(await loadImage(u8)).toBe(u8);
    expect(await loadImage(u8, 3)).toBe(u8);
    expect(await loadImage(f32)).toBe(f32);
    expect(await loadImage(f32, { maxPixels: 1 })).toBe(f32); // decoded already: no budget
    expectUsage(
      await refusal('RGB image, channels 1', () => loadImage(u8, 1)),
      /the image has 3 channels, not the 1 asked for/,
    );
    expectUsage(
      await refusal('grey image, channels 3', () => loadImage(f32, 3)),
      /the image has 1 channel, not the 3 asked for/,
    );
    const short = { data: new Uint8Array(7), height: 2, width: 2, channels: 3 };
    expectUsage(
      await refusal('short data', () => loadImage(short)),
      /an ImageHWC of 2x2x3 needs 12 pixel values, got 7/,
    );
    const fourChannels = { data: new Uint8Array(16), height: 2, width: 2, channels: 4 };
    expectUsage(await refusal('4 channels', () => loadImage(fourChannels)), /1 or 3 channels, got 2x2x4/);
    const plain = { data: [1, 2, 3], height: 1, width: 1, channels: 3 } as unknown as ImageHWC;
    expectUsage(await refusal('number[] pixels', () => loadImage(plain)), /Uint8Array or a Float32Array/);
  });

  it('ImageData (RGBA) drops the alpha, or gives grey with channels 1; data of the wrong length is refused', async () => {
    const data = new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 128, 200, 100, 50, 0]);
    expect(Array.from((await loadImage({ data, width: 3, height: 1 })).data)).toEqual([1, 2, 3, 4, 5, 6, 200, 100, 50]);
    const grey = await loadImage({ data, width: 1, height: 3 }, 1);
    expect([grey.height, grey.width, grey.channels]).toEqual([3, 1, 1]);
    const luma = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    expect(Array.from(grey.data)).toEqual([luma(1, 2, 3), luma(4, 5, 6), luma(200, 100, 50)]);
    expectUsage(
      await refusal('ImageData 2x2 with 12 bytes', () => loadImage({ data, width: 2, height: 2 })),
      /an ImageData of 2x2 needs 16 bytes, got 12/,
    );
    expectUsage(
      await refusal('ImageData 0x3', () => loadImage({ data, width: 0, height: 3 })),
      /an ImageData of 0x3 needs width x height x 4 bytes, got 12/,
    );
  });

  it('bad arguments are refused by name before anything is read', async () => {
    const missing = join(root, 'missing.png');
    expectUsage(await refusal('channels 2', () => loadImage(missing, 2 as 1)), /channels must be 1 or 3, got 2/);
    expectUsage(
      await refusal('maxPixels 0', () => loadImage(missing, { maxPixels: 0 })),
      /maxPixels must be a positive integer, got 0/,
    );
    expectUsage(
      await refusal('options twice', () => loadImage(missing, {} as 1, {})),
      /call it as loadImage\(source, options\) or loadImage\(source, channels, options\)/,
    );
    expectUsage(
      await refusal('options a string', () => loadImage(missing, 'rgb' as unknown as 1)),
      /call it as loadImage/,
    );
    expectUsage(
      await refusal('options null', () => loadImage(missing, 3, null as never)),
      /options must be an object, got null/,
    );
    // Not an image source: in Node there is no canvas, so an object with a size is not one either.
    for (const [label, source] of [
      ['a number', 42],
      ['null', null],
      ['{ width, height }', { width: 2, height: 2 }],
      ['an Int16Array', new Int16Array(4)],
    ] as const) {
      expectUsage(
        await refusal(label, () => loadImage(source as unknown as ImageSource)),
        /expected a path, file bytes, an ImageHWC, ImageData or \(in a browser\) an image or canvas/,
      );
    }
    // The path is read only once the arguments are good: then a missing file is a DatasetError naming it.
    const err = await refusal('missing file', () => loadImage(missing));
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).file).toBe(missing);
  });

  it('its result type follows the source: uint8 for anything decoded, the same pixel type for an ImageHWC', () => {
    // Checked by `npm run typecheck` (tests included); the function is never called, so nothing is loaded.
    const types = (): void => {
      expectTypeOf(loadImage('x.png')).resolves.toEqualTypeOf<ImageHWC<Uint8Array>>();
      expectTypeOf(loadImage(new Uint8Array(0), 1, { maxPixels: 4 })).resolves.toEqualTypeOf<ImageHWC<Uint8Array>>();
      expectTypeOf(loadImage({} as ImageHWC<Float32Array>)).resolves.toEqualTypeOf<ImageHWC<Float32Array>>();
      expectTypeOf(loadImage({} as ImageSource)).resolves.toMatchTypeOf<ImageHWC>();
      // @ts-expect-error: channels are 1 or 3
      void loadImage('x.png', 2);
    };
    expect(typeof types).toBe('function');
  });
});
