// Fuzzes the file loaders (issue #19): deterministic mutants of small valid safetensors, torch .pth (zip and legacy),
// hand-made pickles, IDX (plain and gzip), CIFAR, PNG and JPEG files, and the hostile files, loaded through
// the public entry points (@cnn/layers loadWeights, @cnn/datasets MNIST / CIFAR10 / decodeImage / loadImage,
// @cnn/models-efficient loadImage) by child processes under a time cap per case and an address-space cap.
// fuzz/run.mjs holds the harness and says how to reproduce one case: `node packages/cli/test/fuzz/run.mjs --only <id>`.
// CNN_FUZZ_COUNT scales the corpus (default 720 mutants).
import { beforeAll, describe, expect, it } from 'vitest';
import { FORMATS, defaults, formatFailures, runFuzz, type FuzzReport } from './fuzz/run.mjs';

const settings = defaults();
let report: FuzzReport;

beforeAll(
  async () => {
    report = await runFuzz({ log: (line) => console.log(line) });
    const fixed = report.cases
      .filter((c) => c.expect === 'named')
      .map((c) => {
        const r = report.results.get(c.id);
        return `  ${c.id.padEnd(38)} ${String(r?.outcome).padEnd(6)} ${String(r?.ms ?? '?').padStart(6)} ms  ${r?.cls ?? r?.detail ?? r?.reason ?? ''}`;
      });
    console.log(
      `${report.table}\n(${report.seconds} s; address-space cap ${report.capMB} MB; time cap ${settings.timeoutMs} ms a case)\n` +
        `the issue's files:\n${fixed.join('\n')}`,
    );
  },
  settings.deadlineMs + 5 * 60_000,
);

describe('fuzzing the file loaders in child processes under a time and an address-space cap', () => {
  it('starts from valid files: every unmutated seed of every format loads', () => {
    const seeds = report.failures.filter((f) => f.kind === 'seed');
    expect(report.seedResults.size).toBeGreaterThanOrEqual(FORMATS.length);
    expect(seeds, formatFailures(seeds)).toEqual([]);
  });

  it(`${settings.count} seeded mutants each end loaded or in a named error: no hang, raw error, re-wrapped overflow, crash, out-of-memory or partial load`, () => {
    const mutants = report.cases.filter((c) => c.expect === 'any');
    expect(mutants).toHaveLength(settings.count);
    // Not vacuous: every format's mutants reached the loaders and were refused by name at least once.
    for (const format of FORMATS) {
      expect(
        mutants.some((c) => c.format === format && report.results.get(c.id)?.outcome === 'named'),
        format,
      ).toBe(true);
    }
    const failures = report.failures.filter((f) => f.kind !== 'seed' && !f.id.startsWith('fixed-'));
    if (failures.length)
      throw new Error(
        `${failures.length} of ${mutants.length} mutants failed:\n${formatFailures(failures)}\n\n${report.table}`,
      );
  });

  it("the issue's hostile files (LONG4 of 1 MB, 2^40-leaf and 100,000-deep keys, 200,000-deep shape, 16000x16000 PNG, 784 MB gzip IDX, /dev/zero, a FIFO) are each refused by name within the cap", () => {
    const fixed = report.cases.filter((c) => c.expect === 'named');
    expect(fixed.length).toBe(17);
    const failures = report.failures.filter((f) => f.id.startsWith('fixed-'));
    if (failures.length)
      throw new Error(
        `${failures.length} of ${fixed.length} of the issue's files were not refused by name:\n${formatFailures(failures)}`,
      );
    for (const c of fixed) expect(report.results.get(c.id)?.outcome, c.id).toBe('named');
  });
});
