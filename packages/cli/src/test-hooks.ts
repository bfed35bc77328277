// Test-only hooks of `cnn train`, read from the environment. They exist so the test suite can kill a real run at
// exact moments inside its writes and keep such runs small; nothing sets them in normal use, and with them unset
// the command behaves as if this file did not exist.
//
// - CNN_TEST_KILL_AT=<kind>:<n>:<stage> makes the process SIGKILL itself at `stage` of its n-th write of `kind`
//   (counted from 1 in this process): kinds are the run folder's writes (see WriteKind in run-folder.ts); stages of
//   a whole-file write are `opened` (the temporary file exists, empty), `flushed` (it is complete, not yet renamed)
//   and `renamed` (the file is in place); stages of a line appended to a log are `torn` (half the line written and
//   flushed) and `appended` (the whole line written and flushed).
// - CNN_TEST_SUBSET=<train>,<test> trains and evaluates on that many images of each split (spread evenly over it).
// - CNN_TEST_PRETRAINED=<JSON array of PretrainedEntry> registers test-only weights entries (registerPretrained), so
//   that `cnn predict --pretrained` and `cnn list --pretrained` can be tested against a local server's fixtures.
import type { Dataset } from '@cnn/datasets';
import { registerPretrained, type PretrainedEntry } from '@cnn/models-efficient';

/** Stages of a run-folder write at which CNN_TEST_KILL_AT can stop the process. */
export type WriteStage = 'opened' | 'flushed' | 'renamed' | 'torn' | 'appended';

const STAGES: readonly WriteStage[] = ['opened', 'flushed', 'renamed', 'torn', 'appended'];

interface KillAt {
  kind: string;
  n: number;
  stage: WriteStage;
}

let killAt: KillAt | null | undefined;

function parseKillAt(): KillAt | null {
  const v = process.env.CNN_TEST_KILL_AT;
  if (v === undefined || v === '') return null;
  const m = /^([a-z-]+):(\d+):([a-z]+)$/.exec(v);
  if (!m || !(STAGES as readonly string[]).includes(m[3]!) || Number(m[2]) < 1) {
    throw new Error(
      `CNN_TEST_KILL_AT (a test-only hook) must be <kind>:<n>:<stage> with n >= 1 and stage one of ${STAGES.join(', ')}; got ${JSON.stringify(v.slice(0, 80))}`,
    );
  }
  return { kind: m[1]!, n: Number(m[2]), stage: m[3] as WriteStage };
}

/** Whether the hook is set at all (checked once, at the first write). */
function target(): KillAt | null {
  if (killAt === undefined) killAt = parseKillAt();
  return killAt;
}

/** Checks the environment's hooks up front, so a mistyped one fails before the run starts. */
export function checkTestHooks(): void {
  target();
  testSubsetSizes();
}

/** Whether CNN_TEST_KILL_AT asks for a kill at `stage` of the `n`-th write of `kind`. */
export function killWanted(kind: string, n: number, stage: WriteStage): boolean {
  const t = target();
  return t !== null && t.kind === kind && t.n === n && t.stage === stage;
}

/** SIGKILLs this process, as `kill -9` from outside would: no handler, no flush, no exit code. */
export function killSelf(): never {
  process.kill(process.pid, 'SIGKILL');
  // The signal is delivered at once; block until it lands rather than run on.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}

/** Kills the process when CNN_TEST_KILL_AT names this moment. */
export function killPoint(kind: string, n: number, stage: WriteStage): void {
  if (killWanted(kind, n, stage)) killSelf();
}

function testSubsetSizes(): [number, number] | null {
  const v = process.env.CNN_TEST_SUBSET;
  if (v === undefined || v === '') return null;
  const m = /^(\d+),(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new Error(
      `CNN_TEST_SUBSET (a test-only hook) must be <train>,<test> image counts >= 1; got ${JSON.stringify(v.slice(0, 80))}`,
    );
  return [Number(m[1]), Number(m[2])];
}

/** The dataset itself, or (CNN_TEST_SUBSET) a view of `n` of its items spread evenly over it. */
export function testSubset(ds: Dataset, train: boolean): Dataset {
  const sizes = testSubsetSizes();
  if (sizes === null) return ds;
  const n = Math.min(ds.length, train ? sizes[0] : sizes[1]);
  const step = ds.length / n;
  return {
    length: n,
    classes: ds.classes,
    stats: ds.stats,
    get: (i, rng) => ds.get(Math.floor(i * step), rng),
  };
}

/** Registers the entries of CNN_TEST_PRETRAINED, if set (a test-only hook; see the top of this file). */
export function registerTestPretrained(): void {
  const v = process.env.CNN_TEST_PRETRAINED;
  if (v === undefined || v === '') return;
  let entries: unknown;
  try {
    entries = JSON.parse(v);
  } catch {
    throw new Error('CNN_TEST_PRETRAINED (a test-only hook) must be a JSON array of weights entries');
  }
  if (!Array.isArray(entries))
    throw new Error('CNN_TEST_PRETRAINED (a test-only hook) must be a JSON array of weights entries');
  for (const e of entries) registerPretrained(e as PretrainedEntry);
}
