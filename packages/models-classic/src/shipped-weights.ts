/**
 * `@cnn/models-classic/shipped-weights`: where the weights files that ship inside the package are, as URLs beside this
 * module. Importing it is what makes a bundler (Vite, webpack 5) emit the files as assets: an app that never imports
 * it ships none of their 1.3 MB. Pass the map to `loadPretrained` (or `pretrainedUrl`) as `shippedFiles` in a browser;
 * Node reads the files from the installed package without it.
 *
 * With esbuild or Rollup, which do not emit `new URL(…, import.meta.url)` assets, copy the package's `weights/` folder
 * beside your bundle, or pass URLs of your own.
 *
 * @example
 * import { loadPretrained } from '@cnn/models-classic';
 * import { shippedWeightsFiles } from '@cnn/models-classic/shipped-weights';
 * const net = await loadPretrained('lenet5', { shippedFiles: shippedWeightsFiles });
 * @module
 */

/** The shipped weights files, by file name (dist/ is one folder below the package root, beside weights/). */
export const shippedWeightsFiles: Readonly<Record<string, string>> = Object.freeze({
  'lenet5-fashion-mnist.safetensors': new URL('../weights/lenet5-fashion-mnist.safetensors', import.meta.url).href,
  'resnet20_cifar-fashion-mnist.safetensors': new URL(
    '../weights/resnet20_cifar-fashion-mnist.safetensors',
    import.meta.url,
  ).href,
});
