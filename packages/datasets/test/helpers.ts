// Shared by the tests: temporary folders and writers of the real file formats.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
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
  for (let k = 0; k < n; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[(k * h + y) * w + x] = (k * 31 + y * 7 + x) % 256;
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
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[i * rec + labelBytes + c * 1024 + p] = cifarValue(offset + i, c, p);
  });
  return out;
}
