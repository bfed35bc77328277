// Shared by the tests: temporary folders and writers of the real file formats.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { constants as zlibConstants, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll } from 'vitest';

/** A fresh temporary folder, removed after the test file. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cnn-datasets-${tag}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes bytes to a path, creating folders. */
export function put(path: string, bytes: Uint8Array | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** An IDX file of unsigned bytes: magic 0x0000080N, big-endian dims, values. */
export function idx(dims: number[], values: Uint8Array, options: { gzip?: boolean } = {}): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x800 + dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const bytes = new Uint8Array(header.length + values.length);
  bytes.set(header);
  bytes.set(values, header.length);
  return options.gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
}

/** n images of h x w whose pixel (k, y, x) is (k * 31 + y * 7 + x) mod 256, and labels k mod classes. */
export function idxImages(n: number, h: number, w: number): Uint8Array {
  const v = new Uint8Array(n * h * w);
  for (let k = 0; k < n; k++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[(k * h + y) * w + x] = (k * 31 + y * 7 + x) % 256;
  return v;
}

/** The value a CIFAR test record holds at channel c, pixel p of image k (planes R, G, B). */
export function cifarValue(k: number, c: number, p: number): number {
  return (k * 13 + c * 101 + p * 3) % 256;
}

/** CIFAR binary records: labelBytes label bytes, then three 1024-byte planes. */
export function cifarRecords(labels: number[][], labelBytes: number, offset = 0): Uint8Array {
  const rec = labelBytes + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((ls, i) => {
    ls.forEach((l, j) => (out[i * rec + j] = l));
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) out[i * rec + labelBytes + c * 1024 + p] = cifarValue(offset + i, c, p);
  });
  return out;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * A valid 8-bit palette PNG of width x height pixels, every one of colour `rgb`, built without ever
 * holding its pixels: each band of identical rows is deflated once with a full flush (which resets
 * the compressor, so every band compresses to the same bytes) and repeated, then the stream is
 * closed with a final empty block and the Adler-32 of all-zero data. A 16000 x 16000 image is about
 * 249 kB and decodes to 768 MB as RGB: the decompression bomb of issue 19.
 */
export function palettePng(width: number, height: number, rgb: [number, number, number] = [200, 30, 60]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 3, 0, 0, 0], 8); // 8 bits, palette, deflate, no filter method variant, no interlace
  const rowBytes = width + 1; // filter byte 0, then palette index 0 for every pixel: all zero bytes
  const bandRows = Math.max(1, Math.min(height, Math.floor((4 << 20) / rowBytes)));
  const band = deflateRawSync(Buffer.alloc(bandRows * rowBytes), { finishFlush: zlibConstants.Z_FULL_FLUSH, level: 9 });
  const parts: Buffer[] = [Buffer.from([0x78, 0xda])];
  let rows = 0;
  for (; rows + bandRows <= height; rows += bandRows) parts.push(band);
  if (rows < height)
    parts.push(
      deflateRawSync(Buffer.alloc((height - rows) * rowBytes), { finishFlush: zlibConstants.Z_FULL_FLUSH, level: 9 }),
    );
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((((rowBytes * height) % 65521) << 16) + 1) >>> 0); // Adler-32 of n zero bytes: a = 1, b = n mod 65521
  parts.push(adler);
  const idat = Buffer.concat(parts);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('PLTE', Uint8Array.from(rgb)),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}
