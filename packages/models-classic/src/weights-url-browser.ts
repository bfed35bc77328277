// Where a shipped weights file is, in a browser: where the caller says (`shippedFiles`, usually the map
// `@cnn/models-classic/shipped-weights` exports). The browser build (tsup.config.ts) resolves './weights-url-node' to this
// file. It names no file itself: a literal `new URL(…, import.meta.url)` here would make every bundler that emits such
// assets (Vite does it even for code it then drops) ship the weights with every app, used or not.
import { PretrainedError } from './errors';

/** The URL of a shipped weights file: `given`, else a {@link PretrainedError} saying how to give it. */
export function weightsUrl(file: string, given?: string | URL): URL {
  if (given !== undefined) return new URL(String(given), globalThis.location?.href);
  throw new PretrainedError(
    'options',
    `in a browser the shipped weights file ${file} is fetched from the URL you pass in shippedFiles: import { shippedWeightsFiles } from '@cnn/models-classic/shipped-weights' and pass { shippedFiles: shippedWeightsFiles }, which makes your bundler emit the file as an asset`,
  );
}
