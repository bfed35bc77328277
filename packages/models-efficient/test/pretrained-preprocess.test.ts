// Preprocessing parity with torchvision: for each committed photo (test-support/photos, CC0 / public domain) and each
// distinct evaluation preprocessing of the weights table, our pipeline (loadImage, then @cnn/datasets' Resize +
// CenterCrop, and imagenetPreprocess end to end) against torchvision 0.14's transforms on PIL
// (scripts/make-pretrained-preprocess-fixtures.py): the decoded pixels and the resized, cropped uint8 image must be
// the same bytes (checksums), and the normalised tensor must agree within 1e-3 at 128 sampled positions and in each
// channel's mean and std.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CenterCrop, Compose, DatasetUsageError, Resize, Rng, type ImageHWC } from '@cnn/datasets';
import { PRETRAINED_TABLE } from '../../models-classic/src/pretrained/table';
import { imagenetPreprocess, loadImage, setBackend, tf } from '../src/index';

interface Case {
  photo: string;
  preprocess: {
    resize: number;
    crop: number;
    interpolation: 'bilinear' | 'bicubic';
    mean: [number, number, number];
    std: [number, number, number];
  };
  decoded: { shape: number[]; weighted: number };
  cropped: { shape: number[]; sum: number; weighted: number };
  tensor: { mean: number[]; std: number[]; samples: Array<[number, number, number, number]> };
}

const doc = JSON.parse(readFileSync(new URL('./fixtures/pretrained/preprocess.json', import.meta.url), 'utf8')) as {
  torchvision: string;
  pil: string;
  cases: Case[];
};
const PHOTOS = fileURLToPath(new URL('../../../test-support/photos/', import.meta.url));
const TOL = 1e-3;

/** sum over the flat HWC bytes of (i mod 65521 + 1) * byte, mod 2^32 (the script's `weighted`). */
function weighted(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s = (s + ((i % 65521) + 1) * data[i]) % 2 ** 32;
  return s;
}

describe(`preprocessing equals torchvision ${doc.torchvision}'s on PIL ${doc.pil}`, () => {
  it('covers three photos and every preprocessing of the table, and bicubic', () => {
    expect(new Set(doc.cases.map((c) => c.photo)).size).toBe(3);
    const kinds = new Set(doc.cases.map((c) => `${c.preprocess.resize}/${c.preprocess.interpolation}`));
    for (const e of PRETRAINED_TABLE)
      expect(kinds, e.file).toContain(`${e.preprocess.resize}/${e.preprocess.interpolation}`);
    expect(kinds).toContain('256/bicubic');
  });

  it('Resize refuses an interpolation it does not have, by name', () => {
    expect(() => new Resize(256, { interpolation: 'lanczos' as 'bicubic' })).toThrow(DatasetUsageError);
    expect(() => new Resize(256, { interpolation: 'lanczos' as 'bicubic' })).toThrow(
      /interpolation must be 'bilinear' or 'bicubic', got 'lanczos'/,
    );
  });

  for (const c of doc.cases) {
    const p = c.preprocess;
    it(`${c.photo}: resize ${p.resize} (${p.interpolation}), crop ${p.crop}`, async () => {
      await setBackend('wasm');
      const img = (await loadImage(PHOTOS + c.photo)) as ImageHWC<Uint8Array>;
      expect([img.height, img.width, img.channels]).toEqual(c.decoded.shape);
      expect(weighted(img.data), 'decoded pixels (sharp vs PIL)').toBe(c.decoded.weighted);

      const geo = new Compose([new Resize(p.resize, { interpolation: p.interpolation }), new CenterCrop(p.crop)]);
      const cropped = geo.apply(img, new Rng(0));
      expect([cropped.height, cropped.width, cropped.channels]).toEqual(c.cropped.shape);
      let sum = 0;
      for (const v of cropped.data) sum += v;
      expect(sum, 'sum of the resized, cropped bytes').toBe(c.cropped.sum);
      expect(weighted(cropped.data), 'the resized, cropped bytes').toBe(c.cropped.weighted);

      const before = tf.memory().numTensors;
      const x = imagenetPreprocess(img, {
        resize: p.resize,
        crop: p.crop,
        interpolation: p.interpolation,
        stats: { mean: p.mean, std: p.std },
      });
      expect(x.shape).toEqual([1, p.crop, p.crop, 3]);
      const data = x.dataSync();
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
      let worst = 0;
      for (const [y, xx, ch, want] of c.tensor.samples)
        worst = Math.max(worst, Math.abs(data[(y * p.crop + xx) * 3 + ch] - want));
      expect(worst, 'max |ours - torchvision| at the sampled positions').toBeLessThanOrEqual(TOL);
      const n = p.crop * p.crop;
      for (let ch = 0; ch < 3; ch++) {
        let m = 0;
        for (let i = 0; i < n; i++) m += data[i * 3 + ch];
        m /= n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (data[i * 3 + ch] - m) ** 2;
        expect(Math.abs(m - c.tensor.mean[ch]), `channel ${ch} mean`).toBeLessThanOrEqual(TOL);
        expect(Math.abs(Math.sqrt(v / n) - c.tensor.std[ch]), `channel ${ch} std`).toBeLessThanOrEqual(TOL);
      }
    });
  }
});
