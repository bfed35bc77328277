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
