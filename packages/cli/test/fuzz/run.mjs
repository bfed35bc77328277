// The loaders' fuzz test (issue #19): deterministic mutants of small valid files of every format (corpus.mjs),
// plus the issue's hostile files, loaded through the public entry points by child processes (child.mjs), several
// cases per child, each case under a time cap and each child under an address-space cap.
//
// Every case must end as 'ok' (loaded) or 'named' (an error class that the @cnn packages export). Failures:
//   hang          no result within the time cap: the child is killed (and a new one runs the rest of its batch)
//   oom           the child died of a signal or an out-of-memory message, or an allocation failed
//   crash         the child died otherwise
//   raw           any other error class: TypeError, RangeError, a plain Error, a dependency's error
//   wrapped       a named error whose cause or message is a stack overflow, a wasm trap or a failed allocation:
//                 a catch-all, where a limit should have stopped the input first
//   changed/leak  a failed loadWeights that changed the model, or left tensors behind
//   long-message  a named error with a message over 16,000 characters (messages quote a short prefix)
//   accepted      one of the issue's files (fixed-*) loaded: they must be refused by name
//   seed          an unmutated seed did not load (the corpus itself is wrong)
//
// Reproduce one case (from the repository root, after `npx turbo run build --filter='./packages/*'`):
//
//   node packages/cli/test/fuzz/run.mjs --only pickle-017          # a mutant, by the id the test printed
//   node packages/cli/test/fuzz/run.mjs --only fixed-fifo-mnist    # one of the issue's files
//   node packages/cli/test/fuzz/run.mjs --only png-003 --keep      # keep the file to look at (path printed)
//   node packages/cli/test/fuzz/run.mjs --count 900                # a bigger corpus (default CNN_FUZZ_COUNT or 720)
//   node packages/cli/test/fuzz/run.mjs --list                     # the cases and their mutations, nothing run
//   node packages/cli/test/fuzz/run.mjs --json out.json            # every case's result, as JSON
//
// --only prints each result in full (with the stack of an error). Settings (flags or environment):
//   --count / CNN_FUZZ_COUNT        mutants, spread evenly over the formats (default 720: about a minute on 2 cores)
//   --timeout / CNN_FUZZ_TIMEOUT_MS time cap per case (default 20000 ms; a hang is a case past it)
//   --budget / CNN_FUZZ_BUDGET_MB   address space a child may use above what loading the seeds took (default 1024)
//   --batch / CNN_FUZZ_BATCH        cases per child process (default 30)
//
// The address-space cap (RLIMIT_AS, set with the shell's `ulimit -v`, which is `prlimit --as`) bounds every
// allocation of the child: ArrayBuffers and native memory (sharp, zlib) included, which `--max-old-space-size`
// does not. It is calibrated on each machine: a child first loads the unmutated seeds with no cap and reports its
// peak virtual size (VmPeak; about 0.85 GB with node 20 on Linux, most of it reservations), and the cap is that
// plus the budget. The children use tfjs's 'cpu' backend: the wasm backend's memory reserves about 10 GiB of
// address space for V8's guard regions (measured: a wasm child needs `ulimit -v` of 13 GB or more just to start),
// so with it no cap could tell a loader allocating 768 MB from a legitimate load. MALLOC_ARENA_MAX=2 keeps
// glibc from reserving 64 MB arenas per thread, which would make the calibration depend on the core count.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS, caseById, fixedCases, mutants, seedCases } from './corpus.mjs';

export { FORMATS };

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const REPRO = 'node packages/cli/test/fuzz/run.mjs --only';

/** The outcomes in table order; the first two pass. */
export const OUTCOMES = ['ok', 'named', 'raw', 'wrapped', 'oom', 'hang', 'crash'];

const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
// One printable line: a mutated file's bytes can reach a message.
const oneLine = (s) =>
  String(s)
    .replace(/\s*\n\s*/g, ' | ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are what this escapes
    .replace(/[\x00-\x1f\x7f-\x9f\ufffd]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** Settings from the environment, with their defaults. */
export function defaults(env = process.env) {
  return {
    count: num(env.CNN_FUZZ_COUNT, 720),
    timeoutMs: num(env.CNN_FUZZ_TIMEOUT_MS, 20_000),
    budgetMB: num(env.CNN_FUZZ_BUDGET_MB, 1024),
    batch: num(env.CNN_FUZZ_BATCH, 30),
    deadlineMs: num(env.CNN_FUZZ_DEADLINE_MS, 15 * 60_000),
  };
}

/** Writes a case's files under `root` and returns the job the child runs. */
function writeCase(root, c) {
  const dir = join(root, c.id);
  mkdirSync(dir, { recursive: true });
  const paths = {};
  for (const [name, v] of Object.entries(c.files)) {
    const path = join(dir, name);
    if (v.special === 'devzero') {
      // The path itself for the file loaders (as `loadWeights(model, '/dev/zero')`), and a link in the folder
      // for the folder loaders (CIFAR10.load finds test_batch.bin there).
      symlinkSync('/dev/zero', path);
      paths[name] = c.target === 'CIFAR10.load' ? path : '/dev/zero';
    } else if (v.special === 'fifo') {
      const r = spawnSync('mkfifo', [path]);
      if (r.status !== 0) throw new Error(`fuzz: mkfifo ${path} failed: ${r.stderr}`);
      paths[name] = path;
    } else {
      writeFileSync(path, v);
      paths[name] = path;
    }
  }
  return { id: c.id, target: c.target, channels: c.channels, dir, paths };
}

/** Runs jobs[from..to) in one child; resolves when it exits or is killed. */
function runChild(jobsFile, from, to, { capKB, timeoutMs, verbose }) {
  return new Promise((resolve) => {
    const env = { ...process.env, MALLOC_ARENA_MAX: '2' };
    delete env.NODE_OPTIONS;
    if (verbose) env.CNN_FUZZ_VERBOSE = '1';
    const args = [CHILD, jobsFile, String(from), String(to)];
    const child = capKB
      ? spawn(
          '/bin/sh',
          ['-c', 'ulimit -v "$1" || exit 97; shift; exec "$@"', 'sh', String(capKB), process.execPath, ...args],
          { env, stdio: ['ignore', 'pipe', 'pipe'] },
        )
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = {
      results: [],
      strays: [],
      current: null,
      killedFor: null,
      stderr: '',
      vmpeakKB: 0,
      code: null,
      signal: null,
    };
    let timer;
    const arm = (ms) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        out.killedFor = out.current?.id ?? '(between cases)';
        child.kill('SIGKILL');
      }, ms);
    };
    arm(timeoutMs * 3); // starting up (imports, backend) before the first case
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('@@fuzz ')) continue;
        const rest = line.slice(7);
        if (rest.startsWith('start ')) {
          out.current = { id: rest.slice(6), t0: performance.now() };
          arm(timeoutMs);
        } else if (rest.startsWith('vmpeak ')) {
          out.vmpeakKB = Number(rest.slice(7));
        } else {
          const r = JSON.parse(rest);
          if (r.stray) out.strays.push(r);
          else {
            out.results.push(r);
            out.current = null;
            arm(timeoutMs);
          }
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      out.stderr = (out.stderr + d).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.code = code;
      out.signal = signal;
      if (out.current) out.current.ms = Math.round(performance.now() - out.current.t0);
      resolve(out);
    });
  });
}

const OOM_TEXT =
  /out of memory|Allocation failed|Cannot allocate|bad_alloc|Failed to reserve|heap limit|mmap|Insufficient memory/i;

/** Why a child died, in one line. */
function death(out) {
  const lines = out.stderr
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && !/^(=+|Hi, looks like|Node\.js v|#\s*$)/.test(s));
  const telling =
    lines.find((s) => OOM_TEXT.test(s)) ??
    lines.find((s) => /Error|error|fatal|Fatal|abort/i.test(s)) ??
    lines[lines.length - 1] ??
    '';
  const code =
    out.code === 13
      ? 'exit code 13 (a promise never settled: the event loop ran dry, e.g. after a failed native allocation)'
      : `exit code ${out.code}`;
  return `${out.signal ? `killed by ${out.signal}` : code}${telling ? `: ${telling.slice(0, 160)}` : ''}`;
}

/** Runs every job in batches, restarting a child past a hang or a crash. Returns the results by id. */
async function runJobs(jobsFile, jobs, { capKB, timeoutMs, batch, deadline, verbose, log, progress }) {
  const results = new Map();
  const index = new Map(jobs.map((j, i) => [j.id, i]));
  for (let start = 0; start < jobs.length; start += batch) {
    const end = Math.min(start + batch, jobs.length);
    let i = start;
    let failedStarts = 0;
    while (i < end) {
      if (performance.now() > deadline) {
        for (; i < jobs.length; i++)
          results.set(jobs[i].id, {
            id: jobs[i].id,
            outcome: 'crash',
            reason: 'not run: the fuzz run passed its deadline (CNN_FUZZ_DEADLINE_MS)',
          });
        return results;
      }
      const out = await runChild(jobsFile, i, end, { capKB, timeoutMs, verbose });
      for (const r of out.results) results.set(r.id, r);
      for (const s of out.strays) {
        const prev = results.get(s.id);
        results.set(s.id, {
          ...(prev ?? {}),
          ...s,
          outcome: 'raw',
          stray: `${s.stray} after the case: ${s.cls}: ${s.msg}`,
        });
      }
      const lastDone = out.results.length ? index.get(out.results[out.results.length - 1].id) : i - 1;
      if (out.current) {
        const id = out.current.id;
        const r =
          out.killedFor === id
            ? {
                id,
                outcome: 'hang',
                ms: out.current.ms,
                reason: `no result after ${out.current.ms} ms (time cap ${timeoutMs} ms): killed`,
              }
            : {
                id,
                outcome: out.signal || OOM_TEXT.test(out.stderr) ? 'oom' : 'crash',
                ms: out.current.ms,
                reason: `the child died after ${out.current.ms} ms: ${death(out)}`,
              };
        results.set(id, r);
        log?.(`  ${id}: ${r.outcome} (${r.reason})`);
        i = index.get(id) + 1;
      } else if (lastDone + 1 < end) {
        // Died (or was killed) before its first case or between cases.
        if (++failedStarts >= 2) {
          for (; i < end; i++)
            results.set(jobs[i].id, {
              id: jobs[i].id,
              outcome: 'crash',
              reason: `the child could not run: ${death(out)}`,
            });
        } else i = lastDone + 1;
      } else i = end;
    }
    progress?.(`  ${end}/${jobs.length} cases`);
  }
  return results;
}

// A message quotes at most a short prefix of what it is about (issue #19): one longer than this was built from the
// input without a bound.
const MAX_MESSAGE = 16_000;

/** Whether a result fails its case; the failure's kind and reason. */
function verdict(c, r) {
  if (!r) return { kind: 'crash', reason: 'no result' };
  const flags = [];
  if (r.changed) flags.push('the failed load changed the model');
  if (r.leaked) flags.push(`the failed load left ${r.leaked} tensor(s) behind`);
  if (r.stray) flags.push(r.stray);
  const error = r.cls ? `${r.cls}: ${r.msg?.slice(0, 140)}${r.msgLength > 140 ? '...' : ''}` : '';
  switch (r.outcome) {
    case 'ok':
      if (c.expect === 'named')
        return { kind: 'accepted', reason: `loaded (${r.detail}) in ${r.ms} ms where a named error was expected` };
      break;
    case 'named':
      if (c.expect === 'ok') return { kind: 'seed', reason: `the unmutated seed does not load: ${error}` };
      if (r.msgLength > MAX_MESSAGE)
        return {
          kind: 'long-message',
          reason: `a ${r.msgLength}-character message (more than ${MAX_MESSAGE}): ${error}`,
        };
      break;
    case 'raw':
      return { kind: 'raw', reason: `${error}${r.at ? ` [${r.at}]` : ''}` };
    case 'wrapped':
      return { kind: 'wrapped', reason: `${r.cls} re-wrapping ${r.cause}` };
    case 'oom':
      return { kind: 'oom', reason: r.reason ?? `${error}${r.at ? ` [${r.at}]` : ''}` };
    default:
      return { kind: r.outcome, reason: r.reason ?? error };
  }
  if (c.expect === 'ok' && r.outcome !== 'ok')
    return { kind: 'seed', reason: `the unmutated seed does not load: ${error}` };
  if (flags.length)
    return { kind: r.changed ? 'changed' : 'leak', reason: `${flags.join('; ')} (${error || r.outcome})` };
  return null;
}

/** The summary: outcomes per format, the issue's cases, the slowest case and the biggest memory peak. */
function table(cases, results) {
  const rows = [
    ...FORMATS.map((f) => [f, cases.filter((c) => c.format === f && c.expect === 'any')]),
    ["issue's files", cases.filter((c) => c.expect === 'named')],
  ];
  const head = ['format', 'cases', ...OUTCOMES, 'flagged'];
  const body = rows
    .filter(([, cs]) => cs.length)
    .map(([name, cs]) => {
      const counts = OUTCOMES.map((o) => cs.filter((c) => results.get(c.id)?.outcome === o).length);
      const flagged = cs.filter((c) => {
        const r = results.get(c.id);
        return r && (r.changed || r.leaked || r.stray);
      }).length;
      return [name, cs.length, ...counts, flagged];
    });
  const widths = head.map((h, i) => Math.max(String(h).length, ...body.map((r) => String(r[i]).length)));
  const fmt = (r) =>
    r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
  const ran = cases.map((c) => results.get(c.id)).filter((r) => r && typeof r.ms === 'number');
  const slowest = ran.filter((r) => r.outcome === 'ok' || r.outcome === 'named').sort((a, b) => b.ms - a.ms)[0];
  const biggest = ran.filter((r) => r.maxRssMB).sort((a, b) => b.maxRssMB - a.maxRssMB)[0];
  return [
    fmt(head),
    ...body.map(fmt),
    slowest ? `slowest case that loaded or was refused: ${slowest.id} ${slowest.ms} ms (${slowest.outcome})` : '',
    biggest ? `highest child peak RSS: ${biggest.maxRssMB} MB after ${biggest.id}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Runs the fuzz corpus. `only` (ids) runs those cases instead of the corpus. Returns every case, its result,
 * the failures (each with a command that reproduces it), the seeds' results and the summary table.
 */
export async function runFuzz(opts = {}) {
  const o = { ...defaults(), ...opts };
  const started = performance.now();
  const log = o.log;
  const seeds = await seedCases();
  let cases;
  if (o.only?.length) {
    cases = [];
    for (const id of o.only) {
      const c = await caseById(id);
      if (!c)
        throw new Error(
          `fuzz: no case '${id}' (ids look like png-017, fixed-fifo-mnist or seed-png-0-decodeImagebytes; --list shows them)`,
        );
      cases.push(c);
    }
  } else cases = [...(await mutants(o.count)), ...(await fixedCases())];
  const root = mkdtempSync(join(tmpdir(), 'cnn-fuzz-'));
  try {
    const seedJobs = seeds.map((c) => writeCase(root, c));
    const jobs = cases.map((c) => writeCase(root, c));
    const seedFile = join(root, 'seeds.json');
    const jobsFile = join(root, 'jobs.json');
    writeFileSync(seedFile, JSON.stringify(seedJobs));
    writeFileSync(jobsFile, JSON.stringify(jobs));
    log?.(`fuzz: ${cases.length} cases (${seeds.length} seeds first, to calibrate the address-space cap) in ${root}`);

    // Calibration: the seeds, uncapped; the cap is the child's peak virtual size plus the budget.
    const cal = await runChild(seedFile, 0, seedJobs.length, { timeoutMs: o.timeoutMs });
    const seedResults = new Map(cal.results.map((r) => [r.id, r]));
    const capKB = Math.round(cal.vmpeakKB + o.budgetMB * 1024);
    log?.(
      `fuzz: seeds loaded with a peak virtual size of ${Math.round(cal.vmpeakKB / 1024)} MB; cap ${Math.round(capKB / 1024)} MB (budget ${o.budgetMB} MB), time cap ${o.timeoutMs} ms per case`,
    );
    if (!cal.vmpeakKB) throw new Error(`fuzz: the calibration child did not finish (${death(cal)})`);

    const results = await runJobs(jobsFile, jobs, {
      capKB,
      timeoutMs: o.timeoutMs,
      batch: o.batch,
      deadline: started + o.deadlineMs,
      verbose: !!o.only?.length,
      log,
      progress: o.progress,
    });
    const failures = [];
    for (const c of [
      ...seeds.map((s) => ({ ...s, r: seedResults.get(s.id) })),
      ...cases.map((c) => ({ ...c, r: results.get(c.id) })),
    ]) {
      const v = verdict(c, c.r);
      if (v)
        failures.push({
          id: c.id,
          format: c.format,
          target: c.target,
          desc: c.desc,
          kind: v.kind,
          reason: oneLine(v.reason),
          repro: `${REPRO} ${c.id}`,
        });
    }
    return {
      cases,
      results,
      seedResults,
      failures,
      capMB: Math.round(capKB / 1024),
      vmpeakMB: Math.round(cal.vmpeakKB / 1024),
      seconds: Math.round((performance.now() - started) / 1000),
      table: table(cases, results),
      dir: o.keep ? root : undefined,
    };
  } finally {
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
}

/** The failures as lines: id, kind, reason, what was mutated, and the command that reproduces it. */
export function formatFailures(failures) {
  return failures
    .map(
      (f) =>
        `${f.id} [${f.format}, ${f.target}] ${f.kind.toUpperCase()}: ${f.reason}\n    mutation: ${f.desc}\n    reproduce: ${f.repro}`,
    )
    .join('\n');
}

async function main(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i];
    if (a === '--only') opts.only = value().split(',').filter(Boolean);
    else if (a === '--count') opts.count = Number(value());
    else if (a === '--timeout') opts.timeoutMs = Number(value());
    else if (a === '--budget') opts.budgetMB = Number(value());
    else if (a === '--batch') opts.batch = Number(value());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--json') opts.json = value();
    else throw new Error(`fuzz: unknown argument '${a}' (see the top of ${fileURLToPath(import.meta.url)})`);
  }
  if (opts.list) {
    const cases = [...(await seedCases()), ...(await mutants(opts.count ?? defaults().count)), ...(await fixedCases())];
    for (const c of cases) console.log(`${c.id.padEnd(40)} ${c.target.padEnd(26)} ${c.seed}: ${c.desc}`);
    return 0;
  }
  const report = await runFuzz({ ...opts, log: (s) => console.error(s), progress: (s) => console.error(s) });
  if (opts.only) {
    for (const c of report.cases) {
      console.log(`\n${c.id} [${c.format}] ${c.target} on ${c.seed}: ${c.desc}`);
      console.log(JSON.stringify(report.results.get(c.id), null, 2));
    }
  }
  if (opts.json) {
    const all = report.cases.map((c) => ({ ...c, files: Object.keys(c.files), result: report.results.get(c.id) }));
    writeFileSync(
      opts.json,
      JSON.stringify({ capMB: report.capMB, seconds: report.seconds, cases: all, failures: report.failures }, null, 1),
    );
  }
  console.log(`\n${report.table}\n(${report.seconds} s, address-space cap ${report.capMB} MB)`);
  if (report.dir) console.log(`files kept in ${report.dir}`);
  if (report.failures.length) {
    console.log(`\n${report.failures.length} failure(s):\n${formatFailures(report.failures)}`);
    return 1;
  }
  console.log('no failures');
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
