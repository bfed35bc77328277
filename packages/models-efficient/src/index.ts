/**
 * @cnn/models-efficient: SENet, MobileNet V1/V2/V3 and ShuffleNet V1/V2, plus everything an application needs, so
 * that it installs this one package: the backend (`setBackend('wasm' | 'cuda' | ...)`), the registry of the whole
 * zoo (classic and efficient), builders, weight loading and `predict`.
 *
 * @packageDocumentation
 * @module @cnn/models-efficient
 */
import {
  CLASSIC_CARDS,
  CLASSIFIER_OPTIONS,
  getCard,
  getModel,
  listModels,
  modelOptions,
  type ModelBuilder,
  type ModelCard,
  type OptionSpecs,
} from '@cnn/models-classic';

// The engine.
export {
  tf,
  setBackend,
  setThreads,
  getBackend,
  backendInfo,
  ready,
  setWasmPaths,
  WasmBinaryError,
  CudaBackendError,
  WebGpuBackendError,
  TensorArgumentError,
  type WebGpuAdapterInfo,
  type BackendName,
  type BackendInfo,
} from '@cnn/tensor';
// The whole zoo: registry, cards, classic builders.
export * from '@cnn/models-classic';
// Weights.
export {
  loadWeights,
  saveWeights,
  mmpretrainKeys,
  manualSeed,
  summary,
  CheckpointError,
  type Summary,
} from '@cnn/layers';
// Images in.
export {
  loadImage,
  imagenetPreprocess,
  type ImageSource,
  type LoadImageOptions,
  type PreprocessOptions,
  type ImageDataLike,
} from './preprocess';
export { IMAGENET_STATS, type ImageHWC } from '@cnn/datasets';
// This package's families: each file registers its models as it is loaded.
export { makeDivisible } from './divisible';
export { seResNet, seresnetMmpretrainKeys, seresnet50, seresnet101, seresnext50_32x4d } from './senet';
export {
  MobileNetV1,
  DepthwiseSeparable,
  MOBILENET_V1_LAYERS,
  MOBILENET_V1_OPTIONS,
  mobilenetV1,
  type MobileNetV1Options,
} from './mobilenet-v1';
export {
  MobileNetV2,
  InvertedResidual,
  MOBILENET_V2_SETTINGS,
  MOBILENET_V2_OPTIONS,
  mobilenetV2,
  type MobileNetV2Options,
  type InvertedResidualOptions,
} from './mobilenet-v2';
export {
  MobileNetV3,
  MOBILENET_V3_ARCH,
  MOBILENET_V3_OPTIONS,
  mobilenetV3Small,
  mobilenetV3Large,
  type MobileNetV3Options,
} from './mobilenet-v3';
export {
  ShuffleNetV1,
  ShuffleUnitV1,
  SHUFFLENET_V1_CHANNELS,
  SHUFFLENET_V1_OPTIONS,
  shufflenetV1,
  type ShuffleNetV1Options,
} from './shufflenet-v1';
export { ShuffleNetV2, ShuffleUnitV2, SHUFFLENET_V2_CHANNELS, shufflenetV2 } from './shufflenet-v2';

const classic = new Set(CLASSIC_CARDS.map(([c]) => c.id));

/**
 * Every model of this package, sorted by id: its card, a builder (`getModel`'s, options checked) and the options it
 * takes. The family files registered them; this is a snapshot of the registry taken when the package loaded.
 */
export const EFFICIENT_CARDS: Array<[ModelCard, ModelBuilder, OptionSpecs]> = listModels()
  .filter((id) => !classic.has(id))
  .map((id) => [getCard(id), (o: Record<string, unknown>) => getModel(id, o), modelOptions(id) ?? CLASSIFIER_OPTIONS]);
