// kill -9 of `cnn train`, for real: child processes of the built bin, killed with SIGKILL inside each kind of write
// of the run folder (the test-only hook CNN_TEST_KILL_AT makes the child kill itself at an exact moment: the
// temporary file just opened, flushed but not renamed, renamed; a log line torn half-way or whole) and at seeded
// random moments, then resumed (or restarted with --out). After each, the run folder must be the one an
// uninterrupted run writes: no temporary file, metrics.jsonl with epochs 1, 2, 3 once each and in order, and every
// other file (last.safetensors, best.safetensors, config.json, eval.json, the pictures) byte-identical.
// Small on purpose (CNN_TEST_SUBSET: 256 training and 128 test images, 4 steps an epoch): the cost is the
// processes, about 2 s each.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cnn-kill-'));
const ENV = { ...process.env, CNN_TEST_SUBSET: '256,128', CNN_TEST_KILL_AT: '' };
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
/** Generous: one of these processes takes about 2 s on an idle 2-core machine. */
const PROCESS_LIMIT_MS = 120_000;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function cnn(args: string[], killAt = ''): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...ENV, CNN_TEST_KILL_AT: killAt },
    timeout: PROCESS_LIMIT_MS,
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Continues a killed run the way a user would: --resume when it has a config.json, else the same command again. */
function carryOn(dir: string, killAt = ''): Result {
  return existsSync(join(dir, 'config.json'))
    ? cnn(['train', '--resume', dir, '--quiet'], killAt)
    : cnn([...TRAIN, '--out', dir], killAt);
}

function withoutTiming(line: string): Record<string, unknown> {
  const r = JSON.parse(line) as Record<string, unknown>;
  delete r.seconds;
  delete r.imagesPerSecond;
  return r;
}

let reference: string;
let referenceFiles: string[];

/** The folder must be what the uninterrupted run wrote (see the head of this file). */
function expectLikeReference(dir: string, extraFiles: string[] = []): void {
  const files = readdirSync(dir).sort();
  expect(
    files.filter((f) => f.endsWith('.tmp')),
    'temporary files',
  ).toEqual([]);
  expect(files).toEqual([...referenceFiles, ...extraFiles].sort());
  for (const f of referenceFiles) {
    if (f === 'metrics.jsonl' || f === 'summary.csv') continue;
    expect(readFileSync(join(dir, f)).equals(readFileSync(join(reference, f))), `${f} is byte-identical`).toBe(true);
  }
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n');
  expect(lines.pop(), 'metrics.jsonl ends with a newline').toBe('');
  expect(lines.map((l) => JSON.parse(l).epoch)).toEqual([1, 2, 3]);
  const want = readFileSync(join(reference, 'metrics.jsonl'), 'utf8').trim().split('\n');
  expect(lines.map(withoutTiming)).toEqual(want.map(withoutTiming));
  // summary.csv: the same header and epochs, the same values but the timing (the last two columns).
  const rows = readFileSync(join(dir, 'summary.csv'), 'utf8').split('\n');
  expect(rows.pop(), 'summary.csv ends with a newline').toBe('');
  const untimed = (row: string) => row.split(',').slice(0, -2).join(',');
  const wantRows = readFileSync(join(reference, 'summary.csv'), 'utf8').trim().split('\n');
  expect(rows.map(untimed)).toEqual(wantRows.map(untimed));
}

beforeAll(() => {
  reference = join(tmp, 'reference');
  const r = cnn([...TRAIN, '--out', reference]);
  if (r.code !== 0) throw new Error(`cnn train failed (${r.code}): ${r.err}`);
  referenceFiles = readdirSync(reference).sort();
  const best = readFileSync(join(reference, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).valTop1 as number);
  // The scenarios below kill inside best.safetensors writes of epochs 2 and 3: each epoch must improve on the last.
  if (!(best[0]! < best[1]! && best[1]! < best[2]!))
    throw new Error(`the reference run's test top-1 does not rise every epoch: ${best.join(', ')}`);
}, PROCESS_LIMIT_MS);

// Writes of the run, counted per kind in each process: config 1; metrics 1 (the empty file), 2, 3, 4 (the lines of
// epochs 1, 2, 3); summary likewise (1 the header, 2-4 the lines; each epoch's after its metrics line); last and best 1, 2, 3 (epochs 1, 2, 3: each epoch improves); picture 1-6 (loss.svg and
// accuracy.svg of epochs 1-3) and 7 (confusion-matrix.svg); eval 1. Two more moments have tests of their own below:
// config:1:flushed (no config.json yet) and last:1:flushed (--out reuses the folder).
const SCENARIOS: Array<{ at: string; says?: RegExp; thenAt?: string }> = [
  { at: 'config:1:opened', says: /removed 1 temporary file/ },
  { at: 'config:1:renamed', says: /no checkpoint in .* yet .*starting it from scratch/ },
  { at: 'metrics:1:flushed', says: /no checkpoint in .* yet .*starting it from scratch/ },
  { at: 'metrics:2:torn', says: /starting it from scratch/ },
  {
    at: 'last:1:opened',
    says: /starting it from scratch.*\n.*removed 1 temporary file of a killed write \(\.last\.safetensors\./,
  },
  { at: 'metrics:3:torn', says: /metrics\.jsonl: cut a torn last line/ },
  { at: 'metrics:3:appended', says: /metrics\.jsonl: dropped 1 line of epochs after 1/ },
  { at: 'summary:3:torn', says: /metrics\.jsonl: dropped 1 line .*\n.*summary\.csv: cut a torn last line/ },
  { at: 'summary:3:appended', says: /summary\.csv: dropped 1 line of epochs after 1/ },
  { at: 'last:2:flushed', says: /removed 1 temporary file .*metrics\.jsonl: dropped 1 line/s },
  {
    at: 'last:2:renamed',
    says: /best\.safetensors: rewritten from the checkpoint, whose epoch 2 is the best so far \(the file held epoch 1\)/,
  },
  {
    at: 'best:2:opened',
    says: /best\.safetensors: rewritten from the checkpoint, whose epoch 2 is the best so far \(the file held epoch 1\)/,
  },
  { at: 'best:3:flushed', says: /best\.safetensors: rewritten from the checkpoint, whose epoch 3 is the best so far/ },
  { at: 'picture:3:flushed' },
  { at: 'eval:1:flushed', says: /removed 1 temporary file of a killed write \(\.eval\.json\./ },
  // Killed again while the resume repairs the folder.
  {
    at: 'last:2:renamed',
    thenAt: 'best:1:flushed',
    says: /removed 1 temporary file .*\n.*best\.safetensors: rewritten from the checkpoint, whose epoch 2/,
  },
  { at: 'metrics:3:appended', thenAt: 'metrics:1:renamed' },
];

describe('cnn train killed with SIGKILL inside each kind of write', () => {
  for (const s of SCENARIOS) {
    it(
      `${s.at}${s.thenAt ? `, then its resume at ${s.thenAt}` : ''}: resumes to the uninterrupted run's files`,
      () => {
        const t0 = Date.now();
        const dir = join(tmp, `${s.at}-${s.thenAt ?? ''}`.replace(/[^a-z0-9-]/gi, '_'));
        const killed = cnn([...TRAIN, '--out', dir], s.at);
        expect(killed.signal, `the child was to kill itself at ${s.at}: ${killed.err}`).toBe('SIGKILL');
        if (s.thenAt) {
          const again = carryOn(dir, s.thenAt);
          expect(again.signal, `the resume was to kill itself at ${s.thenAt}: ${again.err}`).toBe('SIGKILL');
        }
        const r = carryOn(dir);
        expect(r.code, r.err).toBe(0);
        if (s.says) expect(r.err).toMatch(s.says);
        expect(r.out).toMatch(/test accuracy: \d\.\d{4} .* after 3 epochs/);
        expectLikeReference(dir);
        console.log(
          `kill at ${s.at}${s.thenAt ? ` then ${s.thenAt}` : ''}: recovered in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
      },
      3 * PROCESS_LIMIT_MS,
    );
  }

  it(
    'a run killed before config.json was written cannot be resumed (it says to start it again with --out) and --out reuses it',
    () => {
      const dir = join(tmp, 'no-config');
      expect(cnn([...TRAIN, '--out', dir], 'config:1:flushed').signal).toBe('SIGKILL');
      const r = cnn(['train', '--resume', dir]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        /killed before it wrote config\.json; start it again with its flags and --out .*no-config \(the folder is reused\)/,
      );
      expect(r.err.trim().split('\n')).toHaveLength(1);
      const again = cnn([...TRAIN, '--out', dir]);
      expect(again.code, again.err).toBe(0);
      expectLikeReference(dir);
    },
    3 * PROCESS_LIMIT_MS,
  );

  it(
    '--out onto the folder of a run killed before its first checkpoint reuses it, saying so',
    () => {
      const dir = join(tmp, 'reuse');
      expect(cnn([...TRAIN, '--out', dir], 'last:1:flushed').signal).toBe('SIGKILL');
      const r = cnn([...TRAIN, '--out', dir]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(
        /reusing .*reuse: its run was killed before its first checkpoint \(removed config\.json, metrics\.jsonl, summary\.csv, 1 temporary file\)/,
      );
      expectLikeReference(dir);
    },
    3 * PROCESS_LIMIT_MS,
  );
});

/** mulberry32: the seeded moments of the random kills. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('cnn train killed with SIGKILL at seeded random moments', () => {
  const next = rng(19);
  for (let i = 0; i < 3; i++) {
    // Anywhere from start-up to the end of a run (about 2.5 s on an idle machine; later, on a busy one).
    const delay = Math.round(300 + next() * 2700);
    it(
      `kill #${i + 1}, ${delay} ms after the start: resumes to the uninterrupted run's files`,
      async () => {
        const dir = join(tmp, `random-${i}`);
        const child = spawn(process.execPath, [CLI, ...TRAIN, '--out', dir], { cwd: tmp, env: ENV, stdio: 'ignore' });
        const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
        await new Promise((r) => setTimeout(r, delay));
        child.kill('SIGKILL');
        const signal = await exited;
        const state = existsSync(dir) ? readdirSync(dir).sort().join(' ') : '(no folder)';
        const r = carryOn(dir);
        expect(r.code, r.err).toBe(0);
        expectLikeReference(dir);
        console.log(`random kill #${i + 1} at ${delay} ms (${signal ?? 'had exited'}): left ${state}`);
      },
      3 * PROCESS_LIMIT_MS,
    );
  }
});

describe('cnn train --resume of a folder whose metrics.jsonl lost lines', () => {
  it(
    "rebuilds them from the checkpoint's records, in order, without the timing",
    () => {
      // What a kill between the checkpoint and the metrics line left before this protocol: epochs 1, 3 (2 lost).
      const dir = join(tmp, 'lost-line');
      expect(cnn([...TRAIN, '--out', dir]).code).toBe(0);
      const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
      writeFileSync(join(dir, 'metrics.jsonl'), `${lines[0]}\n${lines[2]}\n`);
      const r = cnn(['train', '--resume', dir, '--quiet']);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/metrics\.jsonl: rebuilt epoch 2 from the checkpoint \(without the timing\)/);
      expect(r.out).toMatch(/training: [\d.]+ s in all epochs \(1 without timing\)/);
      const now = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(now[0]).toBe(lines[0]);
      expect(now[2]).toBe(lines[2]);
      expect(JSON.parse(now[1]!)).toEqual(withoutTiming(lines[1]!));
      expect(JSON.parse(now[1]!).seconds).toBeUndefined();
      expectLikeReference(dir);
    },
    3 * PROCESS_LIMIT_MS,
  );
});

describe('cnn train --resume from an earlier checkpoint file', () => {
  it(
    'rolls the folder back to it: last replaced, later metrics lines cut, a later best kept aside, the stale evaluation removed',
    () => {
      const dir = join(tmp, 'rollback');
      expect(cnn([...TRAIN, '--out', dir], 'metrics:3:appended').signal).toBe('SIGKILL');
      copyFileSync(join(dir, 'last.safetensors'), join(dir, 'epoch1.safetensors'));
      expect(carryOn(dir).code).toBe(0);
      const r = cnn(['train', '--resume', join(dir, 'epoch1.safetensors'), '--quiet']);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/last\.safetensors is now epoch 1 of .*epoch1\.safetensors/);
      expect(r.err).toMatch(/metrics\.jsonl: dropped 2 lines of epochs after 1/);
      expect(r.err).toMatch(
        /best\.safetensors held epoch 3, after the checkpoint the run goes on from; kept as best-epoch3\.safetensors/,
      );
      expect(r.err).toMatch(
        /best\.safetensors: rewritten from the checkpoint, whose epoch 1 is the best so far \(the file held nothing\)/,
      );
      expect(r.err).toMatch(/eval\.json and confusion-matrix\.svg: removed \(they were of epoch 3/);
      expectLikeReference(dir, ['best-epoch3.safetensors', 'epoch1.safetensors']);
      expect(
        readFileSync(join(dir, 'best-epoch3.safetensors')).equals(readFileSync(join(reference, 'best.safetensors'))),
      ).toBe(true);
    },
    4 * PROCESS_LIMIT_MS,
  );
});
