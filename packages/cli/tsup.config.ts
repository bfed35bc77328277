import { defineConfig } from 'tsup';

// The cnn packages (and tfjs through them) stay external: one engine per process.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'es2022',
  clean: true,
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  external: [/^@cnn\//, /^@tensorflow\//, /^node:/],
});
