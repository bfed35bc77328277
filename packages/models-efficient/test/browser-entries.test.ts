/**
 * Every library package's browser entry (the file its `exports` picks under the `browser` condition, as bundlers
 * resolve it), bundled by esbuild with `--bundle --platform=browser` and nothing else: no Node built-in may be reachable
 * (esbuild fails on one it cannot resolve, and nothing is left external); Node-only code reaches its modules through
 * variable specifiers of dynamic imports, which bundlers leave alone. The main entries reference none of the Fashion-MNIST sample or the
 * shipped weights: those are only in the subpaths `fashion-mnist-sample` and `shipped-weights`.
 *
 * Needs the packages built (`npx turbo run build`). The install test (install.test.ts) does the same for a whole page
 * with four bundlers, from packed tarballs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGES = ['tensor', 'layers', 'datasets', 'train', 'models-classic', 'models-efficient'];

describe("every package's browser entry bundles with esbuild --platform=browser and reaches no Node built-in", () => {
  for (const dir of PACKAGES) {
    test(`@cnn/${dir}`, async () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8'));
      const result = await build({
        stdin: { contents: `export * from '${pkg.name}';`, resolveDir: join(ROOT, 'packages', dir), loader: 'js' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
        metafile: true,
      });
      expect(result.errors).toEqual([]);
      const text = result.outputFiles[0].text;
      // A static or literal import of a built-in fails the build above; nothing may be left to the page to load.
      const [output] = Object.values(result.metafile.outputs);
      expect(output.imports.filter((i) => i.external).map((i) => i.path)).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((f) => /\.(gz|safetensors)$/.test(f))).toEqual([]);
      expect(text).not.toMatch(/fashion-mnist-sample\/[\w-]+\.gz|weights\/[\w-]+\.safetensors/);
      // Each package resolved to its browser build where it has one.
      const browserEntry: string | undefined = pkg.exports['.'].browser;
      if (browserEntry) expect(inputs.some((f) => f.endsWith(`${dir}/${browserEntry.slice(2)}`))).toBe(true);
      console.log(`@cnn/${dir}: ${(text.length / 1000).toFixed(0)} kB unminified, ${inputs.length} inputs`);
    }, 120_000);
  }
});
