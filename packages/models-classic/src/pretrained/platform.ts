// The weights store this build uses. This file points at the Node one (file system cache under $CNN_HOME); the
// browser build (tsup.config.ts) resolves './platform-node' to './platform-browser' instead, so a browser bundle
// never sees node:fs, node:crypto, node:os or node:path.
export { store } from './platform-node';
