// Images in: decoding (Node: a path, an http(s) URL or the file's bytes; browser: an <img>, a canvas, ImageData or a
// URL) comes from @cnn/datasets, ImageNet-style preprocessing (resize the short side to 256, centre-crop 224, scale to
// [0, 1], normalise with ImageNet's mean and std) from @cnn/models-classic, whose `predict` applies the same code to
// images.
// This package re-exports both under the names it always had.
export {
  loadImage,
  type ImageSource,
  type ImageDataLike,
  type CanvasImageSourceLike,
  type LoadImageOptions,
} from '@cnn/datasets';
export { imagenetPreprocess, type PreprocessOptions } from '@cnn/models-classic';
