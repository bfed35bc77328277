import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';
import { browserBuild, libraryBuild } from '../../tsup.base';

// The browser build swaps the Node weights store (node:fs, node:crypto, node:os, node:path: the cache under
// $CNN_HOME) for the browser one (fetch, Cache Storage, SubtleCrypto), and the shipped weights' file URLs for the
// ones the caller passes (`shippedFiles`): src/pretrained/platform.ts imports './platform-node' and
// src/pretrained/shipped.ts '../weights-url-node', which this plugin resolves to their browser twins.
const browserPlatform: Plugin = {
  name: 'cnn-models-classic-browser-platform',
  setup(build) {
    build.onResolve({ filter: /\/platform-node$/ }, () => ({
      path: new URL('./src/pretrained/platform-browser.ts', import.meta.url).pathname,
    }));
    build.onResolve({ filter: /\/weights-url-node$/ }, () => ({
      path: new URL('./src/weights-url-browser.ts', import.meta.url).pathname,
    }));
  },
};

export default defineConfig([
  // import.meta.url in the CJS build: shipped weights are found relative to the module file.
  // The shipped weights' URLs are an entry of their own (`@cnn/models-classic/shipped-weights`), never imported by
  // index.ts: only an app that imports them makes its bundler emit the weights files.
  libraryBuild({
    entry: { index: 'src/index.ts', 'shipped-weights': 'src/shipped-weights.ts' },
    // Each entry self-contained (no shared chunk of esbuild's helpers).
    splitting: false,
    platform: 'node',
    target: 'node20',
    shims: true,
  }),
  browserBuild({ external: [/^@cnn\//, /^@tensorflow\//], esbuildPlugins: [browserPlatform] }),
]);
