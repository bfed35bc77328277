import { defineConfig } from 'tsup';
import { EXTERNAL, nodeScriptBuild } from '../../tsup.base';

// The cnn packages (and tfjs through them) stay external: one engine per process.
export default defineConfig(
  nodeScriptBuild({
    entry: { cli: 'src/cli.ts' },
    target: 'es2022',
    clean: true,
    banner: { js: '#!/usr/bin/env node' },
    external: EXTERNAL,
  }),
);
