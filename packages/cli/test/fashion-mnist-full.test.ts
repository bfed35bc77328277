// Issue #8's acceptance run: `cnn train --model lenet5 --dataset fashion-mnist` on the full Debian Fashion-MNIST
// (60,000 training and 10,000 test images), on wasm, reaches at least 0.89 test accuracy within 5 epochs. It needs
// Debian's dataset-fashion-mnist package (.ci/run installs it) and takes a few minutes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DEBIAN = '/usr/share/datasets/fashion-mnist';

describe('cnn train on the full Fashion-MNIST', () => {
  it(
    'LeNet-5 reaches at least 0.89 test accuracy within 5 epochs on wasm',
    () => {
      expect(
        existsSync(join(DEBIAN, 'train-images-idx3-ubyte.gz')),
        `install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`,
      ).toBe(true);
      const out = join(mkdtempSync(join(tmpdir(), 'cnn-fmnist-')), 'run');
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          'train',
          '--model',
          'lenet5',
          '--dataset',
          'fashion-mnist',
          '--epochs',
          '5',
          '--backend',
          'wasm',
          '--out',
          out,
          '--quiet',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      console.log(r.stdout.trim());
      const history = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(history).toHaveLength(5);
      expect(history.every((h) => h.images === 60_000)).toBe(true);
      const result = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
      expect(result.total).toBe(10_000);
      expect(result.top1).toBeGreaterThanOrEqual(0.89);
    },
    30 * 60_000,
  );
});
