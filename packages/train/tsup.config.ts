import { defineConfig } from 'tsup';

// @cnn/tensor and @cnn/layers (and through them tfjs) stay external: one engine per application.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2020',
  dts: true,
  clean: true,
  sourcemap: true,
  external: [/^@cnn\//, /^@tensorflow\//, /^node:/],
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
});
