/**
 * `@cnn/models-efficient/shipped-weights`: the URLs of the weights files shipped inside `@cnn/models-classic`,
 * re-exported for apps that install only this package. Importing it makes a bundler emit the files; pass the map to
 * `loadPretrained(id, { shippedFiles })` in a browser.
 *
 * @example
 * import { loadPretrained } from '@cnn/models-efficient';
 * import { shippedWeightsFiles } from '@cnn/models-efficient/shipped-weights';
 * const net = await loadPretrained('lenet5', { shippedFiles: shippedWeightsFiles });
 * @module
 */
export { shippedWeightsFiles } from '@cnn/models-classic/shipped-weights';
