// The build settings every package shares; each packages/*/tsup.config.ts starts from these and states only
// what is its own (platform, shims, extra entries, plugins). Turbo's build task lists this file as an input.
import type { Options } from 'tsup';

/**
 * The cnn packages and tfjs stay external (one engine per application: a bundler or Node resolves exactly one
 * copy of @cnn/tensor and of tfjs), and so do Node's built-ins.
 */
export const EXTERNAL: Array<string | RegExp> = [/^@cnn\//, /^@tensorflow\//, /^node:/];

/** `.js` for the ESM build and `.cjs` for the CJS one, as the packages' `exports` maps name them. */
const outExtension: Options['outExtension'] = ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' });

/**
 * A package's main build: `src/index.ts` to `dist/index.js` (ESM), `dist/index.cjs` (CJS) and `dist/index.d.ts`,
 * with source maps, for any platform, the cnn packages and tfjs external. `options` replaces any of these.
 */
export function libraryBuild(options: Options = {}): Options {
  return {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'neutral',
    target: 'es2020',
    dts: true,
    clean: true,
    sourcemap: true,
    external: EXTERNAL,
    outExtension,
    ...options,
  };
}

/**
 * A package's browser build: `src/index.ts` to `dist/browser/index.js` (ESM only, no types: the main build's
 * `.d.ts` describes it), with a source map. `options` replaces any of these (a package names its own externals).
 */
export function browserBuild(options: Options = {}): Options {
  return {
    entry: { 'browser/index': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    dts: false,
    sourcemap: true,
    ...options,
  };
}

/** A Node program or worker script: ESM only, no types, with a source map. */
export function nodeScriptBuild(options: Options): Options {
  return {
    format: ['esm'],
    platform: 'node',
    sourcemap: true,
    ...options,
  };
}
