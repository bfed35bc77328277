// `cnn train`, `eval`, `predict`, `bench` end to end through the built bin, on the embedded Fashion-MNIST sample:
// the run folder, a run killed with SIGKILL mid-training and resumed ending with the same checkpoint bytes as an
// uninterrupted one (test/kill.test.ts kills inside each kind of write),
// and the messages for wrong flags and missing datasets.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { FashionMNIST } from '@cnn/datasets';
import { readSafetensors, writeSafetensors } from '@cnn/layers';
import { checkpointInfo } from '@cnn/train';
import { getCard } from '@cnn/models-efficient';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cnn-cli-'));

function cnn(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmp });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Three epochs of LeNet-5 on the sample, seeded: the reference run every other test reads.
const TRAIN = [
  'train',
  '--model',
  'lenet5',
  '--dataset',
  'fashion-mnist-sample',
  '--epochs',
  '3',
  '--batch-size',
  '64',
  '--seed',
  '3',
  '--quiet',
];
let straight: string;

function tensorBytes(file: string): Map<string, Buffer> {
  const f = readSafetensors(readFileSync(file));
  return new Map([...f.tensors].map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

beforeAll(() => {
  straight = join(tmp, 'straight');
  const r = cnn(...TRAIN, '--out', straight);
  if (r.code !== 0) throw new Error(`cnn train failed (${r.code}): ${r.err}`);
}, 120_000);

describe('cnn train', () => {
  it('writes the run folder: config, metrics per epoch, best and last checkpoints, pictures, the final evaluation', () => {
    const files = readdirSync(straight).sort();
    expect(files).toEqual([
      'accuracy.svg',
      'best.safetensors',
      'config.json',
      'confusion-matrix.svg',
      'eval.json',
      'last.safetensors',
      'loss.svg',
      'metrics.jsonl',
      'summary.csv',
    ]);
    const cfg = JSON.parse(readFileSync(join(straight, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      model: 'lenet5',
      dataset: 'fashion-mnist-sample',
      epochs: 3,
      batchSize: 64,
      seed: 3,
      optimizer: 'sgd',
      schedule: 'cosine',
      backend: 'wasm',
    });
    const lines = readFileSync(join(straight, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    expect(lines[2].trainLoss).toBeLessThan(lines[0].trainLoss);
    const evalJson = JSON.parse(readFileSync(join(straight, 'eval.json'), 'utf8'));
    expect(evalJson.top1).toBe(lines[2].valTop1);
    expect(evalJson.top1).toBeGreaterThan(0.6);
    expect(evalJson.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(1000);
    const info = checkpointInfo(readFileSync(join(straight, 'last.safetensors')));
    expect(info.epoch).toBe(3);
    expect(info.globalStep).toBe(3 * Math.ceil(3000 / 64));
    expect(JSON.parse(info.metadata['cnn.model']!)).toMatchObject({
      id: 'lenet5',
      numClasses: 10,
      inputSize: [28, 28, 1],
      dataset: 'fashion-mnist-sample',
    });
    expect(readFileSync(join(straight, 'confusion-matrix.svg'), 'utf8')).toContain('Ankle boot');
    expect(readFileSync(join(straight, 'loss.svg'), 'utf8').match(/<polyline/g)).toHaveLength(2);
  });

  it('survives SIGKILL: a run killed mid-training and resumed ends bit-identical to the uninterrupted run', async () => {
    const dir = join(tmp, 'killed');
    const child = spawn(process.execPath, [CLI, ...TRAIN, '--out', dir], { cwd: tmp, stdio: 'ignore' });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    // Wait for the first epoch's checkpoint, then kill it a little later, during epoch 2.
    const t0 = Date.now();
    while (!existsSync(join(dir, 'metrics.jsonl')) || readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim() === '') {
      if (Date.now() - t0 > 60_000) throw new Error('the first epoch never finished');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await exited;
    const killedAt = checkpointInfo(readFileSync(join(dir, 'last.safetensors'))).epoch;
    expect(killedAt).toBeGreaterThanOrEqual(1);
    expect(killedAt).toBeLessThan(3);
    const r = cnn('train', '--resume', dir, '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy: \d\.\d{4}/);
    const a = tensorBytes(join(straight, 'last.safetensors'));
    const b = tensorBytes(join(dir, 'last.safetensors'));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
    // Not only the tensors: the whole files, header (training state, no timing) included.
    for (const f of ['last.safetensors', 'best.safetensors', 'eval.json']) {
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(straight, f))), `${f} is byte-identical`).toBe(true);
    }
    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).epoch);
    expect(metrics).toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 120_000);

  it("refuses to change a resumed run's settings, and to overwrite a run", () => {
    let r = cnn('train', '--resume', straight, '--lr', '0.1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--lr cannot change them/);
    r = cnn(...TRAIN, '--out', straight);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/already holds a run; .*--resume/);
    r = cnn('train', '--resume', join(tmp, 'nothing-here'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/does not exist/);
  });
});

describe('cnn eval and predict', () => {
  it('evaluates a checkpoint on its own dataset: the same top-1 as the run, and per-class scores', () => {
    const r = cnn('eval', '--checkpoint', join(straight, 'best.safetensors'), '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    const evalJson = JSON.parse(readFileSync(join(straight, 'eval.json'), 'utf8'));
    expect(out.top1).toBe(evalJson.top1);
    expect(out.confusion.perClass).toHaveLength(10);
    const text = cnn('eval', '--checkpoint', join(straight, 'best.safetensors'));
    expect(text.out).toMatch(/^lenet5 on fashion-mnist-sample \(1000 test images\): top-1 0\.\d{4}/);
    expect(text.out).toMatch(/Ankle boot\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}\s+100/);
  });

  it('predicts image files: top classes with scores that agree with the labels most of the time', async () => {
    const test = await FashionMNIST.sample({ train: false });
    const files: string[] = [];
    const labels: string[] = [];
    for (let i = 0; i < 20; i++) {
      const s = test.get(i * 50);
      const f = join(tmp, `img${i}.png`);
      await sharp(Buffer.from(s.image.data as Uint8Array), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(f);
      files.push(f);
      labels.push(test.classes[s.label]!);
    }
    const r = cnn('predict', '--checkpoint', join(straight, 'best.safetensors'), '--top', '2', '--json', ...files);
    expect(r.code, r.err).toBe(0);
    const preds = JSON.parse(r.out) as Array<{ image: string; top: Array<{ label: string; score: number }> }>;
    expect(preds).toHaveLength(20);
    for (const p of preds) {
      expect(p.top).toHaveLength(2);
      expect(p.top[0]!.score).toBeGreaterThanOrEqual(p.top[1]!.score);
    }
    const right = preds.filter((p, i) => p.top[0]!.label === labels[i]).length;
    expect(right).toBeGreaterThanOrEqual(12);
    const text = cnn('predict', '--checkpoint', join(straight, 'best.safetensors'), files[0]!);
    expect(text.out).toMatch(/img0\.png: [\w/ -]+ 0\.\d{3}, [\w/ -]+ 0\.\d{3}, [\w/ -]+ 0\.\d{3}\n$/);
  });
});

describe('cnn eval and predict with the shipped weights (--pretrained)', () => {
  it('evaluates the shipped LeNet-5 on the full Fashion-MNIST test split at the accuracy of its card', () => {
    const r = cnn('eval', '--pretrained', 'lenet5', '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.dataset).toBe('fashion-mnist');
    expect(out.total).toBe(10_000);
    expect(out.top1).toBeCloseTo(getCard('lenet5').weights![0]!.top1, 3);
  });
});

describe('cnn bench', () => {
  it('times inference and training of a model and prints images per second', () => {
    const r = cnn('bench', '--model', 'lenet5', '--batch-size', '8', '--iters', '2', '--json');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.backend.backend).toBe('wasm');
    expect(out.rows[0]).toMatchObject({ model: 'lenet5', input: '28x28x1', batch: 8, macs: 416_520 });
    expect(out.rows[0].forwardImagesPerSecond).toBeGreaterThan(0);
    expect(out.rows[0].trainImagesPerSecond).toBeGreaterThan(0);
  });
});

describe('cnn: messages that say what to do', () => {
  it('prints help for every command', () => {
    for (const c of ['train', 'eval', 'predict', 'bench']) {
      const r = cnn(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: cnn ${c}`));
    }
  });

  it('answers wrong flags and missing datasets with one line and exit code 2', () => {
    const aFile = join(tmp, 'a-file.txt');
    writeFileSync(aFile, 'not a folder\n');
    // Weights files whose 'cnn.model' entry asks for what a transform or a model would refuse (or crash on) later.
    const best = readSafetensors(readFileSync(join(straight, 'best.safetensors')));
    const info = JSON.parse(best.metadata['cnn.model']!);
    const withInfo = (name: string, json: string): string => {
      const file = join(tmp, name);
      writeFileSync(file, writeSafetensors(best.tensors, { ...best.metadata, 'cnn.model': json }));
      return file;
    };
    const huge = withInfo('huge-input.safetensors', JSON.stringify({ ...info, inputSize: [100000, 100000, 1] }));
    const deep = withInfo(
      'deep-info.safetensors',
      `{"id":"lenet5","classes":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
    );
    const fewClasses = withInfo('few-classes.safetensors', JSON.stringify({ ...info, classes: ['a', 'b'] }));
    const escaping = withInfo(
      'escaping-class.safetensors',
      JSON.stringify({ ...info, dataset: 'folder', classes: ['../../secret', ...info.classes.slice(1)] }),
    );
    const folder = join(tmp, 'folder-data');
    mkdirSync(join(folder, 'val', 'a'), { recursive: true });
    // A project folder with a config.json of its own: never taken for a killed run's folder, so never emptied.
    const project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'config.json'), '{"name": "my-app"}\n');
    for (const [args, msg] of [
      [['train', '--model', 'lenet5'], /needs --dataset/],
      [['train', '--dataset', 'mnist'], /needs --model/],
      [['train', '--model', 'nosuch', '--dataset', 'mnist'], /unknown model 'nosuch'; run 'cnn list'/],
      [
        ['train', '--model', 'lenet5', '--dataset', 'imagenet'],
        /--dataset must be one of fashion-mnist, fashion-mnist-sample, mnist/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'mnist'],
        /--dataset mnist needs --data-dir: pass --data-dir <folder with train-images-idx3-ubyte/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'cifar10', '--data-dir', join(tmp, 'no-cifar')],
        /--data-dir '.*no-cifar' does not exist/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist', '--data-dir', tmp],
        /dataset 'fashion-mnist': .*apt-get install dataset-fashion-mnist/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--epochs', '0'],
        /--epochs must be a positive integer up to 100000, got '0'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--epochs', '-1'],
        /--epochs must be a positive integer up to 100000, got '-1'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--epochs=-1'],
        /--epochs must be a positive integer up to 100000, got '-1'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--lr', 'fast'],
        /--lr must be a positive number, got 'fast'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--lr', '-1'],
        /--lr must be a positive number, got '-1'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--lr', '0'],
        /--lr must be a positive number, got '0'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--momentum', '-0.5'],
        /--momentum must be a non-negative number up to 1, got '-0.5'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--seed', '-1e3'],
        /--seed must be a non-negative integer up to 2147483647, got '-1e3'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--image-size', '20000'],
        /^cnn: --image-size must be an integer in \[8, 1024\], got '20000'$/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--image-size', '-28'],
        /^cnn: --image-size must be an integer in \[8, 1024\], got '-28'$/,
      ],
      [
        ['eval', '--checkpoint', huge],
        /huge-input\.safetensors: its 'cnn\.model' header entry has inputSize \[100000,100000,1\]; want \[height, width, channels\] with sides in \[1, 4096\]/,
      ],
      [
        ['predict', '--checkpoint', huge, 'a.png'],
        /huge-input\.safetensors: its 'cnn\.model' header entry has inputSize/,
      ],
      [
        ['eval', '--checkpoint', deep],
        /deep-info\.safetensors: its 'cnn\.model' header entry nests deeper than 8 levels/,
      ],
      [
        ['eval', '--checkpoint', fewClasses],
        /few-classes\.safetensors: its 'cnn\.model' header entry has classes \["a","b"\]; want 10 class names/,
      ],
      [
        ['eval', '--checkpoint', escaping, '--data-dir', folder],
        /^cnn: ImageFolder: class '\.\.\/\.\.\/secret' \(classes\[0\]\) .*a class names a folder inside the root$/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--bogus'],
        /^cnn: unknown option '--bogus' for cnn train \(see cnn train --help\)$/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', "--bo'gus"],
        /^cnn: unknown option "--bo'gus" for cnn train \(see cnn train --help\)$/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--epochs'],
        /^cnn: --epochs needs a value \(see cnn train --help\)$/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--out', '-x'],
        /--out needs a value, and the next word starts with '-'; to give such a value write --out=<value>/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--augment=yes'],
        /^cnn: --augment takes no value/,
      ],
      [['train', '--model', "it's", '--dataset', 'fashion-mnist-sample'], /^cnn: unknown model "it's"; run 'cnn list'/],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--out', aFile],
        /^cnn: --out '.*a-file\.txt' is a file, not a folder; give a folder for the run/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--out', join(aFile, 'run')],
        /^cnn: --out '.*a-file\.txt\/run' cannot be created: '.*a-file\.txt' is a file, not a folder$/,
      ],
      [['train', '--resume', tmp], /^cnn: --resume '.*': .*config\.json is missing; is this a cnn run folder\?$/],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--out', project],
        /^cnn: --out '.*project' holds a config\.json that is not a cnn run's; pick another folder for the run$/,
      ],
      [
        ['train', '--model', 'alexnet', '--dataset', 'fashion-mnist-sample'],
        /model 'alexnet' cannot take 28x28x1 images .*--image-size/,
      ],
      [['eval'], /needs --checkpoint/],
      [['eval', '--checkpoint', join(tmp, 'none.safetensors')], /cannot be read \(ENOENT\)/],
      [['predict', '--checkpoint', 'x.safetensors'], /at least one image/],
      [['bench', '--model', 'nosuch'], /unknown model 'nosuch'/],
      [
        ['eval', '--pretrained', 'vgg11'],
        /no trained weights ship with 'vgg11'; --pretrained takes lenet5, resnet20_cifar/,
      ],
      [['predict', '--pretrained', 'lenet5', '--checkpoint', 'x', 'a.png'], /--checkpoint or --pretrained, not both/],
      [
        ['train', '--initial-checkpoint', join(tmp, 'none.safetensors'), '--dataset', 'folder'],
        /--initial-checkpoint '.*none\.safetensors' does not exist/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--cutmix', 'x'],
        /--cutmix must be a positive number up to 100, got 'x'/,
      ],
      [
        ['train', '--model', 'lenet5', '--dataset', 'fashion-mnist-sample', '--weights', 'w'],
        /--weights <name> picks the weights of --pretrained <id>/,
      ],
      [['train', '--resume', straight, '--freeze', 'backbone'], /--freeze cannot change them/],
      [['compare'], /^cnn compare needs run folders/],
      [['compare', tmp], /has no metrics\.jsonl; is it a cnn train run folder\?/],
    ] as const) {
      const r = cnn(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err.trim()).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(readFileSync(join(project, 'config.json'), 'utf8')).toBe('{"name": "my-app"}\n');
  }, 300_000); // about 50 child processes: generous for a loaded machine (92 s seen with the fuzz and kill tests beside it)
});
