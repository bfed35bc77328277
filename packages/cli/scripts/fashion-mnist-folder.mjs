// @ts-check
// Writes classes of the Fashion-MNIST sample that ships inside @cnn/datasets (3,000 training and 1,000 test images)
// as an image folder for `cnn train --dataset folder`: <out>/train/<class>/<index>.png and <out>/val/<class>/<index>.png,
// 28x28 greyscale PNG files. The fine-tuning guide and the CLI's fine-tuning test use it.
//
//   node packages/cli/scripts/fashion-mnist-folder.mjs <out> [--classes 0,1,2,3,4] [--train <n>] [--val <n>]
//
// --classes: the Fashion-MNIST labels to write (default the first five); --train / --val: images per class of each
// split (default all: 300 and 100). The PNG encoder is a few lines over node:zlib (IHDR, one IDAT, IEND).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync, crc32 } from 'node:zlib';
import { FashionMNIST } from '@cnn/datasets';

/** One PNG chunk: length, type, data, CRC-32 of type and data. @param {string} type @param {Buffer} data */
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit greyscale PNG. @param {Uint8Array} pixels row-major @param {number} height @param {number} width */
function greyPng(pixels, height, width) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per sample; colour type 0 (grey), no interlace
  const rows = Buffer.alloc(height * (width + 1)); // filter byte 0 (none) before each row
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

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
