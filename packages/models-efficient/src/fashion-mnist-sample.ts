/**
 * `@cnn/models-efficient/fashion-mnist-sample`: the URLs of the embedded Fashion-MNIST sample's files, re-exported
 * from `@cnn/datasets/fashion-mnist-sample` for apps that install only this package. Importing it makes a bundler
 * emit the four files; pass the map to `FashionMNIST.sample({ files })` in a browser.
 *
 * @example
 * import { FashionMNIST } from '@cnn/models-efficient';
 * import { fashionMnistSampleFiles } from '@cnn/models-efficient/fashion-mnist-sample';
 * const test = await FashionMNIST.sample({ train: false, files: fashionMnistSampleFiles });
 * @module
 */
export { fashionMnistSampleFiles, type FashionMnistSampleFile } from '@cnn/datasets/fashion-mnist-sample';
