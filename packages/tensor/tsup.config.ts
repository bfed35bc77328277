import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'tsup';
import { browserBuild, libraryBuild } from '../../tsup.base';

// tfjs-core's Node entry registers no gradients and no chained ops, and its deep module paths
// cannot be imported from plain Node ESM/CJS. The Node builds therefore inline those two
// side-effect modules (they register into the one engine tfjs keeps on globalThis), while the
// public '@tensorflow/tfjs-core' entry stays external. The browser build keeps all of tfjs
// external so that a bundler holds exactly one copy of it.
const deep = [/^@tensorflow\/tfjs-core\/dist\//];

// The browser build ships copies of tfjs's three wasm binaries next to itself, so that
// src/browser-wasm-paths.ts can name them with `new URL('./….wasm', import.meta.url)`, which bundlers
// emit as assets. `__CNN_BROWSER_BUILD__` keeps that code out of the Node builds.
const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

async function copyWasmBinaries(): Promise<void> {
  const require = createRequire(import.meta.url);
  const from = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  await mkdir('dist/browser', { recursive: true });
  await Promise.all(WASM_BINARIES.map((name) => copyFile(join(from, 'dist', name), join('dist/browser', name))));
}

export default defineConfig([
  libraryBuild({
    platform: 'node',
    target: 'node20',
    // tsup's default externals (the package's dependencies: tfjs), but for the deep modules above.
    external: undefined,
    noExternal: deep,
    // import.meta.url in the CJS build too (src/wasm/platform.ts resolves tfjs's binary from it).
    shims: true,
    define: { __CNN_BROWSER_BUILD__: 'false' },
    // The only `import.meta` in src is browser-wasm-paths.ts's, dropped from these builds by the
    // define above; esbuild still warns about it for CJS before dropping it.
    esbuildOptions: (options, { format }) => {
      if (format === 'cjs') options.logOverride = { ...options.logOverride, 'empty-import-meta': 'silent' };
    },
  }),
  browserBuild({
    external: [/^@tensorflow\//],
    define: { __CNN_BROWSER_BUILD__: 'true' },
    onSuccess: copyWasmBinaries,
  }),
]);
