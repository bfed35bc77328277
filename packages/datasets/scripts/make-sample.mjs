// Makes the embedded Fashion-MNIST sample in data/fashion-mnist-sample/ from the full dataset:
// for each split, the first PER_CLASS images of every class, in the dataset's own order (which is
// already random), written as gzipped IDX files with the same names as the originals.
//
//   node scripts/make-sample.mjs [source-folder]     default: Debian's /usr/share/datasets/fashion-mnist
//                                                    (apt-get install dataset-fashion-mnist)
//
// Deterministic: the same source gives byte-identical files (gzip level 9, no timestamp).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-sample');
const SPLITS = [
  { prefix: 'train', perClass: 300 },
  { prefix: 't10k', perClass: 100 },
];
const CLASSES = 10;

function readIdx(name, rank) {
  const path = join(source, name);
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch {
    console.error(`${path} not found: apt-get install dataset-fashion-mnist, or pass the folder holding the files`);
    process.exit(1);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const magic = bytes.readUInt32BE(0);
  if (magic !== 0x800 + rank)
    throw new Error(`${path}: magic ${magic.toString(16)}, expected ${(0x800 + rank).toString(16)}`);
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * rank) };
}

function idxBytes(dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function write(name, bytes) {
  const path = join(out, name);
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(path, gz);
  const sha = createHash('sha256').update(gz).digest('hex');
  console.log(`${name.padEnd(28)} ${String(gz.length).padStart(9)} bytes  sha256 ${sha}`);
  return gz.length;
}

mkdirSync(out, { recursive: true });
let total = 0;
for (const { prefix, perClass } of SPLITS) {
  const images = readIdx(`${prefix}-images-idx3-ubyte.gz`, 3);
  const labels = readIdx(`${prefix}-labels-idx1-ubyte.gz`, 1);
  const [, h, w] = images.dims;
  const taken = new Array(CLASSES).fill(0);
  const chosen = [];
  for (let i = 0; i < labels.dims[0] && chosen.length < perClass * CLASSES; i++) {
    const label = labels.data[i];
    if (taken[label] < perClass) {
      taken[label]++;
      chosen.push(i);
    }
  }
  if (taken.some((t) => t !== perClass)) throw new Error(`${prefix}: found only ${taken.join('/')} images per class`);
  const size = h * w;
  const img = new Uint8Array(chosen.length * size);
  const lab = new Uint8Array(chosen.length);
  chosen.forEach((src, k) => {
    img.set(images.data.subarray(src * size, (src + 1) * size), k * size);
    lab[k] = labels.data[src];
  });
  total += write(`${prefix}-images-idx3-ubyte.gz`, idxBytes([chosen.length, h, w], img));
  total += write(`${prefix}-labels-idx1-ubyte.gz`, idxBytes([chosen.length], lab));
  console.log(
    `${prefix}: ${chosen.length} images (${perClass} per class), last source index ${chosen[chosen.length - 1]}`,
  );
}
console.log(`total ${total} bytes (${(total / 2 ** 20).toFixed(2)} MiB) in ${out}`);
