/**
 * The BUILT site in Debian's Chromium, as a visitor gets it: `vitepress build`, served by
 * scripts/serve.mjs (the `docs:preview` server, with COOP/COEP) on 127.0.0.1, every page opened in
 * both languages. Checks: no console errors, the page is cross-origin isolated and its wasm backend
 * starts, every Run button prints what test/expectations.ts wants, the interactive components work,
 * English and Chinese twins run the same examples, and no internal link is broken. Writes a
 * screenshot of every page into test-results/
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
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { getCard, listModels, listPretrained, pretrainedUrl, shippedWeights } from '@cnn/models-efficient';
import { familyPage } from '../models/cards';
import { DIST, ISOLATION_HEADERS, serveStatic, type StaticServer } from '../scripts/serve.mjs';
import { EXPECTED } from './expectations';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * How long a page may take to finish something it computes (an example, a view, the backend starting). Generous on
 * purpose: these are not speed checks, and a machine busy with other work (both cores loaded) must not fail them; a
 * stuck page still fails, after this long. vitest.config.ts gives every other expect.poll a minute.
 */
const WORK_TIMEOUT = 240_000;
/** A page's whole test: its examples, views and screenshot, each bounded by {@link WORK_TIMEOUT}. */
const PAGE_TIMEOUT = 900_000;
/** The packages the API reference documents (typedoc.config.mjs). */
const API_PACKAGES = ['tensor', 'layers', 'models-classic', 'models-efficient', 'datasets', 'train'];
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

/** Runs a package's command line (`typedoc`, `vitepress build`) in a child process. */
function runBin(pkg: string, binPath: string, args: string[]): Promise<void> {
  const bin = join(dirname(createRequire(join(ROOT, 'package.json')).resolve(`${pkg}/package.json`)), binPath);
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? ok() : fail(new Error(`${pkg} ${args.join(' ')} exited with ${code}:\n${log}`)),
    );
  });
}

/** `npm run docs:build`: TypeDoc's API reference into public/api, then `vitepress build`. */
async function buildSite(): Promise<void> {
  await runBin('typedoc', 'bin/typedoc', []);
  await runBin('vitepress', 'bin/vitepress.js', ['build']);
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
  if (!existsSync(index) || !existsSync(join(DIST, 'api', 'index.html'))) return false;
  const requireHere = createRequire(join(ROOT, 'package.json'));
  const packages = [
    '@cnn/tensor',
    '@cnn/layers',
    '@cnn/models-classic',
    '@cnn/models-efficient',
    '@cnn/datasets',
    '@cnn/train',
  ].map((name) => join(dirname(requireHere.resolve(`${name}/package.json`)), 'dist'));
  const sources = Math.max(
    newest(ROOT, ['node_modules', 'cache', 'dist', 'test', 'test-results', 'api']),
    ...packages.map((dir) => newest(dir)),
  );
  return statSync(index).mtimeMs > sources;
}

/**
 * Site paths of the built pages ('' for the home page, 'guide/getting-started.html', ...); not the
 * API reference under api/ (TypeDoc's HTML, checked by its own test).
 */
function builtPages(dir = DIST): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'assets' && !(dir === DIST && entry.name === 'api'))
      out.push(...builtPages(full));
    else if (entry.name.endsWith('.html') && !(dir === DIST && entry.name === '404.html')) {
      out.push(
        relative(DIST, full)
          .split(sep)
          .join('/')
          .replace(/(^|\/)index\.html$/, '$1'),
      );
    }
  }
  return out.sort();
}

/** The site paths the Markdown sources become (known before the build, so tests can be listed). */
function sourcePages(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (
      entry.name.startsWith('.') ||
      ['node_modules', 'test', 'test-results', 'examples', 'scripts', 'public'].includes(entry.name)
    )
      continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourcePages(full));
    else if (entry.name.endsWith('.md') && entry.name !== 'README.md') {
      out.push(
        relative(ROOT, full)
          .split(sep)
          .join('/')
          .replace(/\.md$/, '.html')
          .replace(/(^|\/)index\.html$/, '$1'),
      );
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
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CNN_CHROMIUM; never 'npx playwright install'`,
    );
  }
  if (process.env.CNN_DOCS_REBUILD === '1' || !builtSiteIsFresh()) await buildSite();
  if (!existsSync(join(DIST, 'index.html')))
    throw new Error(`${DIST} has no index.html: the build did not produce the site`);
  await mkdir(RESULTS, { recursive: true });
  server = await serveStatic(DIST);
  profile = await mkdtemp(join(tmpdir(), 'cnn-docs-chromium-'));
  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
}

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/**
 * Opens a page (in the site's Chromium, or in `browser`) and records console errors, uncaught exceptions and failed requests. Once `leaving()` has been
 * called (just before a click that loads another document), requests that the browser aborts with
 * `net::ERR_ABORTED` are not counted: Chromium cancels the old page's in-flight requests (VitePress prefetches
 * route chunks whenever the page is idle) when it leaves, which is not a fault of the site.
 */
async function open(
  path: string,
  browser: BrowserContext = context,
): Promise<{ page: Page; errors: string[]; wasm: string[]; leaving: () => void }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const wasm: string[] = [];
  let left = false;
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (left && why === 'net::ERR_ABORTED') return;
    errors.push(`request failed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(server.url + path, { waitUntil: 'load' });
  return {
    page,
    errors,
    wasm,
    leaving: () => {
      left = true;
    },
  };
}

/** Clicks every Run button in turn and checks each output against the example's expectations. */
async function runExamples(page: Page): Promise<string[]> {
  const ids = await page
    .locator('[data-example]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-example') ?? ''));
  for (const id of ids) {
    const box = page.locator(`[data-example="${id}"]`).first();
    await box.locator('button').click();
    await expect
      .poll(() => box.getAttribute('data-state'), {
        timeout: WORK_TIMEOUT,
        interval: 250,
        message: `examples/${id}.ts did not finish`,
      })
      .toMatch(/done|error/);
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
  else
    await input.evaluate((el, v) => {
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

async function checkConvMatrix(page: Page): Promise<void> {
  const view = page.locator('[data-conv-matrix]');
  await expect.poll(() => view.getAttribute('data-nonzeros'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('81');
  expect(await view.locator('rect[data-weight="5"]').count()).toBe(9);
}

async function checkLayerViews(page: Page): Promise<void> {
  const plots = page.locator('[data-activation-plots]');
  await expect.poll(() => plots.getAttribute('data-count'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('10');
  const names = await plots
    .locator('[data-activation]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-activation')));
  expect(names).toEqual([
    'relu',
    'relu6',
    'leakyRelu',
    'elu',
    'sigmoid',
    'tanh',
    'gelu',
    'silu',
    'hardSigmoid',
    'hardSwish',
  ]);
  const points = await plots
    .locator('.cnn-plot__curve')
    .evaluateAll((els) => els.map((e) => (e.getAttribute('d') ?? '').split(/[ML]/).length - 1));
  expect(points.every((n) => n === 161)).toBe(true);
  const pooling = page.locator('[data-pooling-view]');
  await expect.poll(() => pooling.getAttribute('data-count')).toBe('3');
  expect(await pooling.locator('[data-grid="maxPool"] rect').count()).toBe(16);
  // A real image from the embedded Fashion-MNIST sample, pooled once and twice.
  const image = page.locator('[data-image-pooling]');
  await expect
    .poll(() => image.getAttribute('data-class'), { timeout: WORK_TIMEOUT, interval: 250 })
    .toBe('Ankle boot');
  const sizes = await image
    .locator('canvas')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-rows')}x${e.getAttribute('data-cols')}`));
  expect(sizes).toEqual(['28x28', '14x14', '7x7', '14x14', '7x7']);
  await image.locator('[data-param="index"]').fill('1');
  await image.locator('[data-param="index"]').dispatchEvent('change');
  await expect.poll(() => image.getAttribute('data-class')).not.toBe('Ankle boot');
}

/** A model family page: its diagram, its models (as the registry has them) and real summaries. */
async function checkFamilyPage(page: Page, family: string): Promise<void> {
  const diagrams = page.locator('[data-diagram]');
  expect(await diagrams.count(), 'a family page draws its idea').toBeGreaterThanOrEqual(1);
  expect(await diagrams.first().locator('[data-node]').count()).toBeGreaterThan(3);
  const ids = listModels().filter((id) => familyPage(id, getCard(id).family) === family);
  const table = page.locator(`[data-family-models][data-page="${family}"]`);
  expect(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-model')))).toEqual(
    [...ids].sort((a, b) => getCard(a).macs - getCard(b).macs || a.localeCompare(b)),
  );
  // Each model's card lists the weights loadPretrained takes for it, best first, as listPretrained gives them.
  for (const id of ids)
    expect(await table.locator(`[data-model="${id}"] [data-weights]`).getAttribute('data-weights')).toBe(
      listPretrained(id)
        .map((w) => w.name)
        .join(' '),
    );
  const summaries = page.locator('[data-model-summary]');
  expect(await summaries.count(), 'a family page shows a real summary').toBeGreaterThanOrEqual(1);
  for (const el of await summaries.all()) {
    const id = (await el.getAttribute('data-id'))!;
    expect(ids).toContain(id);
    expect(Number(await el.getAttribute('data-params'))).toBe(getCard(id).params);
    expect(Number(await el.getAttribute('data-macs'))).toBe(getCard(id).macs);
    expect(await el.locator('[data-summary-table]').textContent()).toContain(
      `params: ${getCard(id).params.toLocaleString('en-US')}`,
    );
  }
}

async function checkZoo(page: Page): Promise<void> {
  const zoo = page.locator('[data-zoo]');
  expect(await zoo.locator('tbody tr').count()).toBe(listModels().length);
  const resnet18 = zoo.locator('[data-model="resnet18"]');
  expect(await resnet18.textContent()).toContain('11.69 M');
  expect(await resnet18.locator('.cnn-zoo__paper a').getAttribute('href')).toBe('https://arxiv.org/abs/1512.03385');
  // The weights column: torchvision's file for resnet18, the shipped Fashion-MNIST file for lenet5, none for mobilenet_v1.
  expect(await resnet18.locator('[data-weights]').getAttribute('data-weights')).toBe('IMAGENET1K_V1');
  expect(await zoo.locator('[data-model="lenet5"] [data-weights]').getAttribute('data-weights')).toBe('fashion-mnist');
  expect(await zoo.locator('[data-model="mobilenet_v1"] [data-weights]').getAttribute('data-weights')).toBe('');
  // Every id links to its family's page, in the page's language.
  const prefix = (await page.evaluate(() => location.pathname)).startsWith('/zh/') ? '/zh/models/' : '/models/';
  expect(await resnet18.locator('[data-family-link]').getAttribute('href')).toBe(`${prefix}resnet.html`);
  expect(await zoo.locator('[data-model="resnext50_32x4d"] [data-family-link]').getAttribute('href')).toBe(
    `${prefix}resnext.html`,
  );
  // Filtering works once the page is hydrated.
  await expect
    .poll(async () => {
      await zoo.locator('[data-zoo-family]').selectOption('mobilenet');
      return zoo.locator('tbody tr').count();
    })
    .toBe(listModels('mobilenet*').length);
}

/** What the browser page's default settings (4 epochs) must reach. */
const TRAIN_MIN_ACCURACY = 0.75;
/** How long its training may take before the test gives up: the page's "about a minute" with room for a busy machine. */
const TRAIN_TIMEOUT = 600_000;

/**
 * Presses Train with the page's default settings and waits: LeNet-5 must reach 0.75 test accuracy on the
 * 1,000 test images of the embedded sample, and every drawing must be there. How long it took is logged, not
 * asserted (a busy machine takes longer; the accuracy after 4 epochs does not depend on it).
 */
async function checkTraining(page: Page): Promise<void> {
  const box = page.locator('[data-train-lenet]');
  await box.locator('[data-train-button]').click();
  await expect
    .poll(() => box.getAttribute('data-state'), {
      timeout: WORK_TIMEOUT,
      interval: 250,
      message: 'training did not start',
    })
    .toMatch(/training|done|error/);
  await expect
    .poll(() => box.getAttribute('data-state'), {
      timeout: TRAIN_TIMEOUT,
      interval: 1000,
      message: 'training did not finish',
    })
    .toMatch(/done|error/);
  expect(await box.getAttribute('data-state'), (await box.textContent()) ?? '').toBe('done');
  const seconds = Number(await box.getAttribute('data-seconds'));
  const accuracy = Number(await box.getAttribute('data-test-accuracy'));
  console.log(
    `train-in-browser: test top-1 ${accuracy} after ${seconds} s of training; ${await box.locator('[data-train-backend]').textContent()}`,
  );
  expect(seconds).toBeGreaterThan(0);
  expect(accuracy).toBeGreaterThanOrEqual(TRAIN_MIN_ACCURACY);
  expect(await box.locator('[data-train-backend]').textContent()).toMatch(/wasm/);
  expect(await box.getAttribute('data-backend')).toBe('wasm');
  // The backend choice: wasm by default; WebGPU offered only where the browser has an adapter (this Chromium runs
  // with --disable-gpu), else greyed out with the reason under it.
  expect(await box.locator('[data-param="backend"]').inputValue()).toBe('wasm');
  const offered = !(await box.locator('[data-param="backend"] option[value="webgpu"]').isDisabled());
  const why =
    (await box
      .locator('[data-webgpu-why]')
      .textContent()
      .catch(() => null)) ?? '';
  console.log(`train-in-browser without a GPU: WebGPU ${offered ? 'offered' : `not offered (${why})`}`);
  if (!offered) expect(why).toMatch(/^(WebGPU is off: |WebGPU 不可用：)/);
  // 4 epochs of 94 steps: one loss point per step, one test accuracy per epoch.
  expect(Number(await box.locator('[data-series]').first().getAttribute('data-points'))).toBe(4 * 94);
  expect(await box.locator('[data-confusion] tbody tr').count()).toBe(10);
  const counts = await box
    .locator('[data-confusion] tbody td')
    .evaluateAll((els) => els.reduce((s, e) => s + Number(e.textContent || 0), 0));
  expect(counts).toBe(1000);
  expect(await box.locator('[data-predictions] figure').count()).toBe(20);
  expect(await box.locator('[data-filters] canvas[data-rows="5"][data-cols="5"]').count()).toBe(6);
  expect(await box.locator('[data-feature-maps] canvas[data-rows="28"][data-cols="28"]').count()).toBe(6);
  // Another test image: its feature maps are drawn instead.
  await box.locator('[data-predictions] figure').nth(5).click();
  await expect.poll(() => box.locator('[data-feature-maps] canvas').count()).toBe(6);
}

/** Chromium's flags for the WebGPU test: the GPU process on, WebGPU on its SwiftShader adapter (software, on the CPU). */
const WEBGPU_FLAGS = [
  ...CHROMIUM_FLAGS.filter((f) => f !== '--disable-gpu'),
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
];
/**
 * The training page's settings for the WebGPU test: one epoch of 5 steps (160 of the training images at batch 32),
 * tested on 100 images. SwiftShader runs WGSL on the CPU: here a LeNet-5 step at batch 128 took 10-15 s.
 */
const WEBGPU_TRAIN = { epochs: 1, batchSize: 32, images: 160, testImages: 100 };
/**
 * How far each step's loss on WebGPU may be from wasm's, relative. The two run the same seed, data order and
 * arithmetic up to float rounding in different kernels; 24 Adam steps let that grow, so this is loose (the largest
 * difference seen is logged).
 */
const WEBGPU_LOSS_TOLERANCE = 0.02;

/** Trains with the page's backend choice set to `backend` and WEBGPU_TRAIN; returns every step's loss and the accuracy. */
async function trainOn(page: Page, backend: 'wasm' | 'webgpu') {
  const box = page.locator('[data-train-lenet]');
  await box.locator('[data-param="epochs"]').fill(String(WEBGPU_TRAIN.epochs));
  await box.locator('[data-param="batchSize"]').selectOption(String(WEBGPU_TRAIN.batchSize));
  await box.locator('[data-param="images"]').selectOption(String(WEBGPU_TRAIN.images));
  await box.locator('[data-param="backend"]').selectOption(backend);
  const started = Date.now();
  await box.locator('[data-train-button]').click();
  await expect
    .poll(() => box.getAttribute('data-state'), {
      timeout: TRAIN_TIMEOUT,
      interval: 500,
      message: `training on ${backend} did not finish`,
    })
    .toMatch(/done|error/);
  expect(await box.getAttribute('data-state'), (await box.textContent()) ?? '').toBe('done');
  expect(await box.getAttribute('data-backend')).toBe(backend);
  const losses = ((await box.getAttribute('data-losses')) ?? '').split(',').map(Number);
  return {
    losses,
    accuracy: Number(await box.getAttribute('data-test-accuracy')),
    where: (await box.locator('[data-train-backend]').textContent()) ?? '',
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * Getting started: the gallery classifies the ten Fashion-MNIST test pictures with the LeNet-5 weights that ship in
 * @cnn/models-classic. The weights must come from the BUILT site: Vite emits the package's safetensors file as an
 * asset (byte for byte the package's file) and the page fetches it from there.
 */
async function checkPretrainedGallery(page: Page, chinese: boolean): Promise<void> {
  const gallery = page.locator('[data-pretrained-gallery]');
  await expect
    .poll(() => gallery.getAttribute('data-state'), {
      timeout: WORK_TIMEOUT,
      interval: 250,
      message: 'the gallery did not finish',
    })
    .toMatch(/done|error/);
  expect(await gallery.getAttribute('data-state'), (await gallery.textContent()) ?? '').toBe('done');
  expect(await gallery.getAttribute('data-right')).toBe('10');
  const figures = await gallery.locator('figure').evaluateAll((els) =>
    els.map((e) => ({
      label: e.getAttribute('data-label'),
      predicted: e.getAttribute('data-predicted'),
      score: Number(e.getAttribute('data-score')),
      width: (e.querySelector('img') as HTMLImageElement).naturalWidth,
      caption: e.querySelector('figcaption')?.textContent ?? '',
    })),
  );
  expect(figures.map((f) => f.label)).toEqual(shippedWeights('lenet5').classes);
  for (const f of figures) {
    expect(f.predicted, `the picture of a ${f.label}`).toBe(f.label);
    expect(f.score, `the score of the picture of a ${f.label}`).toBeGreaterThan(0.8);
    expect(f.width, `the picture of a ${f.label} did not load`).toBe(28);
  }
  expect(figures[9].caption).toContain(chinese ? '短靴' : 'Ankle boot');

  const file = readFileSync(fileURLToPath(pretrainedUrl('lenet5')));
  const emitted = readdirSync(join(DIST, 'assets')).filter((f) =>
    /^lenet5-fashion-mnist\.[\w-]+\.safetensors$/.test(f),
  );
  expect(emitted, 'the build must emit the weights file as an asset').toHaveLength(1);
  expect(readFileSync(join(DIST, 'assets', emitted[0])).equals(file)).toBe(true);
  const fetched = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith('.safetensors')),
  );
  expect(fetched).toContain(`/assets/${emitted[0]}`);
}

/** The home page's hero and the nav bar's Tutorials link start the tutorials at the first one, Classification. */
async function checkEntryPoints(page: Page, prefix: string): Promise<void> {
  const first = `/${prefix}tutorials/classification.html`;
  const hrefs = (selector: string) =>
    page.locator(selector).evaluateAll((els) => els.map((e) => new URL((e as HTMLAnchorElement).href).pathname));
  expect(await hrefs('.VPHero a.VPButton')).toContain(first);
  expect(await hrefs('.VPNavBarMenu a.VPNavBarMenuLink')).toContain(first);
  expect((await hrefs('.VPNavBarMenu a.VPNavBarMenuLink')).filter((h) => h.includes('/tutorials/'))).toEqual([first]);
}

/** Sets a range or number input and fires its input event, as a user's drag does. */
async function setInput(page: Page, selector: string, value: number): Promise<void> {
  await page.locator(selector).evaluate((el, v) => {
    (el as HTMLInputElement).value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, String(value));
}

/** The gradient-descent view: zero steps is the uniform guess (ln 3), a hundred steps fit the clouds. */
async function checkLinearView(page: Page): Promise<void> {
  const view = page.locator('[data-linear-view]');
  await expect.poll(() => view.getAttribute('data-steps'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('20');
  expect(await view.locator('[data-point]').count()).toBe(90);
  await setInput(page, '[data-linear-view] [data-param="steps"]', 0);
  await expect.poll(() => view.getAttribute('data-loss')).toBe('1.0986');
  await setInput(page, '[data-linear-view] [data-param="steps"]', 100);
  await expect.poll(() => view.getAttribute('data-steps')).toBe('100');
  expect(Number(await view.getAttribute('data-loss'))).toBeLessThan(0.35);
}

/** XOR: the MLP gets all four points right; the approximation plots: one per width. */
async function checkMlpViews(page: Page): Promise<void> {
  const approx = page.locator('[data-approximation]');
  await expect.poll(() => approx.getAttribute('data-count'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('5');
  expect(await approx.locator('[data-series]').count()).toBe(10);
  const xor = page.locator('[data-xor-view]');
  // Without a hidden layer, XOR cannot be learned.
  await xor.locator('[data-param="hidden"]').selectOption('0');
  await xor.locator('[data-xor-train]').click();
  await expect.poll(() => xor.getAttribute('data-state'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('done');
  expect(Number(await xor.getAttribute('data-correct'))).toBeLessThan(4);
  // With 4 hidden units it is.
  await xor.locator('[data-param="hidden"]').selectOption('4');
  await xor.locator('[data-xor-train]').click();
  await expect.poll(() => xor.getAttribute('data-state'), { timeout: WORK_TIMEOUT, interval: 250 }).toBe('done');
  expect(await xor.getAttribute('data-correct')).toBe('4');
  expect(Number(await xor.locator('[data-series="loss"]').getAttribute('data-points'))).toBe(300);
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
    const js = await Promise.all(
      readdirSync(chunks)
        .filter((f) => f.endsWith('.js'))
        .map((f) => readFile(join(chunks, f), 'utf8')),
    );
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
    it(
      `/${path}`,
      async () => {
        setupDone();
        const { page, errors, wasm } = await open(path);
        try {
          const status = page.locator('[data-backend-status]');
          const hasStatus = (await status.count()) > 0;
          if (hasStatus) {
            await expect
              .poll(() => status.getAttribute('data-state'), {
                timeout: WORK_TIMEOUT,
                interval: 250,
                message: 'backend did not start',
              })
              .toBe('ready');
            expect(await status.getAttribute('data-backend')).toBe('wasm');
            expect(await status.getAttribute('data-simd')).toBe('true');
            expect(await status.getAttribute('data-isolated')).toBe('true');
            // One thread per core on this cross-origin-isolated site.
            expect(Number(await status.getAttribute('data-threads'))).toBe(
              await page.evaluate(() => navigator.hardwareConcurrency),
            );
          } else {
            await page.waitForLoadState('networkidle');
          }
          expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);

          const examples = await runExamples(page);
          if (examples.length) expect(hasStatus, 'a page with examples shows backendInfo()').toBe(true);
          if (path.endsWith('tutorials/convolution.html')) {
            await checkConvExplorer(page);
            await checkConvMatrix(page);
          }
          if (path.endsWith('tutorials/layers.html')) await checkLayerViews(page);
          if (path.endsWith('models/zoo.html')) await checkZoo(page);
          if (path.endsWith('tutorials/train-in-browser.html')) await checkTraining(page);
          if (path.endsWith('tutorials/classification.html')) await checkLinearView(page);
          if (path.endsWith('tutorials/mlp.html')) await checkMlpViews(page);
          if (path.endsWith('guide/getting-started.html')) await checkPretrainedGallery(page, path.startsWith('zh/'));
          if (path === '' || path === 'zh/') await checkEntryPoints(page, path);
          const family = /(?:^|\/)models\/(\w+)\.html$/.exec(path)?.[1];
          if (family && family !== 'zoo') await checkFamilyPage(page, family);

          const links = await page
            .locator('a[href]')
            .evaluateAll((els) => els.map((e) => (e as HTMLAnchorElement).href));
          const origin = new URL(server.url).origin;
          visits.set(path, {
            errors,
            wasm,
            examples,
            links: new Set(links.filter((l) => new URL(l).origin === origin)),
          });
          await page.evaluate(() => window.scrollTo(0, 0));
          await page.screenshot({
            path: join(RESULTS, `${path.replace(/\.html$/, '').replace(/\//g, '_') || 'home'}.png`),
            fullPage: true,
          });
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      },
      path.endsWith('train-in-browser.html') ? PAGE_TIMEOUT + TRAIN_TIMEOUT : PAGE_TIMEOUT,
    );
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

  it('serves the API reference (TypeDoc), linked from the nav of both languages', async () => {
    setupDone();
    for (const home of ['', 'zh/']) {
      const { page, errors, leaving } = await open(home);
      try {
        const link = page.locator('.VPNavBar a[href="/api/index.html"]').first();
        leaving();
        await link.click();
        await page.waitForURL(/\/api\/index\.html$/);
        expect(await page.title()).toContain('cnn API reference');
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }
    const links = new Set<string>();
    for (const name of API_PACKAGES) {
      const { page, errors } = await open(`api/modules/_cnn_${name}.html`);
      try {
        expect(await page.locator('h1').first().textContent()).toContain(`@cnn/${name}`);
        // Every exported symbol is listed with its summary (validation fails the build on a missing one).
        expect(await page.locator('.tsd-member-summary, .tsd-index-link, .tsd-kind-icon').count()).toBeGreaterThan(0);
        for (const href of await page
          .locator('a[href]')
          .evaluateAll((els) => els.map((e) => (e as HTMLAnchorElement).href))) {
          if (new URL(href).origin === new URL(server.url).origin) links.add(href.split('#')[0]);
        }
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }
    // A member documented by a TSDoc comment in the package's source is on its page.
    const conv = await (await fetch(`${server.url}api/classes/_cnn_layers.Conv2d.html`)).text();
    expect(conv).toContain('Channels the input must have');
    const broken: string[] = [];
    for (const href of links) {
      const res = await fetch(href);
      if (!res.ok) broken.push(`${href} (HTTP ${res.status})`);
    }
    expect(links.size).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });

  it("gives the API reference the site's look (colours, fonts, light / dark) and links back to the site", async () => {
    setupDone();
    /** The page's colours and font, as computed: body background, text, font stack, and a link's colour. */
    const look = (page: Page) =>
      page.evaluate(async () => {
        // Load Inter explicitly: the browser fetches a font only once some text is laid out with it, so on a busy
        // machine fonts.ready could resolve before that fetch had begun (check() was then false). A missing or
        // unreachable font file still leaves check() false.
        await document.fonts.load('16px Inter').catch(() => []);
        await document.fonts.ready;
        const body = getComputedStyle(document.body);
        const probe = document.createElement('span');
        probe.style.color = 'var(--vp-c-brand-1)';
        document.body.append(probe);
        const brand = getComputedStyle(probe).color;
        probe.remove();
        return {
          background: body.backgroundColor,
          text: body.color,
          font: body.fontFamily,
          brand,
          dark: document.documentElement.classList.contains('dark'),
          inter: document.fonts.check('16px Inter'),
        };
      });
    try {
      for (const appearance of ['dark', 'light']) {
        // The reader's choice on the site, stored as VitePress stores it, then a page of the site opened afresh.
        const setting = await open('');
        await setting.page.evaluate((a) => localStorage.setItem('vitepress-theme-appearance', a), appearance);
        await setting.page.close();
        const site = await open('');
        const siteLook = await look(site.page);
        expect(siteLook.dark).toBe(appearance === 'dark');
        expect(site.errors).toEqual([]);
        await site.page.close();

        const { page, errors } = await open('api/classes/_cnn_layers.Conv2d.html');
        try {
          const apiLook = await look(page);
          // A plain link in the page's content (TypeDoc colours it with its link colour).
          const link = await page.locator('.col-content').evaluate((content) => {
            const a = document.createElement('a');
            a.href = '#';
            a.textContent = 'probe';
            content.append(a);
            const color = getComputedStyle(a).color;
            a.remove();
            return color;
          });
          console.log(`[docs] ${appearance}: site ${JSON.stringify(siteLook)}, API ${JSON.stringify(apiLook)}`);
          expect({ ...apiLook, link }).toEqual({ ...siteLook, link: siteLook.brand });
          expect(apiLook.font).toMatch(/^Inter\b/);
          expect(apiLook.inter).toBe(true);
          // Everything the page loaded (the fonts included) came from the site itself.
          const origins = await page.evaluate(() =>
            [...new Set(performance.getEntriesByType('resource').map((e) => new URL(e.name).origin))].sort(),
          );
          expect(origins).toEqual([new URL(server.url).origin]);
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      }

      // A change made with TypeDoc's own theme menu is the site's choice too.
      const { page, errors, leaving } = await open('api/index.html');
      try {
        await page.locator('#tsd-theme').selectOption('dark', { force: true });
        await expect.poll(() => page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true);
        expect(await page.evaluate(() => localStorage.getItem('vitepress-theme-appearance'))).toBe('dark');
        // The title leads to the site's home page; the toolbar to its sections, in both languages.
        expect(await page.locator('.tsd-toolbar-contents a.title').getAttribute('href')).toBe('/');
        const toolbar = await page
          .locator('#tsd-toolbar-links a')
          .evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('href')]));
        expect(toolbar).toEqual([
          ['Guide', '/guide/getting-started'],
          ['Tutorials', '/tutorials/classification'],
          ['Model zoo', '/models/zoo'],
          ['中文', '/zh/'],
        ]);
        leaving();
        await page.locator('#tsd-toolbar-links a', { hasText: 'Guide' }).click();
        await page.waitForURL(/\/guide\/getting-started(\.html)?$/);
        await expect.poll(() => page.locator('.VPNavBar').count()).toBeGreaterThan(0);
        expect(await page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    } finally {
      const { page } = await open('');
      await page.evaluate(() => localStorage.removeItem('vitepress-theme-appearance'));
      await page.close();
    }
  });

  it(
    'trains on WebGPU where the browser offers it: on SwiftShader the loss is finite, falls, and follows wasm',
    async () => {
      setupDone();
      const { chromium } = await import('playwright-core');
      const gpuProfile = await mkdtemp(join(tmpdir(), 'cnn-docs-webgpu-'));
      const gpu = await chromium.launchPersistentContext(gpuProfile, {
        executablePath: CHROMIUM,
        headless: true,
        args: WEBGPU_FLAGS,
        viewport: { width: 1280, height: 900 },
      });
      try {
        for (const path of ['tutorials/train-in-browser.html', 'zh/tutorials/train-in-browser.html']) {
          const { page, errors } = await open(path, gpu);
          const box = page.locator('[data-train-lenet]');
          const option = box.locator('[data-param="backend"] option[value="webgpu"]');
          // The page asks the browser on load; the choice is enabled once the adapter answers.
          await expect
            .poll(() => option.isEnabled(), { timeout: WORK_TIMEOUT, message: `${path}: WebGPU not offered` })
            .toBe(true);
          expect(await box.locator('[data-webgpu-why]').count()).toBe(0);
          if (path.startsWith('zh/')) {
            // The Chinese page offers the same choice; training there is the English page's run again.
            expect(await option.textContent()).toBe('WebGPU（GPU）');
            expect(errors).toEqual([]);
            await page.close();
            continue;
          }
          const wasm = await trainOn(page, 'wasm');
          const webgpu = await trainOn(page, 'webgpu');
          const steps = Math.ceil(WEBGPU_TRAIN.images / WEBGPU_TRAIN.batchSize);
          let worst = 0;
          for (let i = 0; i < steps; i++)
            worst = Math.max(worst, Math.abs(webgpu.losses[i]! - wasm.losses[i]!) / Math.abs(wasm.losses[i]!));
          console.log(
            `train-in-browser, ${steps} steps at batch ${WEBGPU_TRAIN.batchSize}: wasm ${wasm.seconds.toFixed(1)} s (top-1 ${wasm.accuracy}), ` +
              `${webgpu.where}: ${webgpu.seconds.toFixed(1)} s (top-1 ${webgpu.accuracy}); loss ${webgpu.losses[0]} -> ${webgpu.losses[steps - 1]}, ` +
              `largest relative difference from wasm ${worst.toExponential(2)}`,
          );
          expect(webgpu.where).toMatch(/WebGPU: google swiftshader \(software\)/);
          expect(webgpu.losses).toHaveLength(steps);
          expect(wasm.losses).toHaveLength(steps);
          expect(webgpu.losses.every(Number.isFinite)).toBe(true);
          const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
          expect(mean(webgpu.losses.slice(-2))).toBeLessThan(mean(webgpu.losses.slice(0, 2)));
          expect(worst).toBeLessThan(WEBGPU_LOSS_TOLERANCE);
          // Test accuracy on 100 images: one image is 0.01.
          expect(Math.abs(webgpu.accuracy - wasm.accuracy)).toBeLessThanOrEqual(0.02);
          expect(
            await page
              .locator('[data-train-lenet] [data-confusion] tbody td')
              .evaluateAll((els) => els.reduce((s, e) => s + Number(e.textContent || 0), 0)),
          ).toBe(WEBGPU_TRAIN.testImages);
          expect(errors).toEqual([]);
          await page.close();
        }
      } finally {
        await gpu.close();
        await rm(gpuProfile, { recursive: true, force: true });
      }
    },
    2 * TRAIN_TIMEOUT + PAGE_TIMEOUT,
  );

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
