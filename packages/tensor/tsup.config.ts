import { defineConfig } from 'tsup';
import { browserBuild, libraryBuild } from '../../tsup.base';

// tfjs-core's Node entry registers no gradients and no chained ops, and its deep module paths
// cannot be imported from plain Node ESM/CJS. The Node builds therefore inline those two
// side-effect modules (they register into the one engine tfjs keeps on globalThis), while the
// public '@tensorflow/tfjs-core' entry stays external.
//
// The browser build inlines tfjs (core, cpu, wasm and, in a chunk loaded only by setBackend('webgpu'), webgpu backends, and their CommonJS parts: seedrandom,
// long, the emscripten glue) into one ES module with no bare imports left, so that any bundler, Rollup
// with only node-resolve included, takes it as is. Only @cnn/tensor imports tfjs, so an app still holds
// one copy of it. tfjs's wasm binaries are copied next to it by scripts/copy-wasm-binaries.mjs (run
// after tsup by the build script), where src/browser-wasm-paths.ts names them.
const deep = [/^@tensorflow\/tfjs-core\/dist\//];

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
    // its own folder: the lazily imported WebGPU backend becomes a chunk beside index.js, sharing tfjs's chunk
    entry: { index: 'src/index.ts' },
    outDir: 'dist/browser',
    external: [],
    noExternal: [/^@tensorflow\/tfjs-(core|backend-cpu|backend-wasm|backend-webgpu)(\/|$)/],
    define: { __CNN_BROWSER_BUILD__: 'true' },
  }),
]);
