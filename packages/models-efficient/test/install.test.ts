/**
 * Installed as a user installs it. The test starts a registry of its own (verdaccio, on 127.0.0.1, its uplink the
 * registry npm is configured with), publishes the workspace's packages to it with `changeset publish`, and in a fresh
 * project outside the repo runs `npm install @cnn/models-efficient`. Then, from Node ESM, from Node CJS and from one
 * page bundled by each of esbuild, Vite, Rollup and webpack 5 (bundlers.ts: their standard browser setups, the
 * bundlers from the repository's devDependencies) in headless Chromium (wasm backend), the installed package loads
 * mobilenet_v2 weights from a safetensors file, classifies a picture, and must give PyTorch's top-5 on the same weights
 * and picture; each page's 1000 logits must be Node's within 1e-4. Each bundle's output folder must carry no byte of the
 * Fashion-MNIST sample or the shipped weights, and its size is printed. esbuild and Rollup emit no wasm assets: their
 * pages must first fail with WasmBinaryError (the URL tried, setWasmPaths), then work once the three binaries are
 * copied beside the bundle, the documented step. Each page then runs the same forward pass on `setBackend('webgpu')`
 * (Chromium's SwiftShader adapter): the output file holding tfjs's WebGPU backend (a chunk of its own for Vite, Rollup
 * and webpack; inlined by esbuild without --splitting) is fetched, and the logits must be wasm's within 1e-3 relative.
 *
 * The weights are not committed: every value comes from a formula of (state-dict key, index) that
 * scripts/make-install-fixture.py (Debian's PyTorch 1.13 / torchvision 0.14) shares; the test writes the file by hand
 * (safetensors: header length, JSON header, raw little-endian data) and it must be the script's, byte for byte
 * (SHA-256 in the fixture). Committed: the picture (test/fixtures/install/scene.png), PyTorch's top-5
 * (expected.json) and the registry's own package.json and lock (verdaccio/).
 *
 * Needs: the packages built (`npx turbo run build`; `npm test` does it), the npm registry reachable (the registry's
 * own install and its uplink), Debian's chromium at /usr/bin/chromium (or CNN_CHROMIUM) for the pages. About 2 minutes
 * on an idle 2-core machine (webpack's production build is the longest step), 4 on a busy one.
 *
 * Nothing is published anywhere but the local registry: the publish and the install run npm with a temporary
 * userconfig whose only token is the local registry's, `npm_config_registry` and `npm_config_@cnn:registry` point at
 * it (checked with `npm config get` before publishing; npm_* variables of an `npm test` run are not passed on),
 * `--no-git-tag` keeps changesets from tagging the repo (checked), and `ignore-scripts` from running any package's
 * lifecycle scripts. The user's ~/.npmrc is never written. The registry is stopped by its process id when the file
 * ends, pass or fail, and stops by itself if this process dies first.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { checksum, fnv1a, relErr, unit } from '../../../test-support/fixtures';
import { serveStatic, type Served } from '../../../test-support/static-server';
import {
  BUNDLERS,
  EMITS_URL_ASSETS,
  SPLITS_WEBGPU_CHUNK,
  WEBGPU_MARKER,
  bundle,
  carriedAssets,
  filesUnder,
  pageMain,
  type Bundler,
  type BundleResult,
} from './bundlers';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(PKG, '..', '..');
const FIXTURES = join(PKG, 'test', 'fixtures', 'install');
const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';

interface WorkspacePackage {
  dir: string;
  name: string;
  version: string;
  private: boolean;
  json: Record<string, any>;
}
/** The workspace's packages, as npm and changesets find them (the root's `workspaces` globs, `dir/*` only). */
const WORKSPACE: WorkspacePackage[] = (() => {
  const globs = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  const out: WorkspacePackage[] = [];
  for (const g of globs) {
    if (!g.endsWith('/*')) throw new Error(`workspace glob '${g}': only 'dir/*' is understood here`);
    const parent = join(ROOT, g.slice(0, -2));
    for (const d of existsSync(parent) ? readdirSync(parent).sort() : []) {
      const file = join(parent, d, 'package.json');
      if (!existsSync(file)) continue;
      const json = JSON.parse(readFileSync(file, 'utf8'));
      out.push({ dir: join(parent, d), name: json.name, version: json.version, private: json.private === true, json });
    }
  }
  return out;
})();
const byName = new Map(WORKSPACE.map((p) => [p.name, p]));
/** What `npm install @cnn/models-efficient` installs of ours: it and its @cnn/* dependencies, transitively. */
const INSTALLED: WorkspacePackage[] = (() => {
  const seen = new Map<string, WorkspacePackage>();
  const visit = (name: string) => {
    const p = byName.get(name);
    if (!p) throw new Error(`${name} is not a package of the workspace`);
    if (seen.has(name)) return;
    seen.set(name, p);
    for (const dep of Object.keys(p.json.dependencies ?? {})) if (dep.startsWith('@cnn/')) visit(dep);
  };
  visit('@cnn/models-efficient');
  return [...seen.values()];
})();
/** `changeset publish` publishes every package that is not private (apps/docs is). */
const PUBLIC = WORKSPACE.filter((p) => !p.private);
const versions = Object.fromEntries(INSTALLED.map((p) => [p.name, p.version]));

/** The files a package's `exports['.']` names (dist/...), which its build makes. */
function exportedFiles(p: WorkspacePackage): string[] {
  const leaves = (v: unknown): string[] =>
    typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(leaves) : [];
  return [...new Set(leaves(p.json.exports?.['.'] ?? p.json.main))];
}
/** Softmax scores must be within this of PyTorch's (float32 on both sides; the top-5 itself must be equal). */
const SCORE_TOL = 1e-4;

interface Expected {
  torch: string;
  torchvision: string;
  keyPrefix: string;
  formulaCheck: { fnv1a: Record<string, number>; u: number[] };
  keys: Array<[string, number[], 'F32' | 'I64', number]>;
  safetensors: { bytes: number; sha256: string };
  image: { file: string; sha256: string; rgbSha256: string; height: number; width: number };
  top5: { indices: number[]; scores: number[]; logits: number[] };
  sixth: { index: number; logit: number };
  gaps: number[];
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

// ---------------------------------------------------------------------------------------------
// The weights' formula (as in scripts/make-install-fixture.py) and a safetensors writer of the test's own

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The values of one state-dict tensor in PyTorch's layout, flat: float32 (rounded once from float64), or int64. */
function tensorValues(key: string, shape: readonly number[]): Float32Array | BigInt64Array {
  const name = key.slice(key.lastIndexOf('.') + 1);
  const n = numel(shape);
  const seed = fnv1a(expected.keyPrefix + key);
  if (name === 'num_batches_tracked') return new BigInt64Array(n).fill(BigInt(seed % 1000003));
  const u = unit(n, seed);
  let f: (v: number) => number;
  // The same operations in the same order as the script's, so that the float64 values are bit for bit its own.
  if (name === 'weight' && shape.length === 4) {
    const s = Math.sqrt(12 / numel(shape.slice(1)));
    f = (v) => v * 1.4 * s;
  } else if (name === 'weight' && shape.length === 2) {
    const s = Math.sqrt(12 / shape[1]);
    f = (v) => v * 2 * s;
  } else if (name === 'weight') f = (v) => 1 + v / 2;
  else if (name === 'bias') f = (v) => v / 4;
  else if (name === 'running_mean') f = (v) => v;
  else if (name === 'running_var') f = (v) => 0.5 + 2 * Math.abs(v);
  else throw new Error(`no rule for state-dict key ${key}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(u[i]);
  return out;
}

/**
 * The weights file: 8-byte little-endian header length, the header JSON (metadata first, then the tensors in
 * state-dict order; padded with spaces to a multiple of 8), the raw little-endian data. Also the keys whose checksum
 * differs from the script's.
 */
function makeSafetensors(): { bytes: Buffer; badChecksums: string[] } {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Buffer[] = [];
  const badChecksums: string[] = [];
  let offset = 0;
  for (const [key, shape, dtype, sum] of expected.keys) {
    const v = tensorValues(key, shape);
    if ((dtype === 'I64') !== v instanceof BigInt64Array)
      throw new Error(`${key}: the formula gives another dtype than ${dtype}`);
    if (checksum(v) !== sum) badChecksums.push(key);
    const data = Buffer.from(v.buffer, v.byteOffset, v.byteLength); // little-endian on every platform Node runs on
    header[key] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
    blobs.push(data);
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return { bytes: Buffer.concat([len, Buffer.from(text, 'ascii'), ...blobs]), badChecksums };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// Processes

/** The environment of every child process: this one's, less npm's own settings (an `npm test` run passes its
 * config down as npm_config_*, registry included) and any publishing token. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^(NODE_OPTIONS|NPM_TOKEN|NODE_AUTH_TOKEN)$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (killed after `timeoutMs`). */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Exit> {
  return new Promise((ok, fail) => {
    const start = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, stdout, stderr, ms: Date.now() - start });
    });
  });
}

/** Like {@link run}, and throws with the command's output when it fails. */
async function mustRun(
  what: string,
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Exit> {
  const out = await run(cmd, args, opts);
  if (out.code !== 0) {
    throw new Error(
      `${what} failed (exit ${out.code}${out.signal ? `, ${out.signal}` : ''}, ${out.ms} ms): ${cmd} ${args.join(' ')}\n` +
        `--- stdout\n${out.stdout.slice(-6000)}\n--- stderr\n${out.stderr.slice(-6000)}`,
    );
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as AddressInfo;
  await new Promise((ok) => s.close(ok));
  return port;
}

async function httpJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const r = await fetch(url, init);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body };
}

// ---------------------------------------------------------------------------------------------
// The run: weights, registry, publish, install

let work: string;
let registry: ChildProcess | undefined;
let registryLog = '';
let registryUrl: string;
let userconfig: string;
let app: string;
let weightsFile: string;
let weightsSha = '';
let badChecksums: string[] = [];
let publishOut: Exit;
let tagsBefore: string | null = null;
let tagsAfter: string | null = null;
const timings: Record<string, number> = {};

async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    timings[name] = Date.now() - t;
  }
}

/** Stops the registry by its process id: SIGTERM, then SIGKILL after 5 s. */
async function stopRegistry(): Promise<void> {
  const child = registry;
  registry = undefined;
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    // exited meanwhile
  }
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) child.kill('SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}
/** If this process ends without afterAll (a crash, a kill), the registry goes with it. */
const killOnExit = () => {
  if (registry?.pid && registry.exitCode === null) {
    try {
      process.kill(registry.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
};

function gitTags(): string | null {
  const r = spawnSync('git', ['tag', '--list'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

beforeAll(async () => {
  const missing = INSTALLED.flatMap((p) => exportedFiles(p).map((f) => join(p.dir, f))).filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(
      `not built: ${missing.join(', ')}. Build first: npx turbo run build (at ${ROOT}; npm test does it)`,
    );
  work = await mkdtemp(join(tmpdir(), 'cnn-install-'));
  process.on('exit', killOnExit);

  // The weights file, from the formula.
  await timed('weights file', async () => {
    const made = makeSafetensors();
    badChecksums = made.badChecksums;
    weightsSha = sha256(made.bytes);
    weightsFile = join(work, 'files', 'mobilenet_v2.safetensors');
    await mkdir(dirname(weightsFile), { recursive: true });
    await writeFile(weightsFile, made.bytes);
    await copyFile(join(FIXTURES, expected.image.file), join(work, 'files', expected.image.file));
  });

  // The registry: verdaccio from its own package.json and lock, in the temporary directory.
  const npmEnv = cleanEnv();
  const uplink = (
    await mustRun('npm config get registry', 'npm', ['config', 'get', 'registry'], {
      cwd: work,
      env: npmEnv,
      timeoutMs: 30_000,
    })
  ).stdout.trim();
  const cafile = (
    await run('npm', ['config', 'get', 'cafile'], { cwd: work, env: npmEnv, timeoutMs: 30_000 })
  ).stdout.trim();
  const httpsProxy = (
    await run('npm', ['config', 'get', 'https-proxy'], { cwd: work, env: npmEnv, timeoutMs: 30_000 })
  ).stdout.trim();
  if (!/^https?:\/\//.test(uplink)) throw new Error(`npm config get registry gave '${uplink}'`);
  const vd = join(work, 'verdaccio');
  await mkdir(vd);
  for (const f of ['package.json', 'package-lock.json']) await copyFile(join(FIXTURES, 'verdaccio', f), join(vd, f));
  await timed('registry install (npm ci)', () =>
    mustRun('installing verdaccio', 'npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: vd,
      env: npmEnv,
      timeoutMs: 180_000,
    }),
  );

  const configFor = (port: number) =>
    [
      `storage: ${JSON.stringify(join(vd, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(vd, 'htpasswd'))}`,
      '    max_users: 1',
      'uplinks:',
      '  upstream:',
      `    url: ${JSON.stringify(uplink)}`,
      '    timeout: 60s',
      ...(/^https?:\/\//.test(httpsProxy) ? [`    https_proxy: ${JSON.stringify(httpsProxy)}`] : []),
      'packages:',
      "  '@cnn/*':", // ours: only here, never looked up upstream
      '    access: $all',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      "  '**':", // everything else: from the uplink; nobody publishes
      '    access: $all',
      '    publish: nobody',
      '    proxy: upstream',
      `listen: 127.0.0.1:${port}`,
      'max_body_size: 500mb',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n');
  await timed('registry start', async () => {
    const bin = join(vd, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
    // verdaccio runs in the launcher's process (so the pid is verdaccio's), which also ends when the test's process
    // goes away without stopping it (killed, crashed): its end of the stdin pipe closes.
    const launcher = join(vd, 'launch.cjs');
    await writeFile(
      launcher,
      [
        "process.stdin.on('end', () => process.exit(0));",
        "process.stdin.on('error', () => process.exit(0));",
        'process.stdin.resume();',
        'const bin = process.argv[2];',
        'process.argv = [process.argv[0], bin, ...process.argv.slice(3)];',
        'require(bin);',
        '',
      ].join('\n'),
    );
    const env = cleanEnv(cafile && cafile !== 'null' && existsSync(cafile) ? { NODE_EXTRA_CA_CERTS: cafile } : {});
    // A free port can be taken between finding it and verdaccio's listen: then verdaccio exits, and another try.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      registryUrl = `http://127.0.0.1:${port}/`;
      await writeFile(join(vd, 'config.yaml'), configFor(port));
      registryLog = '';
      const child = spawn(process.execPath, [launcher, bin, '--config', join(vd, 'config.yaml')], {
        cwd: vd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      registry = child;
      child.stdout!.on('data', (d) => (registryLog += d));
      child.stderr!.on('data', (d) => (registryLog += d));
      let up = false;
      for (const t = Date.now(); child.exitCode === null && Date.now() - t < 30_000; ) {
        try {
          up = (await fetch(`${registryUrl}-/ping`)).ok && child.exitCode === null;
        } catch {
          // not listening yet
        }
        if (up) break;
        await new Promise((ok) => setTimeout(ok, 200));
      }
      if (up) break;
      await stopRegistry();
      if (attempt === 3)
        throw new Error(`verdaccio did not start on 127.0.0.1 (3 tries; exit ${child.exitCode}):\n${registryLog}`);
    }
  });

  // A user of the local registry, and an npm userconfig that knows only that registry.
  const user = { name: 'cnn-install-test', password: `pw-${process.pid}-${Date.now()}` };
  const added = await httpJson(`${registryUrl}-/user/org.couchdb.user:${user.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password, type: 'user', roles: [] }),
  });
  if (added.status !== 201 || typeof added.body?.token !== 'string')
    throw new Error(`adding a user: ${added.status} ${JSON.stringify(added.body)}`);
  userconfig = join(work, 'npmrc');
  const hostPath = registryUrl.replace(/^http:/, '');
  await writeFile(
    userconfig,
    [
      `registry=${registryUrl}`,
      `@cnn:registry=${registryUrl}`,
      `${hostPath}:_authToken=${added.body.token}`,
      'audit=false',
      'fund=false',
      'update-notifier=false',
      '',
    ].join('\n'),
  );
  const localEnv = cleanEnv({
    npm_config_userconfig: userconfig,
    npm_config_registry: registryUrl,
    'npm_config_@cnn:registry': registryUrl,
  });
  // Before publishing anything: npm, as changesets will run it, must point at the local registry only.
  for (const key of ['registry', '@cnn:registry']) {
    const got = (
      await mustRun(`npm config get ${key}`, 'npm', ['config', 'get', key], {
        cwd: ROOT,
        env: localEnv,
        timeoutMs: 30_000,
      })
    ).stdout.trim();
    if (got !== registryUrl)
      throw new Error(`npm config get ${key} gives ${got}, not the local registry ${registryUrl}: not publishing`);
  }

  // changeset publish, in the repo, with no git tags.
  const changesetBin = (() => {
    const require = createRequire(join(ROOT, 'package.json'));
    const pj = require.resolve('@changesets/cli/package.json');
    const bin = (JSON.parse(readFileSync(pj, 'utf8')) as { bin: string | Record<string, string> }).bin;
    return join(dirname(pj), typeof bin === 'string' ? bin : bin.changeset);
  })();
  tagsBefore = gitTags();
  // ignore-scripts: publishing packs what the build made, and runs no package's lifecycle scripts in the repo.
  const publishEnv = { ...localEnv, npm_config_ignore_scripts: 'true' };
  publishOut = await timed('changeset publish', () =>
    mustRun('changeset publish', process.execPath, [changesetBin, 'publish', '--no-git-tag'], {
      cwd: ROOT,
      env: publishEnv,
      timeoutMs: 180_000,
    }),
  );
  tagsAfter = gitTags();

  // A fresh project outside the repo.
  app = join(work, 'app');
  await mkdir(app);
  await writeFile(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'cnn-install-app', version: '1.0.0', private: true }, null, 2)}\n`,
  );
  await timed('npm install @cnn/models-efficient', () =>
    mustRun(
      'npm install @cnn/models-efficient',
      'npm',
      ['install', '@cnn/models-efficient', '--registry', registryUrl],
      { cwd: app, env: localEnv, timeoutMs: 240_000 },
    ),
  );
}, 480_000);

afterAll(async () => {
  try {
    await stopRegistry();
  } finally {
    process.off('exit', killOnExit);
    if (Object.keys(timings).length) {
      console.log(
        `install.test timings (ms): ${Object.entries(timings)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
    if (work) await rm(work, { recursive: true, force: true });
  }
}, 60_000);

// ---------------------------------------------------------------------------------------------

describe("the weights and the picture are the script's", () => {
  test("the formula gives the script's hashes and values", () => {
    for (const [s, h] of Object.entries(expected.formulaCheck.fnv1a)) expect(fnv1a(s), `fnv1a('${s}')`).toBe(h);
    expect(Array.from(unit(expected.formulaCheck.u.length, 12345))).toEqual(expected.formulaCheck.u);
  });

  test('the safetensors file is byte for byte the one PyTorch was run on', () => {
    expect(badChecksums, "tensors whose values differ from the script's (the formula, not the model)").toEqual([]);
    expect(weightsSha).toBe(expected.safetensors.sha256);
    expect(expected.keys.length).toBe(314);
    console.log(
      `PyTorch ${expected.torch} / torchvision ${expected.torchvision} top-5 ${expected.top5.indices.join(' ')}; ` +
        `logit gaps between ranks 1-6 ${expected.gaps.map((g) => g.toFixed(3)).join(' ')} (5th-6th ${expected.gaps[4].toFixed(3)})`,
    );
  });

  test('the picture is the committed one', () => {
    expect(sha256(readFileSync(join(FIXTURES, expected.image.file)))).toBe(expected.image.sha256);
  });
});

describe('published to the local registry with changesets, installed from it', () => {
  test('changeset publish published every public package there (the five that @cnn/models-efficient needs among them), and tagged nothing', async () => {
    const text = publishOut.stdout + publishOut.stderr;
    const published = [...text.matchAll(/^🦋\s+(@cnn\/[\w-]+)@(\S+)\s*$/gmu)].map((m) => `${m[1]}@${m[2]}`).sort();
    // Every public package of the workspace, which includes the five that @cnn/models-efficient needs.
    expect(published).toEqual(PUBLIC.map((p) => `${p.name}@${p.version}`).sort());
    expect(Object.keys(versions).sort()).toEqual([
      '@cnn/datasets',
      '@cnn/layers',
      '@cnn/models-classic',
      '@cnn/models-efficient',
      '@cnn/tensor',
    ]);
    for (const [name, version] of Object.entries(versions)) {
      const r = await httpJson(`${registryUrl}${name.replace('/', '%2f')}`);
      expect(r.status, name).toBe(200);
      expect(Object.keys(r.body.versions), name).toEqual([version]);
      expect(r.body.versions[version].dist.tarball).toBe(
        `${registryUrl}${name}/-/${name.split('/')[1]}-${version}.tgz`,
      );
    }
    // Private packages (apps/docs) stay home.
    const privates = WORKSPACE.filter((p) => p.private);
    expect(privates.map((p) => p.name)).toContain('@cnn/docs');
    for (const p of privates)
      expect((await httpJson(`${registryUrl}${p.name.replace('/', '%2f')}`)).status, p.name).toBe(404);
    expect(text).not.toMatch(/Creating git tag|New tag:/);
    expect(tagsAfter).toBe(tagsBefore);
  });

  test('the fresh project got every package from the local registry, one tfjs-core, the built code', async () => {
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; resolved?: string }>;
    };
    const entries = Object.entries(lock.packages).filter(([k]) => k !== '');
    expect(entries.length).toBeGreaterThan(10);
    expect(
      entries
        .filter(([, p]) => p.resolved && !p.resolved.startsWith(registryUrl))
        .map(([k, p]) => `${k} ${p.resolved}`),
    ).toEqual([]);
    for (const [name, version] of Object.entries(versions))
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    expect(Object.keys(lock.packages).filter((k) => k.endsWith('node_modules/@tensorflow/tfjs-core'))).toEqual([
      'node_modules/@tensorflow/tfjs-core',
    ]);
    const pj = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pj.dependencies)).toEqual(['@cnn/models-efficient']);
    for (const f of ['index.js', 'index.cjs']) {
      const installed = await readFile(join(app, 'node_modules', '@cnn', 'models-efficient', 'dist', f));
      expect(sha256(installed), f).toBe(sha256(await readFile(join(PKG, 'dist', f))));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (a) Node

/** Each consumer prints this line; `rgbSha256` is of the decoded picture. */
interface Classified {
  backend: string;
  info: { backend: string; simd?: boolean };
  resolved: string;
  loaded: number;
  missing: string[];
  unexpected: string[];
  rgbSha256: string;
  indices: number[];
  scores: number[];
  /** The 1000 logits (Node ESM and the pages). */
  logits?: number[];
}

const ESM_APP = `// What a user writes: ESM.
import { setBackend, backendInfo, getModel, loadImage, imagenetPreprocess, tf } from '@cnn/models-efficient';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [weights, picture] = process.argv.slice(2);
const backend = await setBackend('wasm');
const net = getModel('mobilenet_v2');
const { loaded, missing, unexpected } = await net.loadWeights(weights); // a path
const image = await loadImage(picture); // a path
const x = imagenetPreprocess(image);
const { indices, scores } = net.predict(x, { topk: 5 });
net.eval();
const y = tf.tidy(() => net.forward(x));
const logits = Array.from(await y.data());
y.dispose();
x.dispose();
console.log('CNN_RESULT ' + JSON.stringify({
  backend, info: backendInfo(), resolved: realpathSync(fileURLToPath(import.meta.resolve('@cnn/models-efficient'))),
  loaded: loaded.length, missing, unexpected, rgbSha256: createHash('sha256').update(image.data).digest('hex'),
  indices: indices[0], scores: scores[0], logits,
}));
`;

const CJS_APP = `// What a user writes: CommonJS.
const { setBackend, backendInfo, mobilenetV2, loadImage, imagenetPreprocess } = require('@cnn/models-efficient');
const { createHash } = require('node:crypto');
const { readFileSync, realpathSync } = require('node:fs');

async function main() {
  const [weights, picture] = process.argv.slice(2);
  const backend = await setBackend('wasm');
  const net = mobilenetV2();
  const { loaded, missing, unexpected } = await net.loadWeights(readFileSync(weights)); // the file's bytes
  const image = await loadImage(new Uint8Array(readFileSync(picture))); // the file's bytes
  const x = imagenetPreprocess(image);
  const { indices, scores } = net.predict(x, { topk: 5 });
  x.dispose();
  console.log('CNN_RESULT ' + JSON.stringify({
    backend, info: backendInfo(), resolved: realpathSync(require.resolve('@cnn/models-efficient')),
    loaded: loaded.length, missing, unexpected, rgbSha256: createHash('sha256').update(image.data).digest('hex'),
    indices: indices[0], scores: scores[0],
  }));
}
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
`;

function parseResult(out: Exit): Classified {
  const line = out.stdout.split('\n').find((l) => l.startsWith('CNN_RESULT '));
  if (!line)
    throw new Error(`no result line; exit ${out.code} ${out.signal}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
  return JSON.parse(line.slice('CNN_RESULT '.length)) as Classified;
}

/** The installed package gives PyTorch's top-5 (same order), with its scores. */
function expectPyTorchTop5(
  r: Pick<Classified, 'indices' | 'scores' | 'rgbSha256' | 'loaded' | 'missing' | 'unexpected'>,
  where: string,
): void {
  expect(r.rgbSha256, `${where}: the decoded picture`).toBe(expected.image.rgbSha256);
  expect([r.loaded, r.missing, r.unexpected], `${where}: loadWeights`).toEqual([expected.keys.length, [], []]);
  expect(r.indices, `${where}: top-5 classes`).toEqual(expected.top5.indices);
  const worst = Math.max(...r.scores.map((s, i) => Math.abs(s - expected.top5.scores[i])));
  console.log(
    `${where}: top-5 ${r.indices.join(' ')}, scores ${r.scores.map((s) => s.toFixed(5)).join(' ')}, max |score - PyTorch's| ${worst.toExponential(2)}`,
  );
  expect(worst, `${where}: scores ${r.scores} vs PyTorch's ${expected.top5.scores}`).toBeLessThan(SCORE_TOL);
}

/** Node ESM's logits, which every bundled page must give within LOGIT_TOL. */
let nodeLogits: number[] | undefined;

describe('(a) Node: the installed package classifies the picture as PyTorch does', () => {
  for (const [kind, file, source, entry] of [
    ['ESM', 'classify.mjs', ESM_APP, 'index.js'],
    ['CJS', 'classify.cjs', CJS_APP, 'index.cjs'],
  ] as const) {
    test(`Node ${kind}: mobilenet_v2 on wasm, PyTorch's top-5`, async () => {
      await writeFile(join(app, file), source);
      const out = await timed(`node ${kind}`, () =>
        run(process.execPath, [file, weightsFile, join(work, 'files', expected.image.file)], {
          cwd: app,
          env: cleanEnv(),
          timeoutMs: 90_000,
        }),
      );
      const r = parseResult(out);
      expect(out.code, out.stderr).toBe(0);
      expect(r.resolved).toBe(join(app, 'node_modules', '@cnn', 'models-efficient', 'dist', entry));
      expect(r.backend).toBe('wasm');
      expect(r.info).toMatchObject({ backend: 'wasm', simd: true });
      expectPyTorchTop5(r, `Node ${kind}`);
      if (kind === 'ESM') {
        expect(r.logits).toHaveLength(1000);
        nodeLogits = r.logits;
      }
    }, 120_000);
  }
});

// ---------------------------------------------------------------------------------------------
// (b) One page bundled by esbuild, Vite, Rollup and webpack 5 (bundlers.ts), in headless Chromium

/** A bundled page's logits must be within this of Node's (the same weights, picture and wasm kernels). */
const LOGIT_TOL = 1e-4;
/** The page's WebGPU logits against its wasm ones: relative (largest difference over the largest |logit|). */
const WEBGPU_TOL = 1e-3;

/** Serves a built page at / and the weights and the picture at /files/, on 127.0.0.1. */
const serve = (site: string, files: string): Promise<Served> => serveStatic(site, { '/files/': files });

describe('(b) one page bundled by esbuild, Vite, Rollup and webpack 5, in headless Chromium', () => {
  let context: import('playwright-core').BrowserContext | undefined;
  let web: string;
  /** Files the page never uses, whose bytes no output may carry: the Fashion-MNIST sample and the shipped weights. */
  let unused: string[] = [];
  /** tfjs's three binaries as @cnn/tensor ships them (what the documented copy step copies). */
  let wasmDir: string;
  const sizes: Array<{
    bundler: Bundler;
    js: number;
    jsGzip: number;
    wasm: number;
    other: number;
    files: number;
    ms: number;
  }> = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CNN_CHROMIUM)`);
    web = join(app, 'web');
    await mkdir(web);
    await writeFile(join(web, 'main.js'), pageMain(expected.image.file));
    const installed = join(app, 'node_modules', '@cnn');
    unused = [
      ...readdirSync(join(installed, 'datasets', 'data', 'fashion-mnist-sample')).map((f) =>
        join(installed, 'datasets', 'data', 'fashion-mnist-sample', f),
      ),
      ...readdirSync(join(installed, 'models-classic', 'weights')).map((f) =>
        join(installed, 'models-classic', 'weights', f),
      ),
    ];
    wasmDir = join(installed, 'tensor', 'dist', 'browser');
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        // The GPU process on, for WebGPU on Chromium's SwiftShader adapter (software, on the CPU): the page also runs
        // setBackend('webgpu').
        '--enable-unsafe-webgpu',
        '--use-webgpu-adapter=swiftshader',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    if (sizes.length) {
      const kb = (n: number) => `${(n / 1000).toFixed(0)} kB`;
      console.log(
        `bundle sizes (mobilenet_v2 page, output folder): ${sizes
          .map(
            (s) =>
              `${s.bundler}: JS ${kb(s.js)} (gzip ${kb(s.jsGzip)}), wasm ${kb(s.wasm)}, other ${kb(s.other)} (${s.files} files, built in ${s.ms} ms)`,
          )
          .join('; ')}`,
      );
    }
  });

  /** Opens the page served from `dir`; its result line, console errors, and the requests the server answered. */
  async function openPage(dir: string): Promise<{ r: any; errors: string[]; requests: Served['requests'] }> {
    const served = await serve(dir, join(work, 'files'));
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(served.url);
      await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', undefined, {
        timeout: 240_000,
      });
      const r = JSON.parse((await page.textContent('#out')) ?? '{}');
      if (r.ok) {
        const shown = await page.$$eval('#top5 li', (lis) =>
          lis.map((li) => Number((li as HTMLElement).dataset.class)),
        );
        expect(shown, 'the top-5 in the DOM').toEqual(r.indices);
      }
      return { r, errors, requests: served.requests };
    } finally {
      await page.close();
      // Also the sockets Chromium keeps open (idle or preconnected), which would hold close() up for minutes.
      await new Promise((ok) => {
        served.server.close(ok);
        served.server.closeAllConnections();
      });
    }
  }

  for (const bundler of BUNDLERS) {
    describe(bundler, () => {
      let built: BundleResult | undefined;

      test(`${bundler} bundles the page with its standard browser setup; the output carries no Fashion-MNIST or shipped-weights bytes`, async () => {
        built = await timed(`${bundler} build`, () => bundle(bundler, ROOT, web, cleanEnv(), 300_000));
        const files = filesUnder(built.outDir);
        expect(files.map((f) => f.path)).toContain('index.html');
        expect(files.filter((f) => /\.(gz|safetensors)$/.test(f.path)).map((f) => f.path)).toEqual([]);
        expect(carriedAssets(built.outDir, unused)).toEqual([]);
        const wasm = files.filter((f) => f.path.endsWith('.wasm'));
        // Vite and webpack emit the three binaries (new URL(..., import.meta.url)); esbuild and Rollup emit none.
        const shipped = readdirSync(wasmDir)
          .filter((f) => f.endsWith('.wasm'))
          .map((f) => sha256(readFileSync(join(wasmDir, f))))
          .sort();
        expect(shipped).toHaveLength(3);
        expect(wasm.map((f) => sha256(readFileSync(join(built!.outDir, f.path)))).sort()).toEqual(
          EMITS_URL_ASSETS[bundler] ? shipped : [],
        );
        const sum = (list: typeof files) => list.reduce((a, f) => a + f.bytes, 0);
        const js = files.filter((f) => /\.m?js$/.test(f.path));
        sizes.push({
          bundler,
          js: sum(js),
          jsGzip: js.reduce((a, f) => a + gzipSync(readFileSync(join(built!.outDir, f.path)), { level: 9 }).length, 0),
          wasm: sum(wasm),
          other: sum(files) - sum(js) - sum(wasm),
          files: files.length,
          ms: built.ms,
        });
        console.log(`${built.command}: ${files.map((f) => `${f.path} ${f.bytes}`).join(', ')} (${built.ms} ms)`);
      }, 320_000);

      if (!EMITS_URL_ASSETS[bundler]) {
        test(`${bundler}: with no wasm files beside the bundle, setBackend throws WasmBinaryError naming the URL it tried and setWasmPaths`, async () => {
          expect(built, 'the bundle (previous test)').toBeDefined();
          const { r, requests } = await openPage(built!.outDir);
          expect(r.ok, JSON.stringify(r)).toBe(false);
          expect(r.name).toBe('WasmBinaryError');
          const base = requests.find((q) => q.path.endsWith('.wasm'));
          expect(base?.status, 'the page asked for a binary beside the bundle').toBe(404);
          expect(r.error).toContain(`${base!.path.split('/').pop()} (HTTP 404)`);
          expect(r.error).toMatch(
            /cannot load the WebAssembly binary http:\/\/127\.0\.0\.1:\d+\/tfjs-backend-wasm[\w-]*\.wasm/,
          );
          expect(r.error).toContain('setWasmPaths(');
          expect(r.error).toContain('@cnn/tensor/dist/browser/');
        }, 180_000);
      }

      test(`${bundler}: the page gives Node's logits (within ${LOGIT_TOL}) and PyTorch's top-5 on wasm, fetching only what it uses`, async () => {
        expect(built, 'the bundle (first test)').toBeDefined();
        expect(nodeLogits, "Node ESM's logits ((a))").toBeDefined();
        if (!EMITS_URL_ASSETS[bundler]) {
          // The documented step for bundlers that do not emit new URL(..., import.meta.url) assets.
          for (const f of readdirSync(wasmDir).filter((n) => n.endsWith('.wasm')))
            await copyFile(join(wasmDir, f), join(built!.outDir, f));
        }
        const t = Date.now();
        const { r, errors, requests } = await openPage(built!.outDir);
        timings[`${bundler} page`] = Date.now() - t;
        expect(r.ok, r.error).toBe(true);
        expect(errors).toEqual([]);
        expect(requests.filter((q) => q.status !== 200)).toEqual([]);
        expect(requests.filter((q) => /\.(gz|safetensors)$/.test(q.path)).map((q) => q.path)).toEqual([
          '/files/mobilenet_v2.safetensors',
        ]);
        expect(r.backend).toBe('wasm');
        expect(r.info).toMatchObject({ backend: 'wasm', simd: true });
        expectPyTorchTop5(r, `${bundler} page`);
        expect(r.logits).toHaveLength(1000);
        const worst = Math.max(...r.logits.map((v: number, i: number) => Math.abs(v - nodeLogits![i])));
        console.log(`${bundler} page: max |logit - Node's| ${worst.toExponential(2)} over 1000 logits`);
        expect(worst).toBeLessThan(LOGIT_TOL);
        // The same page on setBackend('webgpu'): the output file holding tfjs's WebGPU backend (its own chunk where the
        // bundler splits it) was fetched and runs, and the logits are wasm's.
        expect(r.webgpu?.ok, r.webgpu?.error).toBe(true);
        expect(r.webgpu.backend).toBe('webgpu');
        expect(r.webgpu.info.device).toBe('WebGPU: google swiftshader (software)');
        const holders = filesUnder(built!.outDir)
          .filter((f) => /\.m?js$/.test(f.path))
          .filter((f) => readFileSync(join(built!.outDir, f.path), 'utf8').includes(WEBGPU_MARKER))
          .map((f) => f.path);
        expect(holders).toHaveLength(1);
        const entry = requests.find((q) => /\.m?js$/.test(q.path))?.path;
        if (SPLITS_WEBGPU_CHUNK[bundler]) expect(`/${holders[0]}`).not.toBe(entry);
        else expect(`/${holders[0]}`).toBe(entry);
        expect(requests.find((q) => q.path === `/${holders[0]}`)?.status, `${holders[0]} fetched`).toBe(200);
        const gpu = relErr(r.webgpu.logits, r.logits);
        console.log(
          `${bundler} page on ${r.webgpu.info.device}: WebGPU backend in ${holders[0]}${SPLITS_WEBGPU_CHUNK[bundler] ? ' (its own chunk)' : ' (inlined)'}; logits rel. err ${gpu.rel.toExponential(2)} against wasm`,
        );
        expect(gpu.rel).toBeLessThanOrEqual(WEBGPU_TOL);
      }, 420_000);
    });
  }
});
