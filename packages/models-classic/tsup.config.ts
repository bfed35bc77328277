import { defineConfig } from 'tsup';

// @cnn/tensor (and through it tfjs) stays external: one engine per application.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2020',
  dts: true,
  clean: true,
  sourcemap: true,
  // import.meta.url in the CJS build: shipped weights are found relative to the module file.
  shims: true,
  external: [/^@cnn\//, /^@tensorflow\//, /^node:/],
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
});
