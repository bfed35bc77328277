import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

// The browser build swaps the Node platform (node:fs, node:zlib, sharp) for the browser one
// (fetch, DecompressionStream, createImageBitmap): src/io/platform.ts imports './platform-node',
// which this plugin resolves to platform-browser.ts.
const browserPlatform: Plugin = {
  name: 'cnn-datasets-browser-platform',
  setup(build) {
    build.onResolve({ filter: /\/platform-node$/ }, (args) => ({
      path: new URL('./src/io/platform-browser.ts', import.meta.url).pathname,
    }));
  },
};

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    dts: true,
    clean: true,
    sourcemap: true,
    // import.meta.url in the CJS build (the embedded sample is found relative to the module file).
    shims: true,
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
  },
  {
    // The decode worker thread's script (Node only), loaded by file URL from either build.
    entry: { 'decode-worker': 'src/io/decode-worker.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: true,
  },
  {
    entry: { 'browser/index': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    dts: false,
    sourcemap: true,
    external: [/^@cnn\//, /^@tensorflow\//],
    esbuildPlugins: [browserPlatform],
  },
]);
