// `cnn bench --threads` through the built bin: each model on each thread count (the wasm pool re-created for each),
// the forward speed-up over the first count, --forward-only; bad values are one-line UsageErrors with exit code 2.
// Times are printed, never asserted.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function cnn(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cnn bench --threads', () => {
  it('runs each model on 1 and 2 threads and gives the forward speed-up over the first count', () => {
    const t0 = performance.now();
    // A pattern: 'lenet*' is lenet5 alone.
    const r = cnn(
      'bench',
      '--model',
      'lenet*',
      '--batch-size',
      '4',
      '--iters',
      '2',
      '--threads',
      '1,2',
      '--forward-only',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.backend).toMatchObject({ backend: 'wasm', threads: 2 });
    expect(out.rows.map((x: { model: string; threads: number }) => [x.model, x.threads])).toEqual([
      ['lenet5', 1],
      ['lenet5', 2],
    ]);
    expect(out.rows[0].forwardSpeedup).toBe(1);
    expect(out.rows[1].forwardSpeedup).toBeGreaterThan(0);
    for (const row of out.rows) {
      expect(row.forwardImagesPerSecond).toBeGreaterThan(0);
      expect(row).not.toHaveProperty('trainMs');
    }
    console.log(
      `cnn bench --threads 1,2: ${(performance.now() - t0).toFixed(0)} ms; speed-up ${out.rows[1].forwardSpeedup.toFixed(2)}x`,
    );
  }, 120_000);

  it('the table names the thread count of each row and the speed-up column (no training columns with --forward-only)', () => {
    const r = cnn(
      'bench',
      '--model',
      'lenet5',
      '--batch-size',
      '2',
      '--iters',
      '1',
      '--threads',
      '2,1',
      '--forward-only',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^cnn bench: backend wasm SIMD, 2, 1 threads; batch 2, median of 1$/m);
    expect(r.out).toMatch(/threads .* speed-up vs 2/);
    expect(r.out).not.toMatch(/train ms/);
  }, 120_000);

  it('refuses bad thread counts and --threads off wasm with one line and exit code 2', () => {
    const must =
      /^cnn: --threads must be a whole number from 1 to 1024 or 'auto' \(or a comma-separated list of them\), got /;
    for (const [args, msg] of [
      [['--threads', '0'], must],
      [['--threads', '1.5'], must],
      [['--threads', 'two'], must],
      [['--threads', '2000'], must],
      [['--threads', '1,,2'], must],
      [['--threads', '-1'], must],
      [['--threads', '1,2,3,4,5,6,7,8,9'], /^cnn: --threads takes at most 8 counts, got 9$/],
      [['--threads', '2', '--backend', 'cpu'], /^cnn: --threads applies to the wasm backend only, got --backend cpu$/],
    ] as const) {
      const r = cnn('bench', '--model', 'lenet5', ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err.trim()).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    }
  }, 120_000);

  it('a --model pattern that matches no id is a UsageError', () => {
    const r = cnn('bench', '--model', 'nosuch*', '--threads', '1');
    expect(r.code, r.err).toBe(2);
    expect(r.err.trim()).toMatch(/^cnn: --model 'nosuch\*' matches no model id \(cnn list shows them\)$/);
  }, 60_000);
});
