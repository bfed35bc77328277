// @ts-check
// An 8-bit greyscale PNG encoder for the repository's scripts that write Fashion-MNIST pictures (the docs' Getting
// started pictures, the CLI's image-folder writer): a few lines over node:zlib, one IHDR chunk, one IDAT with the rows
// (filter byte 0 before each), IEND. Not part of any package.
import { crc32, deflateSync } from 'node:zlib';

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
 * @returns {Buffer}
 */
export function greyPng(pixels, height, width) {
  if (pixels.length !== height * width) throw new Error(`greyPng: ${pixels.length} pixels for ${height}x${width}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = 0; // colour type: greyscale; compression, filter and interlace methods 0
  const rows = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
