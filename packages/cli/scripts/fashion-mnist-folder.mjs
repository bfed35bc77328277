// @ts-check
// Writes classes of the Fashion-MNIST sample that ships inside @cnn/datasets (3,000 training and 1,000 test images)
// as an image folder for `cnn train --dataset folder`: <out>/train/<class>/<index>.png and <out>/val/<class>/<index>.png,
// 28x28 greyscale PNG files. The fine-tuning guide and the CLI's fine-tuning test use it.
//
//   node packages/cli/scripts/fashion-mnist-folder.mjs <out> [--classes 0,1,2,3,4] [--train <n>] [--val <n>]
//
// --classes: the Fashion-MNIST labels to write (default the first five); --train / --val: images per class of each
// split (default all: 300 and 100). PNG files come from scripts/grey-png.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FashionMNIST } from '@cnn/datasets';
import { greyPng } from '../../../scripts/grey-png.mjs';

const { values, positionals } = parseArgs({
  options: { classes: { type: 'string' }, train: { type: 'string' }, val: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error('usage: fashion-mnist-folder.mjs <out> [--classes 0,1,2,3,4] [--train <n>] [--val <n>]');
  process.exit(2);
}
const out = positionals[0];
const labels = (values.classes ?? '0,1,2,3,4').split(',').map(Number);
if (!labels.every((l) => Number.isInteger(l) && l >= 0 && l < 10) || new Set(labels).size !== labels.length) {
  console.error(`--classes must be distinct labels 0..9, got ${values.classes}`);
  process.exit(2);
}
const slug = (/** @type {string} */ name) => name.toLowerCase().replace(/[^a-z]+/g, '-');
for (const [split, train, flag] of /** @type {const} */ ([
  ['train', true, values.train],
  ['val', false, values.val],
])) {
  const ds = await FashionMNIST.sample({ train });
  const cap = flag === undefined ? Infinity : Number(flag);
  if (!(cap >= 1)) {
    console.error(`--${split} must be a positive number of images per class, got ${flag}`);
    process.exit(2);
  }
  let written = 0;
  for (const label of labels) {
    const dir = join(out, split, slug(ds.classes[label]));
    mkdirSync(dir, { recursive: true });
    let n = 0;
    for (let i = 0; i < ds.length && n < cap; i++) {
      if (ds.labels[i] !== label) continue;
      const { data, height, width } = ds.raw(i);
      writeFileSync(join(dir, `${String(i).padStart(4, '0')}.png`), greyPng(data, height, width));
      n++;
    }
    written += n;
  }
  console.log(
    `${split}: ${written} images of ${labels.length} classes (${labels.map((l) => ds.classes[l]).join(', ')})`,
  );
}
