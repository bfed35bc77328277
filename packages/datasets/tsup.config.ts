import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';
import { browserBuild, libraryBuild, nodeScriptBuild } from '../../tsup.base';

// The browser build swaps the Node platform (node:fs, node:zlib, sharp) for the browser one
// (fetch, DecompressionStream, createImageBitmap): src/io/platform.ts imports './platform-node',
// which this plugin resolves to platform-browser.ts.
const browserPlatform: Plugin = {
  name: 'cnn-datasets-browser-platform',
  setup(build) {
    build.onResolve({ filter: /\/platform-node$/ }, () => ({
      path: new URL('./src/io/platform-browser.ts', import.meta.url).pathname,
    }));
  },
};

export default defineConfig([
  libraryBuild({
    // The sample's URLs are an entry of their own (`@cnn/datasets/fashion-mnist-sample`), never imported by index.ts:
    // only an app that imports them makes its bundler emit the sample's files.
    entry: { index: 'src/index.ts', 'fashion-mnist-sample': 'src/fashion-mnist-sample.ts' },
    // Each entry self-contained (no shared chunk of esbuild's helpers).
    splitting: false,
    platform: 'node',
    target: 'node20',
    // import.meta.url in the CJS build (the embedded sample is found relative to the module file).
    shims: true,
    // tsup's default: the package's dependencies (@cnn/tensor, sharp) stay external.
    external: undefined,
  }),
  // The decode worker thread's script (Node only), loaded by file URL from either build.
  nodeScriptBuild({ entry: { 'decode-worker': 'src/io/decode-worker.ts' }, target: 'node20' }),
  browserBuild({ external: [/^@cnn\//, /^@tensorflow\//], esbuildPlugins: [browserPlatform] }),
]);
