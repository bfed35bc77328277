// Where a shipped weights file is, relative to the module that holds this code: dist/browser/index.js. The browser build
// (tsup.config.ts) resolves './weights-url-node' to './weights-url-browser' (dist/browser/index.js is one folder deeper).
// One literal URL per file, so that bundlers (Vite, webpack, esbuild) see each asset and an app that never loads a
// file does not carry it.

/** The URL of a file of the package's `weights/` folder. */
export function weightsUrl(file: string): URL {
  switch (file) {
    case 'lenet5-fashion-mnist.safetensors':
      return new URL('../../weights/lenet5-fashion-mnist.safetensors', import.meta.url);
    case 'resnet20_cifar-fashion-mnist.safetensors':
      return new URL('../../weights/resnet20_cifar-fashion-mnist.safetensors', import.meta.url);
    default:
      throw new Error(`no weights file '${file}' in @cnn/models-classic (weights/)`);
  }
}
