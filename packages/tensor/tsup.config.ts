import { defineConfig } from 'tsup';

// tfjs-core's Node entry registers no gradients and no chained ops, and its deep module paths
// cannot be imported from plain Node ESM/CJS. The Node builds therefore inline those two
// side-effect modules (they register into the one engine tfjs keeps on globalThis), while the
// public '@tensorflow/tfjs-core' entry stays external. The browser build keeps all of tfjs
// external so that a bundler holds exactly one copy of it.
const deep = [/^@tensorflow\/tfjs-core\/dist\//];

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    dts: true,
    clean: true,
    sourcemap: true,
    noExternal: deep,
    outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
  },
  {
    entry: { 'browser/index': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    dts: false,
    sourcemap: true,
    external: [/^@tensorflow\//],
  },
]);
