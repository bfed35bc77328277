// `cnn predict --pretrained` and `cnn list --pretrained` through the built bin, against a local HTTP server on
// 127.0.0.1 (no test reaches the internet): a torchvision-format fixture checkpoint (LeNet-5 with 3 channels and
// 1,000 classes, packages/models-classic/scripts/make-download-fixture.py) registered as a test-only weights entry
// through the CNN_TEST_PRETRAINED hook, downloaded into a temporary CNN_HOME, through a mirror (CNN_WEIGHTS_URL).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGENET_CLASSES } from '@cnn/models-efficient';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const FILE = 'lenet5_imagenet_fixture-f55b2793.pth';
const BYTES = readFileSync(
  fileURLToPath(new URL(`../../models-classic/test/fixtures/download/${FILE}`, import.meta.url)),
);
const tmp = mkdtempSync(join(tmpdir(), 'cnn-cli-pretrained-'));
let server: Server;
let base: string;
let requests = 0;
let image: string;

/** The test-only entry: its publisher URL is a port nothing listens on, so only a mirror can serve it. */
function entries(dead: string) {
  return JSON.stringify([
    {
      id: 'lenet5',
      name: 'T_CLI',
      source: 'torchvision',
      dataset: 'imagenet-1k',
      url: `${dead}/${FILE}`,
      file: FILE,
      sha256Prefix: 'f55b2793',
      keyMap: 'torchvision',
      license: 'test fixture',
      top1: 12.5,
      top5: 30.25,
      preprocess: {
        resize: 32,
        crop: 28,
        interpolation: 'bilinear',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      },
      modelOptions: { inChannels: 3 },
      verified: false,
    },
  ]);
}
let dead: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === `/mirror/${FILE}`) res.writeHead(200, { 'content-length': String(BYTES.length) }).end(BYTES);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
  dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((ok) => closed.close(ok));
  const rgb = Buffer.alloc(40 * 30 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 29) % 256;
  image = join(tmp, 'photo.png');
  writeFileSync(
    image,
    await sharp(rgb, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toBuffer(),
  );
});

afterAll(async () => {
  if (server) await new Promise((ok) => server.close(ok));
});

/** Runs the bin asynchronously (the server lives in this process). */
function cnn(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: tmp,
      env: { ...process.env, CNN_HOME: join(tmp, 'home'), CNN_TEST_PRETRAINED: entries(dead), ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => ok({ code, out, err }));
  });
}

describe('cnn predict --pretrained', () => {
  it('downloads through the mirror with a progress bar, prints top-5 ImageNet labels, and uses the cache the next time', async () => {
    const env = { CNN_WEIGHTS_URL: `${base}/mirror/` };
    const r = await cnn(env, 'predict', '--pretrained', 'lenet5', '--weights', 'T_CLI', image);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`downloading ${FILE.replace('.', '\\.')} \\[#{30}\\] 100% 0\\.6/0\\.6 MB`));
    // One line per image: its five likeliest ImageNet classes, best first, with their scores.
    const line = r.out.trim();
    expect(line.startsWith(`${image}: `)).toBe(true);
    const top = line.slice(image.length + 2).split(', ');
    expect(top).toHaveLength(5);
    const labels = top.map((t) => {
      const m = /^(.+) (0\.\d{3}|1\.000)$/.exec(t);
      expect(m, t).not.toBeNull();
      expect(IMAGENET_CLASSES).toContain(m![1]);
      return m![1]!;
    });
    expect(requests).toBe(1);
    expect(readdirSync(join(tmp, 'home', 'weights')).sort()).toEqual([FILE, `${FILE}.sha256`]);
    // Cached: no request, no progress bar; the default weights of lenet5 are now its first ImageNet entry.
    const again = await cnn(env, 'predict', '--pretrained', 'lenet5', '--json', '--top', '2', image);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toBe('');
    expect(requests).toBe(1);
    const json = JSON.parse(again.out);
    expect(json[0].top.map((t: { label: string }) => t.label)).toEqual(labels.slice(0, 2));
  });

  it('no network: exit 1 with the URL, the cache path and what to do; nothing cached', async () => {
    const home = join(tmp, 'home-offline');
    const r = await cnn({ CNN_HOME: home }, 'predict', '--pretrained', 'lenet5', image);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cnn: cannot download ${dead}/${FILE}`);
    expect(r.err).toContain(`download it by hand to ${join(home, 'weights', FILE)}`);
    expect(readdirSync(join(home, 'weights'))).toEqual([]);
  });

  it('ids without weights, unknown weights names and mixed flags are one-line UsageErrors (exit 2)', async () => {
    for (const [args, msg] of [
      [
        ['predict', '--pretrained', 'resnet18_cifar', image],
        /^cnn: no pretrained weights for 'resnet18_cifar'; --pretrained takes .*lenet5.*\(see cnn list --pretrained\)$/,
      ],
      [
        ['predict', '--pretrained', 'lenet5', '--weights', 'V9', image],
        /^cnn: --weights 'V9': 'lenet5' has T_CLI, fashion-mnist \(see cnn list --pretrained\)$/,
      ],
      [['predict', '--pretrained', 'nosuch', image], /^cnn: unknown model 'nosuch'/],
      [
        ['predict', '--checkpoint', 'x.safetensors', '--weights', 'T_CLI', image],
        /^cnn: --weights goes with --pretrained$/,
      ],
      [['eval', '--pretrained', 'lenet5', '--weights', 'T_CLI'], /^cnn: unknown option '--weights'/],
    ] as const) {
      const r = await cnn({}, ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err.trim()).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });

  it("--weights fashion-mnist: the shipped LeNet-5 labels a greyscale image with Fashion-MNIST's classes", async () => {
    const r = await cnn(
      {},
      'predict',
      '--pretrained',
      'lenet5',
      '--weights',
      'fashion-mnist',
      '--top',
      '3',
      '--json',
      image,
    );
    expect(r.code, r.err).toBe(0);
    const [one] = JSON.parse(r.out);
    expect(one.top).toHaveLength(3);
    const { FashionMNIST } = await import('@cnn/datasets');
    for (const t of one.top) expect(t.label).toBe(FashionMNIST.CLASSES[t.index]);
  });
});

describe('cnn list --pretrained', () => {
  it('shows which ids have which weights, and those with none', async () => {
    const r = await cnn({}, 'list', 'lenet5', '--pretrained');
    expect(r.code, r.err).toBe(0);
    const rows = r.out.split('\n');
    expect(rows[0]).toMatch(/^model\s+weights\s+source\s+dataset\s+top-1\s+top-5\s+verified\s+file$/);
    expect(rows[2]).toMatch(
      new RegExp(
        `^lenet5\\s+T_CLI\\s+torchvision\\s+imagenet-1k\\s+12\\.50%\\s+30\\.25%\\s+no\\s+${FILE.replace('.', '\\.')}$`,
      ),
    );
    expect(rows[3]).toMatch(
      /^lenet5\s+fashion-mnist\s+cnn\s+fashion-mnist\s+89\.\d\d%\s+-\s+yes\s+lenet5-fashion-mnist\.safetensors$/,
    );
    const none = await cnn({}, 'list', 'resnet*_cifar', '--pretrained');
    expect(none.out).toMatch(/no pretrained weights: .*resnet18_cifar/);
    expect(none.out).toMatch(/^resnet20_cifar\s+fashion-mnist/m);
  });
});

describe('cnn train --pretrained <id> --weights <name> (ImageNet weights, downloaded)', () => {
  it('fine-tunes the downloaded 1000-class weights on a 2-class folder: a new head, their input and normalisation', async () => {
    const two = join(tmp, 'two');
    const script = fileURLToPath(new URL('../scripts/fashion-mnist-folder.mjs', import.meta.url));
    const w = spawnSync(process.execPath, [script, two, '--classes', '7,9', '--train', '8', '--val', '4'], {
      encoding: 'utf8',
    });
    expect(w.status, w.stderr).toBe(0);
    const env = { CNN_WEIGHTS_URL: `${base}/mirror/` };
    const run = join(tmp, 'ft');
    const r = await cnn(
      env,
      'train',
      '--pretrained',
      'lenet5',
      '--weights',
      'T_CLI',
      '--dataset',
      'folder',
      '--data-dir',
      two,
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--freeze',
      'backbone',
      '--out',
      run,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/the 1000-class head of --pretrained lenet5 \(.+\) was dropped for a new 2-class head/);
    expect(r.out).toMatch(/fine-tuning from --pretrained lenet5 \(T_CLI\)/);
    expect(r.out).toMatch(/lenet5 on folder \(16 training \/ 8 test images, 28x28x3\)/);
    expect(r.out).toMatch(/top-2 1\.0000/);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.init).toEqual({
      kind: 'pretrained',
      source: 'lenet5',
      weights: 'T_CLI',
      id: 'lenet5',
      classes: 1000,
      inputSize: [28, 28, 3],
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      exactResize: false,
    });
    const bad = await cnn(env, 'train', '--pretrained', 'lenet5', '--weights', 'NOPE', '--dataset', 'folder');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^cnn: --weights 'NOPE': 'lenet5' has .*T_CLI/);
  }, 240_000);
});
