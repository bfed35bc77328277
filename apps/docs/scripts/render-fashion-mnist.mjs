// @ts-check
// Writes the Getting started page's pictures: the first image of each class in the official Fashion-MNIST test split
// (t10k, the 10,000 images no shipped weights were trained on), as 28x28 greyscale PNG files in public/fashion-mnist/.
// Needs Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) and a built @cnn/datasets.
//
//   node apps/docs/scripts/render-fashion-mnist.mjs
//
// The PNG encoder is a few lines over node:zlib: one IHDR chunk (8-bit greyscale), one IDAT with the rows, IEND.
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';
import { FashionMNIST } from '@cnn/datasets';

const OUT = new URL('../public/fashion-mnist/', import.meta.url);

/** One PNG chunk: length, type, data, CRC-32 of type and data. @param {string} type @param {Buffer} data */
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An 8-bit greyscale PNG of `pixels` (row-major, `height` x `width`).
 * @param {Uint8Array} pixels @param {number} height @param {number} width
 */
function greyPng(pixels, height, width) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = 0; // colour type: greyscale
  const rows = Buffer.alloc(height * (width + 1)); // each row starts with filter byte 0 (none)
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const slug = (/** @type {string} */ name) => name.toLowerCase().replace(/[^a-z]+/g, '-');

const test = await FashionMNIST.debian({ train: false });
mkdirSync(OUT, { recursive: true });
for (let label = 0; label < test.classes.length; label++) {
  const index = test.labels.indexOf(label);
  const { data, height, width } = test.raw(index);
  const file = `${index}-${slug(test.classes[label])}.png`;
  writeFileSync(new URL(file, OUT), greyPng(data, height, width));
  console.log(`${file}: test image ${index}, "${test.classes[label]}"`);
}
