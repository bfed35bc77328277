// The platform the readers run on. This file points at the Node implementation; the browser build
// (tsup.config.ts) resolves './platform-node' to './platform-browser' instead, so a browser bundle
// never sees node:fs, node:zlib or sharp.
export { platform } from './platform-node';
export type { Platform, DirEntry } from './platform-types';
