/**
 * @cnn/datasets: real data for cnn, fast.
 *
 * - Readers: {@link MNIST}, {@link FashionMNIST} (IDX, plain or gzip; Debian's package; an embedded
 *   sample), {@link CIFAR10}, {@link CIFAR100} (binary version), {@link ImageFolder} (JPEG/PNG, one
 *   folder per class, or a file list).
 * - Transforms on HWC typed arrays, seeded: {@link ToTensor}, {@link Normalize}, {@link Resize},
 *   {@link CenterCrop}, {@link RandomCrop}, {@link RandomResizedCrop}, {@link RandomHorizontalFlip},
 *   {@link ColorJitter}, {@link RandomErasing}; batch-level {@link Mixup} and {@link CutMix}.
 * - {@link DataLoader}: seeded shuffling, batches as NHWC tensors, prefetching.
 *
 * @packageDocumentation
 * @module @cnn/datasets
 */
export { Rng } from './rng';
export {
  imageHWC,
  shapeOf,
  IMAGENET_STATS,
  type ImageHWC,
  type PixelArray,
  type Sample,
  type NormStats,
} from './image';
export { DatasetError, DatasetUsageError } from './errors';
export {
  DEFAULT_MAX_PIXELS,
  DEFAULT_MAX_IDX_BYTES,
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_FETCH_TIMEOUT_MS,
  MAX_SIDE,
  MAX_OUTPUT_PIXELS,
} from './limits';
export { InMemoryDataset, computeStats, type Dataset, type InMemoryParts } from './dataset';
export { parseIdx, readIdx, isGzip, type IdxArray, type IdxReadOptions } from './idx';
export {
  MNIST,
  FashionMNIST,
  type MnistOptions,
  type FashionMnistSampleOptions,
  type FashionMnistSampleFile,
} from './mnist';
export { CIFAR10, CIFAR100, type CifarOptions, type Cifar100Options } from './cifar';
export { ImageFolder, type ImageFolderOptions, type SkippedFile } from './image-folder';
export {
  decodeImage,
  loadImage,
  stopDecodeWorkers,
  type DecodeOptions,
  type LoadImageOptions,
  type ImageSource,
  type ImageDataLike,
  type CanvasImageSourceLike,
  type LoadedImage,
} from './decode';
export { Compose, Lambda, type Transform, type TransformSpec } from './transforms/transform';
export { transformFromSpec } from './transforms/registry';
export {
  Resize,
  CenterCrop,
  RandomCrop,
  RandomResizedCrop,
  RandomHorizontalFlip,
  cropPad,
  hflip,
  type PaddingMode,
  type ResizeOptions,
  type RandomCropOptions,
  type RandomResizedCropOptions,
} from './transforms/geometry';
export { resizeRegion, type Interpolation } from './transforms/resample';
export { ToTensor, Normalize, ColorJitter, type ColorJitterOptions } from './transforms/pixel';
export { RandomErasing, type RandomErasingOptions } from './transforms/random-erasing';
export { Mixup, CutMix, softTargets, type BatchTransform, type HostBatch, type MixOptions } from './transforms/mix';
export { DataLoader, type DataLoaderOptions, type Batch } from './data-loader';
