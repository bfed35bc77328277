import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

// The two asset subpaths re-export @cnn/datasets' and @cnn/models-classic's (apps that install only this package
// import them from here); index.ts never imports them, so apps that do not ship none of the files.
export default defineConfig(
  libraryBuild({
    entry: {
      index: 'src/index.ts',
      'fashion-mnist-sample': 'src/fashion-mnist-sample.ts',
      'shipped-weights': 'src/shipped-weights.ts',
    },
    // Each entry self-contained (no shared chunk of esbuild's helpers).
    splitting: false,
  }),
);
