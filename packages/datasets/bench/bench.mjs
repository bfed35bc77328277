// Loader throughput of @cnn/datasets on this machine, against the built dist (npm run build first).
//
//   npm run bench -w @cnn/datasets            the three cases of the datasets issue
//   npm run bench -w @cnn/datasets -- --quick fewer repetitions
//
// (a) Fashion-MNIST (Debian's full training set when installed, else the embedded sample), ToTensor +
//     Normalize, shuffled batches of 64;
// (b) CIFAR-style 32x32x3 records (written to a temporary folder in the real binary format):
//     RandomCrop(32, padding 4) + RandomHorizontalFlip + ToTensor + Normalize, batches of 128;
// (c) an image folder of 200 JPEGs of 500x375 (made with sharp in a temporary folder): decode +
//     RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize, batches of 32, in the
//     default decode workers, then again with workers: 0 for comparison.
// Every batch is turned into tensors (wasm backend) and disposed, as a training loop would.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { setBackend, tf } from '@cnn/tensor';
import {
  CIFAR10,
  Compose,
  DataLoader,
  FashionMNIST,
  ImageFolder,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  RandomResizedCrop,
  Rng,
  ToTensor,
} from '../dist/index.js';

const quick = process.argv.includes('--quick');
const loadBefore = loadavg()[0];
await setBackend('wasm');

/** Images per second over `epochs` passes of the loader, after one warm-up pass over `warm` batches. */
async function measure(loader, { epochs, warm }) {
  let b = 0;
  for await (const batch of loader.epoch(1000)) {
    batch.dispose();
    if (++b >= warm) break;
  }
  const before = tf.memory().numTensors;
  let images = 0;
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for await (const batch of loader.epoch(e)) {
      images += batch.size;
      batch.dispose();
    }
  }
  const s = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - before;
  return { images, s, rate: images / s, leaked };
}

const tmp = mkdtempSync(join(tmpdir(), 'cnn-datasets-bench-'));
const rows = [];
try {
  // (a)
  const debian = existsSync(join(FashionMNIST.DEBIAN_DIR, 'train-images-idx3-ubyte.gz'));
  const fm = debian ? await FashionMNIST.debian() : await FashionMNIST.sample();
  const fmT = fm.withTransform(
    new Compose([new ToTensor(), new Normalize(FashionMNIST.STATS.mean, FashionMNIST.STATS.std)]),
  );
  const a = await measure(new DataLoader(fmT, { batchSize: 64, shuffle: true, seed: 1 }), {
    epochs: debian ? (quick ? 1 : 2) : 10,
    warm: 20,
  });
  rows.push({
    case: `(a) Fashion-MNIST${debian ? '' : ' sample'}, batch 64, ToTensor + Normalize`,
    ...a,
    target: 20000,
  });

  // (b)
  const n = 10000;
  const records = new Uint8Array(n * 3073);
  const rng = new Rng(7);
  for (let i = 0; i < records.length; i++) records[i] = rng.uint32() & 255;
  for (let i = 0; i < n; i++) records[i * 3073] = i % 10;
  const cifarDir = join(tmp, 'cifar-10-batches-bin');
  mkdirSync(cifarDir);
  for (let k = 1; k <= 5; k++)
    writeFileSync(
      join(cifarDir, `data_batch_${k}.bin`),
      records.subarray((((k - 1) * n) / 5) * 3073, ((k * n) / 5) * 3073),
    );
  const cifar = await CIFAR10.load(tmp, {
    transform: new Compose([
      new RandomCrop(32, { padding: 4 }),
      new RandomHorizontalFlip(),
      new ToTensor(),
      new Normalize(CIFAR10.STATS.mean, CIFAR10.STATS.std),
    ]),
  });
  const b = await measure(new DataLoader(cifar, { batchSize: 128, shuffle: true, seed: 1 }), {
    epochs: quick ? 2 : 5,
    warm: 10,
  });
  rows.push({ case: '(b) CIFAR 32x32, batch 128, RandomCrop(pad 4) + flip + Normalize', ...b, target: 5000 });

  // (c)
  const folder = join(tmp, 'images');
  await makeJpegFolder(folder, 200);
  const photoTransform = new Compose([
    new RandomResizedCrop(224),
    new RandomHorizontalFlip(),
    new ToTensor(),
    new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
  ]);
  const photos = await ImageFolder.load(folder, { transform: photoTransform });
  const c = await measure(new DataLoader(photos, { batchSize: 32, shuffle: true, seed: 1 }), {
    epochs: quick ? 1 : 3,
    warm: 2,
  });
  rows.push({
    case: `(c) JPEG 500x375 folder, batch 32, decode + RandomResizedCrop(224) + flip + Normalize (${photos.workers} workers)`,
    ...c,
    target: 150,
  });
  const inThread = await ImageFolder.load(folder, { transform: photoTransform, workers: 0 });
  const c0 = await measure(new DataLoader(inThread, { batchSize: 32, shuffle: true, seed: 1 }), {
    epochs: quick ? 1 : 3,
    warm: 2,
  });
  rows.push({
    case: '    the same with workers: 0 (transforms on the main thread), for comparison',
    ...c0,
    target: null,
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(
  `@cnn/datasets loader benchmark: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; node ${process.version}; sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}); tensors on ${tf.getBackend()}`,
);
// Other processes competing for the two cores lower every number, (c) most: say how busy the machine was.
console.log(
  `load average (1 min) before the run: ${loadBefore.toFixed(2)}${loadBefore > 1 ? ' (other processes were busy: expect lower numbers)' : ''}`,
);
const table = rows.map((r) => ({
  case: r.case,
  images: String(r.images),
  seconds: r.s.toFixed(2),
  'images/s': Math.round(r.rate).toLocaleString('en-US'),
  target: r.target === null ? '' : `>= ${r.target.toLocaleString('en-US')}`,
  result:
    r.leaked !== 0
      ? `FAIL (${r.leaked} tensors leaked)`
      : r.target === null
        ? ''
        : r.rate >= r.target
          ? 'PASS'
          : 'FAIL',
}));
printTable(table);

/** count JPEGs of 500x375 in two class folders: smooth colour fields with a little noise, like photos compress. */
async function makeJpegFolder(dir, count) {
  const w = 500;
  const h = 375;
  const rng = new Rng(3);
  for (const cls of ['a', 'b']) mkdirSync(join(dir, cls), { recursive: true });
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const px = Buffer.alloc(w * h * 3);
      const f = [rng.uniform(0.005, 0.05), rng.uniform(0.005, 0.05), rng.uniform(0.005, 0.05)];
      const ph = [rng.uniform(0, 6), rng.uniform(0, 6), rng.uniform(0, 6)];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < 3; k++) {
            const v =
              128 +
              90 * Math.sin(f[k] * (x + 1.3 * y) + ph[k]) +
              30 * Math.sin(0.3 * x * f[2 - k] * 7 + y * 0.05) +
              (rng.next() - 0.5) * 24;
            px[(y * w + x) * 3 + k] = v < 0 ? 0 : Math.min(v, 255);
          }
        }
      }
      const jpeg = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer();
      writeFileSync(join(dir, i % 2 ? 'b' : 'a', `img-${String(i).padStart(4, '0')}.jpg`), jpeg);
    }),
  );
}

function printTable(rs) {
  const cols = Object.keys(rs[0]);
  const width = cols.map((c) => Math.max(c.length, ...rs.map((r) => String(r[c]).length)));
  const line = (vals) =>
    `| ${vals.map((v, i) => (i === 0 ? String(v).padEnd(width[i]) : String(v).padStart(width[i]))).join(' | ')} |`;
  console.log(line(cols));
  console.log(`|${width.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rs) console.log(line(cols.map((c) => r[c])));
}
