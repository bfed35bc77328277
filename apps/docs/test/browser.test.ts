/**
 * The BUILT site in Debian's Chromium, as a visitor gets it: `vitepress build`, served by
 * scripts/serve.mjs (the `docs:preview` server, with COOP/COEP) on 127.0.0.1, every page opened in
 * both languages. Checks: no console errors, the page is cross-origin isolated and its wasm backend
 * starts, every Run button prints what test/expectations.ts wants, the interactive components work,
 * English and Chinese twins run the same examples, and no internal link is broken. Writes a
 * screenshot of every page with examples into test-results/.
 *
 * The site is rebuilt unless .vitepress/dist is newer than every file it is built from (the docs'
 * sources and the dist/ of the @cnn packages it imports), as right after `turbo run build`;
 * CNN_DOCS_REBUILD=1 forces the build.
 *
 * Needs Chromium at /usr/bin/chromium (`apt-get install -y chromium`; CI installs it) or
 * CNN_CHROMIUM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { listModels } from '@cnn/models-efficient';
import { DIST, ISOLATION_HEADERS, serveStatic, type StaticServer } from '../scripts/serve.mjs';
import { EXPECTED } from './expectations';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CNN_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Runs `vitepress build` in a child process (its own Vite, its own memory). */
function buildSite(): Promise<void> {
  const bin = join(dirname(createRequire(join(ROOT, 'package.json')).resolve('vitepress/package.json')), 'bin', 'vitepress.js');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bin, 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`vitepress build exited with ${code}:\n${log}`))));
  });
}

/** The newest modification time of the files under `dir`, skipping folders named in `skip`. */
function newest(dir: string, skip: string[] = []): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const full = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(full, skip) : statSync(full).mtimeMs);
  }
  return t;
}

/** Whether .vitepress/dist was built after the last change to anything it is built from. */
function builtSiteIsFresh(): boolean {
  const index = join(DIST, 'index.html');
  if (!existsSync(index)) return false;
  const requireHere = createRequire(join(ROOT, 'package.json'));
  const packages = ['@cnn/tensor', '@cnn/layers', '@cnn/models-classic', '@cnn/models-efficient'].map((name) =>
    join(dirname(requireHere.resolve(`${name}/package.json`)), 'dist'),
  );
  const sources = Math.max(
    newest(ROOT, ['node_modules', 'cache', 'dist', 'test', 'test-results']),
    ...packages.map((dir) => newest(dir)),
  );
  return statSync(index).mtimeMs > sources;
}

/** Site paths of the built pages ('' for the home page, 'guide/getting-started.html', ...). */
function builtPages(dir = DIST): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'assets') out.push(...builtPages(full));
    else if (entry.name.endsWith('.html') && !(dir === DIST && entry.name === '404.html')) {
      out.push(relative(DIST, full).split(sep).join('/').replace(/(^|\/)index\.html$/, '$1'));
    }
  }
  return out.sort();
}

/** The site paths the Markdown sources become (known before the build, so tests can be listed). */
function sourcePages(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || ['node_modules', 'test', 'test-results', 'examples', 'scripts', 'public'].includes(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourcePages(full));
    else if (entry.name.endsWith('.md') && entry.name !== 'README.md') {
      out.push(relative(ROOT, full).split(sep).join('/').replace(/\.md$/, '.html').replace(/(^|\/)index\.html$/, '$1'));
    }
  }
  return out.sort();
}

interface Visit {
  errors: string[];
  /** The .wasm files the page requested. */
  wasm: string[];
  examples: string[];
  links: Set<string>;
}

let server: StaticServer;
let context: BrowserContext;
let profile: string;
const visits = new Map<string, Visit>();
/**
 * Why the site could not be built, served or opened. Every test rethrows it, so a missing Chromium
 * counts as failed tests (a throwing beforeAll would only mark them skipped).
 */
let setupError: unknown;

function setupDone(): void {
  if (setupError) throw setupError;
}

beforeAll(async () => {
  try {
    await setup();
  } catch (err) {
    setupError = err;
  }
});

async function setup(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CNN_CHROMIUM; never 'npx playwright install'`);
  }
  if (process.env.CNN_DOCS_REBUILD === '1' || !builtSiteIsFresh()) await buildSite();
  if (!existsSync(join(DIST, 'index.html'))) throw new Error(`${DIST} has no index.html: the build did not produce the site`);
  await mkdir(RESULTS, { recursive: true });
  server = await serveStatic(DIST);
  profile = await mkdtemp(join(tmpdir(), 'cnn-docs-chromium-'));
  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 900 } });
}

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Opens a page and records console errors, uncaught exceptions and failed requests. */
async function open(path: string): Promise<{ page: Page; errors: string[]; wasm: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const wasm: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(server.url + path, { waitUntil: 'load' });
  return { page, errors, wasm };
}

/** Clicks every Run button in turn and checks each output against the example's expectations. */
async function runExamples(page: Page): Promise<string[]> {
  const ids = await page.locator('[data-example]').evaluateAll((els) => els.map((e) => e.getAttribute('data-example') ?? ''));
  for (const id of ids) {
    const box = page.locator(`[data-example="${id}"]`).first();
    await box.locator('button').click();
    await expect.poll(() => box.getAttribute('data-state'), { timeout: 30_000, message: `examples/${id}.ts did not finish` }).toMatch(/done|error/);
    const output = (await box.locator('[data-output]').textContent()) ?? '';
    expect(await box.getAttribute('data-state'), `examples/${id}.ts failed in the browser:\n${output}`).toBe('done');
    expect(EXPECTED[id], `no expectations for examples/${id}.ts`).toBeDefined();
    for (const pattern of EXPECTED[id]) expect(output, `examples/${id}.ts in the browser`).toMatch(pattern);
  }
  return ids;
}

/** Sets a range input of the convolution explorer and returns the output shape it then shows. */
async function setParam(page: Page, name: string, value: number): Promise<void> {
  const input = page.locator(`[data-conv-explorer] [data-param="${name}"]`);
  if ((await input.evaluate((el) => el.tagName)) === 'SELECT') await input.selectOption(String(value));
  else await input.evaluate((el, v) => {
    (el as HTMLInputElement).value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, String(value));
}

async function checkConvExplorer(page: Page): Promise<void> {
  const explorer = page.locator('[data-conv-explorer]');
  const shape = explorer.locator('[data-testid="conv-output-shape"]');
  await expect.poll(() => shape.textContent()).toBe('1x5x5x4'); // 7x7, 3x3 kernel, no padding
  expect(await explorer.locator('[data-tap]').count()).toBe(9);
  const steps: Array<[string, number, string]> = [
    ['padding', 1, '1x7x7x4'],
    ['stride', 2, '1x4x4x4'],
    ['dilation', 2, '1x3x3x4'],
    ['groups', 2, '1x3x3x4'],
    ['outChannels', 8, '1x3x3x8'],
  ];
  for (const [name, value, expected] of steps) {
    await setParam(page, name, value);
    await expect.poll(() => shape.textContent(), { message: `${name} = ${value}` }).toBe(expected);
  }
  expect(await explorer.locator('[data-output-cell]').count()).toBe(9);
  // The last output cell reads the bottom-right corner of the padded input.
  await explorer.locator('[data-output-cell]').last().click();
  expect(await explorer.locator('.cnn-conv__out--selected').count()).toBe(1);
  // Groups that do not divide the channels: the library's own error, named after the op.
  await setParam(page, 'groups', 3);
  await expect.poll(() => explorer.getAttribute('data-state')).toBe('error');
  expect(await explorer.locator('[data-testid="conv-error"]').textContent()).toMatch(/conv2d/i);
  await setParam(page, 'groups', 1);
  await expect.poll(() => explorer.getAttribute('data-state')).toBe('ok');
}

async function checkLayerViews(page: Page): Promise<void> {
  const plots = page.locator('[data-activation-plots]');
  await expect.poll(() => plots.getAttribute('data-count'), { timeout: 20_000 }).toBe('10');
  const names = await plots.locator('[data-activation]').evaluateAll((els) => els.map((e) => e.getAttribute('data-activation')));
  expect(names).toEqual(['relu', 'relu6', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'gelu', 'silu', 'hardSigmoid', 'hardSwish']);
  const points = await plots.locator('.cnn-plot__curve').evaluateAll((els) => els.map((e) => (e.getAttribute('d') ?? '').split(/[ML]/).length - 1));
  expect(points.every((n) => n === 161)).toBe(true);
  const pooling = page.locator('[data-pooling-view]');
  await expect.poll(() => pooling.getAttribute('data-count')).toBe('3');
  expect(await pooling.locator('[data-grid="maxPool"] rect').count()).toBe(16);
}

async function checkZoo(page: Page): Promise<void> {
  const zoo = page.locator('[data-zoo]');
  expect(await zoo.locator('tbody tr').count()).toBe(listModels().length);
  const resnet18 = zoo.locator('[data-model="resnet18"]');
  expect(await resnet18.textContent()).toContain('11.69 M');
  expect(await resnet18.locator('a').getAttribute('href')).toBe('https://arxiv.org/abs/1512.03385');
  // Filtering works once the page is hydrated.
  await expect.poll(async () => {
    await zoo.locator('[data-zoo-family]').selectOption('mobilenet');
    return zoo.locator('tbody tr').count();
  }).toBe(listModels('mobilenet*').length);
}

describe('the built site in Chromium', () => {
  it('is served cross-origin isolated, with wasm as application/wasm', async () => {
    setupDone();
    const res = await fetch(server.url);
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) expect(res.headers.get(name)).toBe(value);
    const wasm = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.wasm'));
    expect(wasm.length).toBe(3);
    const bin = await fetch(`${server.url}assets/${wasm[0]}`);
    expect(bin.headers.get('content-type')).toBe('application/wasm');
    expect((await fetch(`${server.url}no/such/page.html`)).status).toBe(404);
  });

  it('bundles one copy of tfjs-core for every page and component', async () => {
    setupDone();
    const chunks = join(DIST, 'assets', 'chunks');
    const js = await Promise.all(readdirSync(chunks).filter((f) => f.endsWith('.js')).map((f) => readFile(join(chunks, f), 'utf8')));
    expect(js.filter((text) => text.includes('The highest priority backend')).length).toBe(1);
  });

  const pages = sourcePages();
  it('has a built page for every Markdown page, and a Chinese page for every English one', () => {
    setupDone();
    expect(builtPages()).toEqual(pages);
    const english = pages.filter((p) => !p.startsWith('zh/'));
    expect(english.length).toBeGreaterThanOrEqual(6);
    expect(pages.filter((p) => p.startsWith('zh/')).sort()).toEqual(english.map((p) => `zh/${p}`).sort());
  });

  for (const path of pages) {
    it(`/${path}`, async () => {
      setupDone();
      const { page, errors, wasm } = await open(path);
      try {
        const status = page.locator('[data-backend-status]');
        const hasStatus = (await status.count()) > 0;
        if (hasStatus) {
          await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000, message: 'backend did not start' }).toBe('ready');
          expect(await status.getAttribute('data-backend')).toBe('wasm');
          expect(await status.getAttribute('data-simd')).toBe('true');
          expect(await status.getAttribute('data-isolated')).toBe('true');
          // One thread per core on this cross-origin-isolated site.
          expect(Number(await status.getAttribute('data-threads'))).toBe(await page.evaluate(() => navigator.hardwareConcurrency));
        } else {
          await page.waitForLoadState('networkidle');
        }
        expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);

        const examples = await runExamples(page);
        if (examples.length) expect(hasStatus, 'a page with examples shows backendInfo()').toBe(true);
        if (path.endsWith('tutorials/convolution.html')) await checkConvExplorer(page);
        if (path.endsWith('tutorials/layers.html')) await checkLayerViews(page);
        if (path.endsWith('models/zoo.html')) await checkZoo(page);

        const links = await page.locator('a[href]').evaluateAll((els) => els.map((e) => (e as HTMLAnchorElement).href));
        const origin = new URL(server.url).origin;
        visits.set(path, { errors, wasm, examples, links: new Set(links.filter((l) => new URL(l).origin === origin)) });
        if (examples.length || path.includes('tutorials/')) {
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.screenshot({ path: join(RESULTS, `${path.replace(/\.html$/, '').replace(/\//g, '_') || 'home'}.png`), fullPage: true });
        }
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    });
  }

  it('runs the same examples in English and in Chinese', () => {
    setupDone();
    for (const [path, visit] of visits) {
      if (path.startsWith('zh/')) continue;
      const twin = visits.get(`zh/${path}`);
      expect(twin, `zh/${path} was not visited`).toBeDefined();
      expect(twin!.examples, `zh/${path}`).toEqual(visit.examples);
    }
    const all = [...visits.values()].flatMap((v) => v.examples);
    expect(new Set(all)).toEqual(new Set(Object.keys(EXPECTED)));
  });

  it('loads the threaded SIMD binary, as a cross-origin isolated page may', () => {
    setupDone();
    const wasm = [...visits.values()].flatMap((v) => v.wasm);
    expect(wasm.some((p) => /\/tfjs-backend-wasm-threaded-simd\.[\w-]+\.wasm$/.test(p))).toBe(true);
    expect(wasm.filter((p) => !p.includes('threaded'))).toEqual([]);
  });

  it('has no broken internal links', async () => {
    setupDone();
    expect(visits.size).toBe(pages.length);
    const targets = new Set([...visits.values()].flatMap((v) => [...v.links]));
    const broken: string[] = [];
    const html = new Map<string, string>();
    for (const target of targets) {
      const url = new URL(target);
      const key = url.origin + url.pathname;
      if (!html.has(key)) {
        const res = await fetch(key);
        html.set(key, res.ok ? await res.text() : '');
        if (!res.ok) broken.push(`${target} (HTTP ${res.status})`);
      }
      const id = decodeURIComponent(url.hash.slice(1));
      if (id && html.get(key) && !html.get(key)!.includes(`id="${id}"`)) broken.push(`${target} (no #${id})`);
    }
    expect(broken).toEqual([]);
  });
});
