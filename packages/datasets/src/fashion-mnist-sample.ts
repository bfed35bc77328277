/**
 * `@cnn/datasets/fashion-mnist-sample`: where the four files of the embedded Fashion-MNIST sample are, as URLs beside
 * this module. Importing it is what makes a bundler (Vite, webpack 5) emit the files as assets: an app that never
 * imports it ships none of the sample's 1.7 MB. Pass the map to {@link FashionMNIST.sample} as `files` in a browser;
 * Node finds the files in the installed package without it.
 *
 * With esbuild or Rollup, which do not emit `new URL(…, import.meta.url)` assets, copy the package's
 * `data/fashion-mnist-sample/` folder beside your bundle, or pass URLs of your own as `files`.
 *
 * @example
 * import { FashionMNIST } from '@cnn/datasets';
 * import { fashionMnistSampleFiles } from '@cnn/datasets/fashion-mnist-sample';
 * const test = await FashionMNIST.sample({ train: false, files: fashionMnistSampleFiles });
 * @module
 */
import type { FashionMnistSampleFile } from './mnist';

export type { FashionMnistSampleFile } from './mnist';

/** The sample's four gzipped IDX files (dist/ is one folder below the package root, beside data/). */
export const fashionMnistSampleFiles: Readonly<Record<FashionMnistSampleFile, string>> = Object.freeze({
  'train-images-idx3-ubyte.gz': new URL('../data/fashion-mnist-sample/train-images-idx3-ubyte.gz', import.meta.url)
    .href,
  'train-labels-idx1-ubyte.gz': new URL('../data/fashion-mnist-sample/train-labels-idx1-ubyte.gz', import.meta.url)
    .href,
  't10k-images-idx3-ubyte.gz': new URL('../data/fashion-mnist-sample/t10k-images-idx3-ubyte.gz', import.meta.url).href,
  't10k-labels-idx1-ubyte.gz': new URL('../data/fashion-mnist-sample/t10k-labels-idx1-ubyte.gz', import.meta.url).href,
});
