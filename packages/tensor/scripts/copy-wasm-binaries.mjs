// Copies tfjs's three WebAssembly binaries next to the browser build (dist/browser/), where
// src/browser-wasm-paths.ts names them with `new URL('./….wasm', import.meta.url)` for bundlers to emit.
// Run after tsup (package.json's build script), not from tsup's onSuccess: the Node build's `clean` runs
// concurrently with the browser build and could delete copies made while it was listing dist/.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const from = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
mkdirSync('dist/browser', { recursive: true });
for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
  copyFileSync(join(from, name), join('dist/browser', name));
