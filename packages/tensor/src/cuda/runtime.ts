// Reaching Node.js from the 'cuda' modules without pulling Node-only modules into a bundle: the package and Node's own
// modules are loaded through `dynamicImport`, whose specifier is not a string literal, so tsup/esbuild, Vite and
// webpack leave it alone. No module under src/cuda may import a Node module or the package any other way.

/**
 * `import(specifier)` that bundlers leave alone: the specifier is a parameter, never a literal, and the comments keep
 * Vite and webpack quiet. esbuild keeps `import()` as is in both its ESM and CJS output, so the CJS build also loads
 * the package with Node's own loader, at run time.
 */
export function dynamicImport<T = unknown>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

/** Whether this is Node.js (where the package and the device queries can run). */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}
