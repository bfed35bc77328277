/**
 * The four bundlers of the install test (install.test.ts), each run as a user runs it: its own command line, from the
 * repository's devDependencies, in the fresh project's page folder, with its standard browser configuration and
 * nothing of ours (no externals, aliases, polyfills or plugins beyond Rollup's node-resolve):
 *
 * - esbuild: `esbuild main.js --bundle --platform=browser --minify --outfile=dist/main.js` (a classic script);
 * - Vite: `vite build` (index.html and main.js; no config file);
 * - Rollup: `rollup main.js -p node-resolve={browser:true} -f es -d dist` (an ES module, not minified);
 * - webpack 5: `webpack-cli ./main.js --mode production --target web --output-path dist`.
 *
 * Also what the test checks of their output: its files and sizes, and whether any of them carries bytes of a file the
 * page never uses (the Fashion-MNIST sample, the shipped weights), raw or base64-inlined.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

export const BUNDLERS = ['esbuild', 'vite', 'rollup', 'webpack'] as const;
export type Bundler = (typeof BUNDLERS)[number];

/** Whether the bundler emits `new URL('./x.wasm', import.meta.url)` files as assets (else: the documented copy step). */
export const EMITS_URL_ASSETS: Record<Bundler, boolean> = { esbuild: false, vite: true, rollup: false, webpack: true };

/**
 * Whether the bundler, run as above, puts tfjs's WebGPU backend (@cnn/tensor's lazy `import()`) in a chunk of its own.
 * esbuild without `--splitting` inlines it into the one output file.
 */
export const SPLITS_WEBGPU_CHUNK: Record<Bundler, boolean> = {
  esbuild: false,
  vite: true,
  rollup: true,
  webpack: true,
};

/** A string only tfjs's WebGPU backend holds (one of its flags), to find the output file that carries it. */
export const WEBGPU_MARKER = 'WEBGPU_CPU_FORWARD';

/**
 * The page every bundler builds: mobilenet_v2 with the weights at /files/mobilenet_v2.safetensors classifies the picture
 * /files/<image>, and writes its top-5 and its 1000 logits into the DOM. Then, as an app that offers the GPU would, it
 * runs the same forward pass on `setBackend('webgpu')` (tfjs's WebGPU backend: a chunk of @cnn/tensor's browser build
 * that a bundler may split off, fetched only now) and reports those logits too, or the error that stopped it.
 */
export const pageMain = (
  image: string,
): string => `// What a user writes for the browser (no top-level await: esbuild's default output is a classic script).
import { setBackend, backendInfo, getModel, loadImage, imagenetPreprocess, tf } from '@cnn/models-efficient';

const out = document.getElementById('out');
async function hex(bytes) {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
async function main() {
  const backend = await setBackend('wasm');
  const img = new Image();
  img.src = '/files/${image}';
  await img.decode();
  const image = await loadImage(img); // an <img>
  const weights = await (await fetch('/files/mobilenet_v2.safetensors')).arrayBuffer();
  const net = getModel('mobilenet_v2');
  const { loaded, missing, unexpected } = await net.loadWeights(weights); // the file's bytes
  const x = imagenetPreprocess(image);
  const { indices, scores } = net.predict(x, { topk: 5 });
  net.eval();
  const y = tf.tidy(() => net.forward(x));
  const logits = Array.from(await y.data());
  y.dispose();
  let webgpu;
  try {
    const name = await setBackend('webgpu');
    const yg = tf.tidy(() => net.forward(x));
    webgpu = { ok: true, backend: name, info: backendInfo(), logits: Array.from(await yg.data()) };
    yg.dispose();
    await setBackend('wasm');
  } catch (e) {
    webgpu = { ok: false, name: e && e.name, error: String((e && e.message) || e) };
  }
  x.dispose();
  const list = document.getElementById('top5');
  indices[0].forEach((c, i) => {
    const li = document.createElement('li');
    li.dataset.class = String(c);
    li.textContent = 'class ' + c + ': ' + scores[0][i].toFixed(4);
    list.append(li);
  });
  return {
    ok: true, backend, info: backendInfo(), loaded: loaded.length, missing, unexpected,
    rgbSha256: await hex(image.data), indices: indices[0], scores: scores[0], logits, webgpu,
  };
}
main().then(
  (r) => { out.textContent = JSON.stringify(r); },
  (e) => { out.textContent = JSON.stringify({ ok: false, name: e && e.name, error: String((e && (e.stack || e.message)) || e) }); },
);
`;

/** The page's HTML; `script` is how it loads the bundle. */
export function pageHtml(script: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>mobilenet_v2, bundled</title></head>
<body><h1>Top 5</h1><ol id="top5"></ol><pre id="out">pending</pre>${script}</body></html>
`;
}

/** A bundler's command: the `bin` of its package in the repository's node_modules, run with this Node. */
function binOf(root: string, pkg: string, name: string): string {
  const require = createRequire(join(root, 'package.json'));
  const file = require.resolve(`${pkg}/package.json`);
  const bin = (JSON.parse(readFileSync(file, 'utf8')) as { bin: string | Record<string, string> }).bin;
  return join(dirname(file), typeof bin === 'string' ? bin : bin[name]);
}

export interface BundleResult {
  bundler: Bundler;
  /** The folder to serve (index.html at its root). */
  outDir: string;
  /** The command line that built it (for the report). */
  command: string;
  ms: number;
  stderr: string;
}

/**
 * Builds `web/main.js` (pageMain) with `bundler` into `web/dist-<bundler>/`, which then holds an index.html that
 * loads the bundle. `env` is the environment of the bundler's process.
 */
export async function bundle(
  bundler: Bundler,
  root: string,
  web: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<BundleResult> {
  const outDir = join(web, `dist-${bundler}`);
  const rel = relative(web, outDir);
  let args: string[];
  let html: string | undefined;
  switch (bundler) {
    case 'esbuild':
      args = [
        binOf(root, 'esbuild', 'esbuild'),
        'main.js',
        '--bundle',
        '--platform=browser',
        '--minify',
        `--outfile=${rel}/main.js`,
      ];
      html = pageHtml('<script src="./main.js"></script>');
      break;
    case 'vite':
      await writeFile(join(web, 'index.html'), pageHtml('<script type="module" src="./main.js"></script>'));
      args = [binOf(root, 'vite', 'vite'), 'build', '--outDir', rel, '--emptyOutDir', '--logLevel', 'warn'];
      break;
    case 'rollup':
      args = [binOf(root, 'rollup', 'rollup'), 'main.js', '-p', 'node-resolve={browser:true}', '-f', 'es', '-d', rel];
      html = pageHtml('<script type="module" src="./main.js"></script>');
      break;
    case 'webpack':
      args = [
        binOf(root, 'webpack-cli', 'webpack-cli'),
        './main.js',
        '--mode',
        'production',
        '--target',
        'web',
        '--output-path',
        rel,
      ];
      html = pageHtml('<script src="./main.js"></script>');
      break;
  }
  const start = Date.now();
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok, fail) => {
    // A package's bin is a Node script, or (esbuild's, once installed) the native executable itself.
    const head = Buffer.alloc(4);
    const fd = openSync(args[0], 'r');
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    const native = head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // ELF
    const [cmd, argv] = native ? [args[0], args.slice(1)] : [process.execPath, args];
    const child = spawn(cmd, argv, { cwd: web, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
  const ms = Date.now() - start;
  const command = `${bundler === 'webpack' ? 'webpack-cli' : bundler} ${args.slice(1).join(' ')}`;
  if (out.code !== 0)
    throw new Error(
      `${command} failed (exit ${out.code}, ${ms} ms)\n--- stdout\n${out.stdout.slice(-6000)}\n--- stderr\n${out.stderr.slice(-6000)}`,
    );
  if (html !== undefined) await writeFile(join(outDir, 'index.html'), html);
  return { bundler, outDir, command, ms, stderr: out.stderr };
}

/** Every file under `dir`, with its size, sorted by path. */
export function filesUnder(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.push({ path: relative(dir, p), bytes: s.size });
    }
  };
  walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The files of `assets` (absolute paths) whose bytes appear in some file under `dir`: a 3,000-byte slice from inside
 * each asset is looked for raw and base64-encoded (a data: URL encodes the whole file from its start, so a slice at an
 * offset that is a multiple of 3 has the same encoding there). Returns `'<asset> in <output file>'` lines.
 */
export function carriedAssets(dir: string, assets: string[]): string[] {
  const outputs = filesUnder(dir).map((f) => ({ path: f.path, data: readFileSync(join(dir, f.path)) }));
  const found: string[] = [];
  for (const asset of assets) {
    const bytes = readFileSync(asset);
    const at = Math.min(3000, Math.floor(bytes.length / 3 / 3) * 3);
    const slice = bytes.subarray(at, at + 3000);
    if (slice.length < 300) throw new Error(`${asset} is too small to look for`);
    const b64 = Buffer.from(slice.toString('base64'));
    for (const o of outputs) {
      if (o.data.indexOf(slice) >= 0) found.push(`${asset} in ${o.path} (raw)`);
      else if (o.data.indexOf(b64) >= 0) found.push(`${asset} in ${o.path} (base64)`);
    }
  }
  return found;
}
