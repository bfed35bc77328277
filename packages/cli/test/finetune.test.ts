// Fine-tuning from `cnn train` end to end through the built bin: resnet20_cifar's shipped Fashion-MNIST weights on a
// 5-class PNG folder written by scripts/fashion-mnist-folder.mjs (a new head, the backbone frozen: its weights and its
// BatchNorm statistics unchanged), resumed like any run; summary.csv read back by Debian's pandas; `cnn compare`;
// the flags' messages; a 2-class run whose lines say top-2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '@cnn/layers';
import { checkpointInfo } from '@cnn/train';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../scripts/fashion-mnist-folder.mjs', import.meta.url));
const WEIGHTS = fileURLToPath(
  new URL('../../models-classic/weights/resnet20_cifar-fashion-mnist.safetensors', import.meta.url),
);
const PYTHON = '/usr/bin/python3';
const tmp = mkdtempSync(join(tmpdir(), 'cnn-finetune-'));
/** Generous: two shared cores, other test processes. */
const LIMIT_MS = 240_000;

function cnn(...args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env } });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

function tensors(file: string) {
  return readSafetensors(readFileSync(file)).tensors;
}

const FIVE = join(tmp, 'five');
const RUN = join(tmp, 'run');
const BASE = [
  'train',
  '--initial-checkpoint',
  WEIGHTS,
  '--num-classes',
  '5',
  '--dataset',
  'folder',
  '--data-dir',
  FIVE,
  '--batch-size',
  '32',
  '--lr',
  '0.05',
  '--seed',
  '1',
];
const FINETUNE = [...BASE, '--freeze', 'backbone'];
let first: ReturnType<typeof cnn>;

beforeAll(() => {
  const w = spawnSync(process.execPath, [SCRIPT, FIVE, '--train', '40', '--val', '20'], { encoding: 'utf8' });
  if (w.status !== 0) throw new Error(`fashion-mnist-folder.mjs failed: ${w.stderr}`);
  first = cnn(...FINETUNE, '--epochs', '1', '--out', RUN);
  if (first.code !== 0) throw new Error(`cnn train failed (${first.code}): ${first.err}`);
}, LIMIT_MS);

describe('cnn train --initial-checkpoint --num-classes 5 --freeze backbone --dataset folder', () => {
  it('the script wrote 5 classes of PNG files in train/ and val/', () => {
    expect(readdirSync(join(FIVE, 'train')).sort()).toEqual(['coat', 'dress', 'pullover', 't-shirt-top', 'trouser']);
    expect(readdirSync(join(FIVE, 'val', 'coat'))).toHaveLength(20);
    expect(readdirSync(join(FIVE, 'train', 'trouser'))).toHaveLength(40);
  });

  it('drops the 10-class head with a one-line notice and prints the frozen parameter count', () => {
    expect(first.err).toMatch(
      /^cnn train: the 10-class head of .*resnet20_cifar-fashion-mnist\.safetensors \(fc\) was dropped for a new 5-class head/m,
    );
    // resnet20_cifar: 269,109 parameters with a 5-class head (64 x 5 + 5 = 325 of them in fc).
    expect(first.out).toMatch(
      /--freeze backbone: 268,784 of 269,109 parameters frozen \(\d+ tensors\), 325 train; 19 normalisation layers keep their running statistics/,
    );
    expect(first.out).toMatch(/fine-tuning from .*resnet20_cifar-fashion-mnist\.safetensors/);
    console.log(`fine-tuning run: ${first.ms} ms`);
  });

  it('keeps the backbone bit for bit (weights and BatchNorm statistics) and trains a 5-class head', () => {
    const before = tensors(WEIGHTS);
    const after = tensors(join(RUN, 'last.safetensors'));
    let compared = 0;
    for (const [k, t] of before) {
      if (k.startsWith('fc.')) continue;
      const u = after.get(k);
      expect(u, k).toBeDefined();
      expect(
        Buffer.from(u!.data.buffer, u!.data.byteOffset, u!.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        `${k} unchanged`,
      ).toBe(true);
      compared++;
    }
    expect([...before.keys()].filter((k) => k.includes('running_mean')).length).toBe(19);
    expect(compared).toBeGreaterThan(100);
    expect(after.get('fc.weight')!.shape).toEqual([5, 64]);
    const meta = JSON.parse(checkpointInfo(readFileSync(join(RUN, 'last.safetensors'))).metadata['cnn.model']!);
    expect(meta).toMatchObject({ id: 'resnet20_cifar', numClasses: 5, inputSize: [28, 28, 1], mean: [0.286] });
    expect(meta.classes).toEqual(['coat', 'dress', 'pullover', 't-shirt-top', 'trouser']);
    const cfg = JSON.parse(readFileSync(join(RUN, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      model: 'resnet20_cifar',
      freeze: 'backbone',
      init: { kind: 'checkpoint', classes: 10 },
    });
  });

  it('reaches a useful accuracy in one epoch (the frozen features already separate the classes)', () => {
    const ev = JSON.parse(readFileSync(join(RUN, 'eval.json'), 'utf8'));
    expect(ev.total).toBe(100);
    expect(ev.top1).toBeGreaterThan(0.5);
  });

  it(
    'resumes like any run: epoch 2 goes on from the checkpoint, summary.csv gets its row',
    () => {
      const r = cnn('train', '--resume', RUN, '--epochs', '2');
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/resuming from .*last\.safetensors after epoch 1/);
      expect(r.out).toMatch(/--freeze backbone: 268,784 of 269,109 parameters frozen/);
      expect(r.err).not.toMatch(/head .* was dropped/);
      expect(checkpointInfo(readFileSync(join(RUN, 'last.safetensors'))).epoch).toBe(2);
      const before = tensors(WEIGHTS);
      const after = tensors(join(RUN, 'last.safetensors'));
      for (const k of ['conv1.weight', 'bn1.running_mean', 'layer3.2.bn2.running_var']) {
        expect([...after.get(k)!.data], k).toEqual([...before.get(k)!.data]);
      }
      const rows = readFileSync(join(RUN, 'summary.csv'), 'utf8').trim().split('\n');
      expect(rows[0]).toBe(
        'epoch,train_loss,train_top1,eval_loss,eval_top1,eval_top5,lr,steps,images,seconds,images_per_second',
      );
      expect(rows.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2']);
    },
    LIMIT_MS,
  );

  it('summary.csv reads in pandas, one row per epoch, the same numbers as metrics.jsonl', (ctx) => {
    // CI installs python3-pandas (.ci/run); only a machine without it skips this check, saying why.
    const probe = spawnSync(PYTHON, ['-c', 'import pandas'], { encoding: 'utf8' });
    ctx.skip(probe.status !== 0, `${PYTHON} cannot import pandas (apt-get install python3-pandas)`);
    const code = [
      'import json, sys, pandas as pd',
      'df = pd.read_csv(sys.argv[1], float_precision="round_trip")',
      'print(json.dumps({"columns": list(df.columns), "epochs": df["epoch"].tolist(), "top1": df["eval_top1"].tolist(), "loss": df["train_loss"].tolist(), "dtypes": sorted(set(str(t) for t in df.dtypes))}))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', code, join(RUN, 'summary.csv')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.epochs).toEqual([1, 2]);
    expect(got.dtypes).toEqual(['float64', 'int64']);
    const metrics = readFileSync(join(RUN, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(got.top1).toEqual(metrics.map((m) => m.valTop1));
    expect(got.loss).toEqual(metrics.map((m) => m.trainLoss));
  });

  it(
    'summary.csv is rebuilt on resume when it is missing (rows from the checkpoint, timing cells empty)',
    () => {
      const r0 = cnn(...BASE, '--epochs', '1', '--freeze', 'conv1,bn1,layer1', '--out', join(tmp, 'rebuilt'));
      expect(r0.code, r0.err).toBe(0);
      expect(r0.out).toMatch(/--freeze conv1,bn1,layer1: [\d,]+ of 269,109 parameters frozen/);
      spawnSync('rm', [join(tmp, 'rebuilt', 'summary.csv')]);
      const r = cnn('train', '--resume', join(tmp, 'rebuilt'), '--epochs', '1');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/summary\.csv: rebuilt epoch 1 from the checkpoint \(without the timing\)/);
      const rows = readFileSync(join(tmp, 'rebuilt', 'summary.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(rows).toHaveLength(2);
      expect(rows[1]).toMatch(/^1,[\d.e-]+,[\d.]+,[\d.e-]+,[\d.]+,1,[\d.e-]+,7,200,,$/);
    },
    LIMIT_MS,
  );
});

describe('cnn compare', () => {
  it('draws two runs on one picture (loss and accuracy, a colour per run) and prints their best epochs', () => {
    const out = join(tmp, 'cmp.svg');
    const r = cnn('compare', RUN, join(tmp, 'rebuilt'), '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^run\s+epochs\s+best test top-1\s+at epoch\s+last test top-1\s+last test loss$/m);
    expect(r.out).toMatch(/^run\s+2\s+0\.\d{4}\s+\d/m);
    expect(r.out).toMatch(/^rebuilt\s+1\s+/m);
    const svg = readFileSync(out, 'utf8');
    expect(svg.match(/<svg /g)).toHaveLength(3);
    for (const s of ['Loss', 'Accuracy', 'run test', 'run train', 'rebuilt test', 'rebuilt train'])
      expect(svg).toContain(`>${s}<`);
    expect(svg).toContain('stroke-dasharray');
  });

  it('refuses a folder without metrics.jsonl, and no runs, with a usage error', () => {
    let r = cnn('compare', FIVE);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnn compare: '.*five' has no metrics\.jsonl; is it a cnn train run folder\?/);
    r = cnn('compare');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnn compare needs run folders/);
    expect(r.err).not.toMatch(/cnn: cnn/);
  });
});

describe('cnn train: fine-tuning and augmentation flags', () => {
  it.each([
    [
      ['--freeze', 'layer9'],
      /--freeze 'layer9': no parameter of CifarResNet is named so or under it; its top-level names are conv1, bn1, layer1/,
    ],
    [['--freeze', 'conv1,bn1,layer1,layer2,layer3,fc'], /freezes every parameter; nothing would train/],
    [['--num-classes', '3'], /--num-classes 3, but --dataset folder has 5 classes/],
    [['--pretrained', 'resnet20_cifar'], /give --initial-checkpoint or --pretrained, not both/],
    [['--mixup', '0'], /--mixup must be a positive number up to 100, got '0'/],
    [['--color-jitter', '2'], /--color-jitter must be a non-negative number up to 1, got '2'/],
    [['--threads', '0'], /--threads must be a positive integer up to 1024, got '0'/],
    [['--workers', 'many'], /--workers must be a non-negative integer up to 64, got 'many'/],
    [['--backbone-lr-scale', '-1'], /--backbone-lr-scale must be a positive number up to 100, got '-1'/],
    [['--model', 'lenet5'], /--model 'lenet5': .* holds 'resnet20_cifar'/],
  ])('%j is a usage error', (extra, message) => {
    const args = extra[0] === '--freeze' ? BASE : FINETUNE;
    const r = cnn(...args, '--epochs', '1', '--out', join(tmp, 'never'), ...extra);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(tmp, 'never', 'last.safetensors'))).toBe(false);
  });

  it('--initial-checkpoint of a missing file, and --pretrained of an id without weights, are usage errors', () => {
    let r = cnn('train', '--initial-checkpoint', join(tmp, 'nope.safetensors'), '--dataset', 'folder');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--initial-checkpoint '.*nope\.safetensors' does not exist/);
    r = cnn('train', '--pretrained', 'resnet32_cifar', '--dataset', 'folder');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no pretrained weights for 'resnet32_cifar'; --pretrained takes .*resnet20_cifar/);
  });

  it(
    'a 2-class run with --mixup, --cutmix and --color-jitter says top-2, never top-5',
    () => {
      const two = join(tmp, 'two');
      const w = spawnSync(process.execPath, [SCRIPT, two, '--classes', '0,1', '--train', '24', '--val', '8'], {
        encoding: 'utf8',
      });
      expect(w.status, w.stderr).toBe(0);
      const r = cnn(
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'folder',
        '--data-dir',
        two,
        '--image-size',
        '28',
        '--epochs',
        '1',
        '--batch-size',
        '16',
        '--mixup',
        '0.2',
        '--cutmix',
        '1',
        '--color-jitter',
        '0.4',
        '--workers',
        '0',
        '--threads',
        '1',
        '--out',
        join(tmp, 'two-run'),
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/val_top2 1\.0000/);
      expect(r.out).toMatch(/test accuracy: \d\.\d{4} \(top-2 1\.0000, loss/);
      expect(r.out).not.toMatch(/top-?5/);
      expect(r.out).toMatch(/backend wasm( SIMD)?, 1 thread$/m);
      const cfg = JSON.parse(readFileSync(join(tmp, 'two-run', 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ mixup: 0.2, cutmix: 1, colorJitter: 0.4 });
      const ev = spawnSync(
        process.execPath,
        [CLI, 'eval', '--checkpoint', join(tmp, 'two-run', 'last.safetensors'), '--data-dir', two],
        {
          encoding: 'utf8',
          cwd: tmp,
        },
      );
      expect(ev.status, ev.stderr).toBe(0);
      expect(ev.stdout).toMatch(/top-1 \d\.\d{4}, top-2 1\.0000, loss/);
    },
    LIMIT_MS,
  );
});

describe('cnn: unknown flags and messages', () => {
  it.each([
    ['train', '--bogus'],
    ['train', "--b'x"],
    ['eval', '--nope=1'],
    ['predict', '-x'],
    ['compare', '--threads'],
    ['list', '--x"y'],
  ])('%s %s: one line naming the flag, exit code 2, balanced quotes', (cmd, flag) => {
    const r = cnn(cmd, flag);
    expect(r.code).toBe(2);
    const line = r.err.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(new RegExp(`^cnn: unknown option .*for cnn ${cmd} \\(see cnn ${cmd} --help\\)$`));
    expect(line).not.toMatch(/To specify a positional argument/);
    const quotes = line.replace(/"(?:[^"\\]|\\.)*"/g, '').match(/'/g) ?? [];
    expect(quotes.length % 2, line).toBe(0);
  });

  it('a bad CNN_THREADS is a usage error naming it; --threads wins over it', () => {
    const env = { ...process.env, CNN_THREADS: 'lots' };
    const args = [
      'train',
      '--model',
      'lenet5',
      '--dataset',
      'fashion-mnist-sample',
      '--epochs',
      '1',
      '--out',
      join(tmp, 'env'),
    ];
    let r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: tmp, env });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      `cnn: CNN_THREADS must be a whole number of threads from 1 to 1024, or 'auto'; got "lots"`,
    );
    // The test-only hook CNN_TEST_SUBSET keeps this run to 64 training and 32 test images.
    r = spawnSync(process.execPath, [CLI, ...args, '--threads', '1'], {
      encoding: 'utf8',
      cwd: tmp,
      env: { ...env, CNN_TEST_SUBSET: '64,32' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend wasm( SIMD)?, 1 thread$/m);
  });

  it("a command's own message is not prefixed twice ('cnn: cnn predict ...')", () => {
    const r = cnn('predict');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnn predict needs --checkpoint/);
  });
});
