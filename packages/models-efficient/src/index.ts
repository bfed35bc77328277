/**
 * @cnn/models-efficient: SENet, MobileNet V1/V2/V3 and ShuffleNet V1/V2, plus everything an application needs, so
 * that it installs this one package: the backend (`setBackend('wasm' | 'cuda' | ...)`), the registry of the whole
 * zoo (classic and efficient), builders, weight loading and `predict`.
 *
 * @packageDocumentation
 * @module @cnn/models-efficient
 */
import './zoo';
import { ModelOptionsError, checkOptions, getModel, listModels, type ImageClassifier, type ResNetOptions } from '@cnn/models-classic';
import type { MobileNetV1Options } from './mobilenet-v1';
import type { MobileNetV2Options } from './mobilenet-v2';
import type { MobileNetV3Options } from './mobilenet-v3';
import { SHUFFLENET_V1_OPTIONS, type ShuffleNetV1Options } from './shufflenet-v1';

// The engine.
export { tf, setBackend, setThreads, getBackend, backendInfo, ready, setWasmPaths, CudaBackendError, type BackendName, type BackendInfo } from '@cnn/tensor';
// The whole zoo: registry, cards, classic builders.
export * from '@cnn/models-classic';
// Weights.
export { loadWeights, saveWeights, mmpretrainKeys, manualSeed, summary, CheckpointError, type Summary } from '@cnn/layers';
// Images in.
export { loadImage, imagenetPreprocess, type ImageSource, type LoadImageOptions, type PreprocessOptions, type ImageDataLike } from './preprocess';
export { IMAGENET_STATS, type ImageHWC } from '@cnn/datasets';
// This package's families.
export { makeDivisible } from './divisible';
export { seResNet, seresnetMmpretrainKeys } from './senet';
export { MobileNetV1, MOBILENET_V1_LAYERS, MOBILENET_V1_OPTIONS, type MobileNetV1Options } from './mobilenet-v1';
export { MobileNetV2, MOBILENET_V2_SETTINGS, MOBILENET_V2_OPTIONS, type MobileNetV2Options } from './mobilenet-v2';
export { MobileNetV3, MOBILENET_V3_ARCH, MOBILENET_V3_OPTIONS, type MobileNetV3Options } from './mobilenet-v3';
export { ShuffleNetV1, SHUFFLENET_V1_CHANNELS, SHUFFLENET_V1_OPTIONS, type ShuffleNetV1Options } from './shufflenet-v1';
export { ShuffleNetV2, SHUFFLENET_V2_CHANNELS } from './shufflenet-v2';
export { EFFICIENT_CARDS } from './zoo';

/** SE-ResNet-50 (MMPretrain's). */
export const seresnet50 = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnet50', opts as Record<string, unknown>);
/** SE-ResNet-101. */
export const seresnet101 = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnet101', opts as Record<string, unknown>);
/** SE-ResNeXt-50 32x4d. */
export const seresnext50_32x4d = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnext50_32x4d', opts as Record<string, unknown>);
/** MobileNetV1 (`widthMultiplier`). */
export const mobilenetV1 = (opts: MobileNetV1Options = {}): ImageClassifier => getModel('mobilenet_v1', opts as Record<string, unknown>);
/** MobileNetV2 (`widthMultiplier`, `attn: 'se'`). */
export const mobilenetV2 = (opts: MobileNetV2Options = {}): ImageClassifier => getModel('mobilenet_v2', opts as Record<string, unknown>);
/** MobileNetV3-Small. */
export const mobilenetV3Small = (opts: MobileNetV3Options = {}): ImageClassifier => getModel('mobilenet_v3_small', opts as Record<string, unknown>);
/** MobileNetV3-Large. */
export const mobilenetV3Large = (opts: MobileNetV3Options = {}): ImageClassifier => getModel('mobilenet_v3_large', opts as Record<string, unknown>);
/**
 * ShuffleNetV1 with `groups` (default 3) and `widthMultiplier` (default 1.0): the registered id of that pair
 * (`listModels('shufflenet_v1*')`); a pair without an id is refused with a {@link ModelOptionsError}.
 */
export const shufflenetV1 = (opts: ShuffleNetV1Options = {}): ImageClassifier => {
  checkOptions('shufflenetV1', opts, SHUFFLENET_V1_OPTIONS);
  const g = opts.groups ?? 3;
  const w = opts.widthMultiplier ?? 1;
  const id = `shufflenet_v1_x${w.toFixed(1).replace('.', '_')}_g${g}`;
  const ids = listModels('shufflenet_v1_*');
  if (!ids.includes(id)) {
    throw new ModelOptionsError('shufflenetV1', `no ShuffleNetV1 with groups ${g} and widthMultiplier ${w}; the ids are ${ids.join(', ')}`, 'widthMultiplier');
  }
  return getModel(id, opts as Record<string, unknown>);
};
/** ShuffleNetV2 1.0x. */
export const shufflenetV2 = (opts: Record<string, unknown> = {}): ImageClassifier => getModel('shufflenet_v2_x1_0', opts);
