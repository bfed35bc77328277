// The browser tests' common ground: a one-page app built with Vite from the workspace packages (linked into the page's
// node_modules, as an installed app would see them), and headless Debian Chromium started on a profile of its own.
// Each test keeps its own page script, server and checks.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium, or the one CNN_CHROMIUM names. */
export const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';

/** The headers that make a page cross-origin isolated (SharedArrayBuffer, so wasm threads). */
export const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** A page whose module script is ./main.js and which reports into `<pre id="out">`. */
export const PAGE_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><pre id="out">pending</pre><script type="module" src="./main.js"></script></body></html>';

export interface PageApp {
  /** The temporary folder (remove it when done): the app is in `app`, Chromium's profile goes in `work/profile`. */
  work: string;
  app: string;
  /** Vite's output folder, to serve. */
  dist: string;
}

/**
 * Builds a page with Vite in a new temporary folder: `pkgDir`'s package and `deps` (resolved from `pkgDir`) are linked
 * into `app/node_modules/@cnn/`, `main` is written as main.js and `html` (default {@link PAGE_HTML}) as index.html;
 * `prepare(app)` may add files first (e.g. `public/`). Throws, saying what to do, when `built` (a file of `pkgDir`) or
 * Chromium is missing.
 */
export async function buildPage(options: {
  tag: string;
  pkgDir: string;
  deps: string[];
  main: string;
  built: string;
  html?: string;
  prepare?: (app: string) => Promise<void>;
}): Promise<PageApp> {
  const { pkgDir } = options;
  if (!existsSync(join(pkgDir, options.built)))
    throw new Error(`${options.built} is missing in ${pkgDir}: build first (npx turbo run build)`);
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CNN_CHROMIUM)`);
  const requireHere = createRequire(join(pkgDir, 'package.json'));
  const own = (requireHere(join(pkgDir, 'package.json')) as { name: string }).name;
  const work = await mkdtemp(join(tmpdir(), `cnn-${options.tag}-`));
  const app = join(work, 'app');
  await mkdir(join(app, 'node_modules', '@cnn'), { recursive: true });
  await symlink(pkgDir, join(app, 'node_modules', own), 'dir');
  for (const name of options.deps)
    await symlink(dirname(requireHere.resolve(`${name}/package.json`)), join(app, 'node_modules', name), 'dir');
  await options.prepare?.(app);
  await writeFile(join(app, 'index.html'), options.html ?? PAGE_HTML);
  await writeFile(join(app, 'main.js'), options.main);
  const dist = join(app, 'dist');
  const { build } = await import('vite');
  await build({
    root: app,
    configFile: false,
    logLevel: 'silent',
    build: { outDir: dist, emptyOutDir: true, target: 'es2022' },
  });
  return { work, app, dist };
}

/**
 * Starts headless Chromium on a profile in `work/profile` with the flags every browser test uses (no sandbox, no first
 * run, no background networking, no GPU unless `gpu`), plus `args`.
 */
export async function launchChromium(work: string, args: string[] = [], gpu = false): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      ...(gpu ? [] : ['--disable-gpu']),
      '--no-first-run',
      '--disable-background-networking',
      ...args,
    ],
  });
}
