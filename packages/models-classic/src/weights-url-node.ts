// Where a shipped weights file is in Node, relative to the module that holds this code: src/*.ts and
// dist/index.{js,cjs}. The browser build (tsup.config.ts) resolves './weights-url-node' to './weights-url-browser',
// which names no file (see there).
import { pathToFileURL } from 'node:url';

/** The URL of a file of the package's `weights/` folder, or `given` (a URL or a path) when the caller names one. */
export function weightsUrl(file: string, given?: string | URL): URL {
  if (given !== undefined) {
    const text = String(given);
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? new URL(text) : pathToFileURL(text);
  }
  switch (file) {
    case 'lenet5-fashion-mnist.safetensors':
      return new URL('../weights/lenet5-fashion-mnist.safetensors', import.meta.url);
    case 'resnet20_cifar-fashion-mnist.safetensors':
      return new URL('../weights/resnet20_cifar-fashion-mnist.safetensors', import.meta.url);
    default:
      throw new Error(`no weights file '${file}' in @cnn/models-classic (weights/)`);
  }
}
