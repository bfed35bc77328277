import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function cnn(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cnn (built bin)', () => {
  it('lists models with params, MACs and input size', () => {
    const r = cnn('list', 'lenet*');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/lenet5\s+61,706\s+416,520\s+28x28x1/);
  });

  it('prints the lenet5 summary table', () => {
    const r = cnn('summary', 'lenet5');
    expect(r.code).toBe(0);
    expect(r.out).toContain('params: 61,706');
    expect(r.out).toContain('MACs: 416,520');
  });

  it('prints help for the command and each subcommand', () => {
    for (const args of [['--help'], ['list', '--help'], ['summary', '--help']]) {
      const r = cnn(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: cnn/);
    }
  });

  it('summarises any --input size without allocating it; an --input the model cannot take is a usage error', () => {
    const t0 = performance.now();
    const r = cnn('summary', 'resnet18', '--input', '100000x100000x3');
    console.log(`cnn summary resnet18 --input 100000x100000x3: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(r.code).toBe(0);
    expect(r.out).toContain('input [1, 100000, 100000, 3] -> output [1, 1000]');
    expect(r.out).toMatch(/conv1\s+Conv2d\s+\[1, 50000, 50000, 64\]/);
    for (const [args, msg] of [
      [
        ['summary', 'lenet5', '--input', '100000x100000x3'],
        /^cnn: --input 100000x100000x3 does not fit lenet5: linear: input has 74964004320 features, weight expects 120$/,
      ],
      [
        ['summary', 'lenet5', '--input', '28x28x5000'],
        /^cnn: --input 28x28x5000 does not fit lenet5: lenet5: option inChannels must be an integer from 1 to 4096, got 5000$/,
      ],
      [
        ['summary', 'resnet18', '--input', '3000000000x2x3'],
        /^cnn: --input 3000000000x2x3 does not fit resnet18: summary: inputShape \[3000000000, 2, 3\] is too large/,
      ],
    ] as const) {
      const e = cnn(...args);
      expect(e.code).toBe(2);
      expect(e.err.trim()).toMatch(msg);
    }
  }, 60_000);

  it('answers user errors with one line and exit code 2', () => {
    for (const [args, msg] of [
      [['--bogus'], /unknown option '--bogus'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [["it's"], /^cnn: unknown command "it's" \(see cnn --help\)$/],
      [['list', '--nope'], /^cnn: unknown option '--nope' for cnn list \(see cnn list --help\)$/],
      [['list', '--help=yes'], /^cnn: --help takes no value \(see cnn list --help\)$/],
      [['summary', 'nosuchnet'], /unknown model 'nosuchnet'; run 'cnn list'/],
      [['summary', 'lenet5', '--input', '28x28'], /--input must be HxWxC/],
    ] as const) {
      const r = cnn(...args);
      expect(r.code).toBe(2);
      expect(r.err.trim()).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});
