/**
 * CNN_THREADS: the wasm backend's pool size for any program, read once at the first wasm set-up; setThreads wins
 * over it; a bad value is a ThreadsEnvError naming the variable and the value, before any backend starts.
 *
 * The tests run the BUILT package (dist/, as consumers get it) in child processes: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = pathToFileURL(join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'dist', 'index.js')).href;
/** Generous: a child process starting the threaded backend on a loaded machine. */
const LIMIT_MS = 60_000;

function run(env: Record<string, string | undefined>, body: string) {
  const code = `const m = await import(${JSON.stringify(DIST)});\n${body}`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, CNN_THREADS: undefined, ...env },
    timeout: LIMIT_MS,
  });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr, ms: Date.now() - t0 };
}

describe('CNN_THREADS', () => {
  it(
    'sets the pool size of the wasm backend',
    () => {
      const r = run({ CNN_THREADS: '1' }, "await m.setBackend('wasm'); console.log(m.backendInfo().threads);");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('1');
      console.log(`CNN_THREADS=1 child: ${r.ms} ms`);
    },
    LIMIT_MS,
  );

  it(
    'setThreads wins over it',
    () => {
      const r = run(
        { CNN_THREADS: '1' },
        "await m.setThreads(2); await m.setBackend('wasm'); console.log(m.backendInfo().threads);",
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('2');
    },
    LIMIT_MS,
  );

  it.each(['0', 'two', '1.5', '2000', '-3'])(
    'CNN_THREADS=%s is a ThreadsEnvError naming the variable and the value',
    (value) => {
      const r = run(
        { CNN_THREADS: value },
        "try { await m.setBackend('wasm'); console.log('started'); } catch (e) { console.log(e instanceof m.ThreadsEnvError, e.name, e.message); }",
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(
        `true ThreadsEnvError CNN_THREADS must be a whole number of threads from 1 to 1024, or 'auto'; got ${JSON.stringify(value)}`,
      );
    },
    LIMIT_MS,
  );
});
