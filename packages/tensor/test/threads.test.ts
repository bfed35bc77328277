/**
 * The wasm backend on every core: the pool follows the core count, setThreads chooses, results do not
 * depend on the thread count, a process that used the backend exits by itself, and where threads
 * cannot start the backend runs on one thread with a one-line notice saying why.
 *
 * The child-process tests run the BUILT package (dist/, as consumers get it): `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendInfo,
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  setBackend,
  setThreads,
  tf,
  type Tensor4D,
} from '../src/index';
import { relErr } from '../../../test-support/fixtures';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST_ESM = join(PKG, 'dist', 'index.js');
const DIST_CJS = join(PKG, 'dist', 'index.cjs');
/** Every core, but at least two threads, so that the threaded paths run even on a one-core machine. */
const ALL = Math.max(2, availableParallelism());

function fill(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5),
    shape,
  );
}

/** Every kernel family the threads split: tfjs's (XNNPACK) and cnn's own, forward and backward. */
function computeAll(): Record<string, Float32Array> {
  return tf.tidy(() => {
    const x = fill([2, 17, 15, 16], 1) as Tensor4D;
    const out: Record<string, tf.Tensor> = {};
    const cases: Array<[string, number[], Record<string, unknown>]> = [
      ['plain s1', [3, 3, 16, 24], { pad: 1 }],
      ['plain s1 5x5 valid (row taps for dx)', [5, 5, 16, 6], {}],
      ['plain s2 d1', [3, 3, 16, 12], { pad: 'same', strides: 2 }],
      ['grouped 4', [3, 3, 4, 16], { pad: 1, groups: 4 }],
      ['grouped 8 narrow', [3, 3, 2, 16], { pad: [1, 2], groups: 8, dilations: 2 }],
      ['depthwise', [3, 3, 1, 16], { pad: 1, groups: 16, strides: 2 }],
    ];
    for (const [name, fs, o] of cases) {
      const f = fill(fs, 2) as Tensor4D;
      const y = conv2d(x, f, o);
      const dy = fill(y.shape, 3) as Tensor4D;
      out[`${name} forward`] = y;
      out[`${name} input gradient`] = conv2dBackpropInput(x.shape, dy, f, o);
      out[`${name} filter gradient`] = conv2dBackpropFilter(x, dy, fs as [number, number, number, number], o);
    }
    const dwFilter = fill([3, 3, 16, 2], 4) as Tensor4D;
    out['depthwise multiplier 2 gradients'] = tf.concat(
      tf
        .grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .depthwiseConv2d(a as Tensor4D, b as Tensor4D, 1, 'same')
            .square()
            .sum(),
        )([x, dwFilter])
        .map((g) => g.flatten()),
    );
    out['max pool gradient'] = tf.grad((a: tf.Tensor) =>
      tf
        .maxPool(a as Tensor4D, 3, 2, 'same')
        .square()
        .sum(),
    )(x);
    out.matmul = tf.matMul(fill([96, 200], 5), fill([200, 72], 6));
    const values: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(out)) values[k] = t.dataSync() as Float32Array;
    return values;
  });
}

/** Runs `code` as an ES module (or a CJS script) in a fresh Node; resolves with its exit code and output. */
function runNode(code: string, { cjs = false, args = [] as string[], timeoutMs = 60_000 } = {}) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }>(
    (done) => {
      const t0 = Date.now();
      const child = spawn(process.execPath, [...args, ...(cjs ? [] : ['--input-type=module']), '-e', code], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        done({ code, signal, stdout, stderr, ms: Date.now() - t0 });
      });
    },
  );
}

/** tfjs's advice to install tfjs-node, printed on every Node start, is not ours. */
function ourLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !/^=+$|tfjs-node|ExperimentalWarning|--trace-warnings/.test(l));
}

describe('wasm threads in Node', () => {
  afterAll(async () => {
    await setThreads('auto');
  });

  it('the pool follows the real core count, and setThreads chooses', async () => {
    await setBackend('wasm');
    expect(backendInfo().threads).toBe(availableParallelism());
    expect(backendInfo().simd).toBe(true);
    expect(await setThreads(1)).toBe(1);
    expect(backendInfo()).toMatchObject({ backend: 'wasm', threads: 1, device: 'WebAssembly SIMD, 1 thread' });
    expect(await setThreads(ALL)).toBe(ALL);
    expect(backendInfo().threads).toBe(ALL);
  });

  it('setThreads rejects a count that is not a whole number from 1 to 1024', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 1025, '2' as unknown as number]) {
      await expect(setThreads(bad)).rejects.toThrow(
        /setThreads: expected a whole number of threads from 1 to 1024, or 'auto'; got/,
      );
    }
  });

  it('results with one thread and with all threads match within 1e-5 relative error', async () => {
    await setThreads(1);
    await setBackend('wasm');
    expect(backendInfo().threads).toBe(1);
    const one = computeAll();
    await setThreads(ALL);
    expect(backendInfo().threads).toBe(ALL);
    const before = tf.memory().numTensors;
    const all = computeAll();
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(all)).toEqual(Object.keys(one));
    for (const k of Object.keys(one)) {
      expect(all[k].length, k).toBe(one[k].length);
      expect(relErr(all[k], one[k]).rel, k).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('the built package in a child process', () => {
  beforeAll(() => {
    for (const f of [DIST_ESM, DIST_CJS]) {
      if (!existsSync(f))
        throw new Error(`${f} is missing: build @cnn/tensor first (npx turbo run build --filter=@cnn/tensor)`);
    }
  });

  /** What a child program reported: the JSON after 'CNN ' on its line of stdout. */
  const reported = (stdout: string) =>
    JSON.parse(
      stdout
        .split('\n')
        .find((l) => l.startsWith('CNN '))!
        .slice(4),
    );

  const work = (pkg: string) => `
    const x = tf.randomNormal([4, 32, 32, 16]);
    const f = tf.randomNormal([3, 3, 4, 16]);
    const [dx, df] = tf.grads((a, b) => conv2d(a, b, { pad: 1, groups: 4 }).square().sum())([x, f]);
    console.log('CNN ' + JSON.stringify({ info: backendInfo(), dx: dx.shape, df: df.shape, from: ${JSON.stringify(pkg)} }));
  `;

  it('an ESM and a CJS program that used every thread exit by themselves', async () => {
    const esm =
      runNode(`import { tf, setBackend, backendInfo, conv2d } from ${JSON.stringify(pathToFileURL(DIST_ESM).href)};
      await setBackend('wasm');
      ${work('esm')}`);
    const cjs = runNode(
      `const { tf, setBackend, backendInfo, conv2d } = require(${JSON.stringify(DIST_CJS)});
      setBackend('wasm').then(() => { ${work('cjs')} });`,
      { cjs: true },
    );
    for (const r of await Promise.all([esm, cjs])) {
      expect(r.signal, r.stderr).toBeNull(); // not killed by the timeout: it exited on its own
      expect(r.code, r.stderr).toBe(0);
      const out = reported(r.stdout);
      expect(out.info.threads).toBe(availableParallelism());
      expect(out.dx).toEqual([4, 32, 32, 16]);
      expect(ourLines(r.stderr)).toEqual([]);
    }
  });

  it('a Node app bundled with esbuild (tfjs and @cnn/tensor inside one file) uses every thread and exits by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cnn-threads-bundle-'));
    try {
      // The app's node_modules, as a deployed app has them (tfjs's .wasm binaries are read from there).
      await mkdir(join(dir, 'node_modules', '@cnn'), { recursive: true });
      await symlink(PKG, join(dir, 'node_modules', '@cnn', 'tensor'), 'dir');
      await symlink(
        dirname(dirname(createRequire(DIST_ESM).resolve('@tensorflow/tfjs-core/package.json'))),
        join(dir, 'node_modules', '@tensorflow'),
        'dir',
      );
      await writeFile(
        join(dir, 'app.mjs'),
        `import { tf, setBackend, backendInfo, conv2d } from '@cnn/tensor';\nawait setBackend('wasm');\n${work('bundle')}`,
      );
      const { build } = await import('esbuild');
      await build({
        entryPoints: [join(dir, 'app.mjs')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: join(dir, 'bundle.mjs'),
        logLevel: 'silent',
        banner: {
          js: "import { createRequire as __cnnRequire } from 'node:module'; const require = __cnnRequire(import.meta.url);",
        },
      });
      const r = await runNode(`await import(${JSON.stringify(pathToFileURL(join(dir, 'bundle.mjs')).href)});`);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      const out = reported(r.stdout);
      expect(out.info.threads).toBe(availableParallelism());
      expect(ourLines(r.stderr)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('falls back to one thread with a one-line notice when workers may not start', async () => {
    // Node's permission model without --allow-worker: starting a worker throws.
    const r = await runNode(
      `import { tf, setBackend, backendInfo, conv2d } from ${JSON.stringify(pathToFileURL(DIST_ESM).href)};
      await setBackend('wasm');
      ${work('esm')}`,
      { args: ['--experimental-permission', '--allow-fs-read=*'] },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = reported(r.stdout);
    expect(out.info).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(out.dx).toEqual([4, 32, 32, 16]);
    expect(ourLines(r.stderr)).toEqual([
      expect.stringMatching(
        /^cnn: wasm threads unavailable \(the threaded module did not start: .*\); using one thread$/,
      ),
    ]);
  });

  it('falls back to one thread with a one-line notice without SharedArrayBuffer (once, when more threads are asked for)', async () => {
    const r = await runNode(
      `import { tf, setBackend, setThreads, backendInfo, conv2d } from ${JSON.stringify(pathToFileURL(DIST_ESM).href)};
      await setThreads(1);
      await setBackend('wasm'); // one thread asked for: nothing to say
      await setThreads('auto');
      await setBackend('wasm');
      await setBackend('wasm');
      ${work('esm')}`,
      { args: ['--no-harmony-sharedarraybuffer'] },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = reported(r.stdout);
    expect(out.info).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(ourLines(r.stderr)).toEqual([
      'cnn: wasm threads unavailable (SharedArrayBuffer is not available); using one thread',
    ]);
  });

  // Unshared memory: growing it detaches the old buffer, and with it the view cnn keeps of its parameter block
  // (module.ts, paramView), which must then be taken again.
  it('without SharedArrayBuffer, cnn kernels after the memory grew give the same values as before', async () => {
    const r = await runNode(
      `import { tf, setBackend, conv2d } from ${JSON.stringify(pathToFileURL(DIST_ESM).href)};
      await setBackend('wasm');
      const memory = () => { const w = tf.backend().wasm; return (w.asm?.memory ?? w.wasmMemory).buffer; };
      const x = tf.randomNormal([2, 9, 9, 8], 0, 1, 'float32', 1);
      const f = tf.randomNormal([3, 3, 4, 8], 0, 1, 'float32', 2);
      const grads = () => tf.grads((a, b) => conv2d(a, b, { pad: 1, groups: 2 }).square().sum())([x, f]).map((t) => Array.from(t.dataSync()));
      const before = grads();
      const buffer = memory();
      const filler = tf.zeros([64 * 1024 * 1024]);
      const after = grads();
      console.log('CNN ' + JSON.stringify({ shared: typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer, detached: buffer.byteLength === 0, same: JSON.stringify(after) === JSON.stringify(before) }));
      filler.dispose();`,
      { args: ['--no-harmony-sharedarraybuffer'] },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = reported(r.stdout);
    expect(out).toEqual({ shared: false, detached: true, same: true });
  });
});
