/**
 * @cnn/models-efficient: SENet, MobileNet V1/V2/V3 and ShuffleNet V1/V2, plus everything an application needs, so
 * that it installs this one package: the backend (`setBackend('wasm' | 'cuda' | ...)`), the registry of the whole
 * zoo (classic and efficient), builders, weight loading and `predict`.
 *
 * @packageDocumentation
 * @module @cnn/models-efficient
 */
import './zoo';
import { getModel, type ImageClassifier, type ResNetOptions } from '@cnn/models-classic';
import type { MobileNetV1Options } from './mobilenet-v1';
import type { MobileNetV2Options } from './mobilenet-v2';
import type { MobileNetV3Options } from './mobilenet-v3';
import type { ShuffleNetV1Options } from './shufflenet-v1';

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
export { MobileNetV1, MOBILENET_V1_LAYERS, type MobileNetV1Options } from './mobilenet-v1';
export { MobileNetV2, MOBILENET_V2_SETTINGS, type MobileNetV2Options } from './mobilenet-v2';
export { MobileNetV3, MOBILENET_V3_ARCH, type MobileNetV3Options } from './mobilenet-v3';
export { ShuffleNetV1, SHUFFLENET_V1_CHANNELS, type ShuffleNetV1Options } from './shufflenet-v1';
export { ShuffleNetV2, SHUFFLENET_V2_CHANNELS } from './shufflenet-v2';
export { EFFICIENT_CARDS } from './zoo';

/** SE-ResNet-50 (MMPretrain's). */
export const seresnet50 = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnet50', { ...opts });
/** SE-ResNet-101. */
export const seresnet101 = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnet101', { ...opts });
/** SE-ResNeXt-50 32x4d. */
export const seresnext50_32x4d = (opts: ResNetOptions = {}): ImageClassifier => getModel('seresnext50_32x4d', { ...opts });
/** MobileNetV1 (`widthMultiplier`). */
export const mobilenetV1 = (opts: MobileNetV1Options = {}): ImageClassifier => getModel('mobilenet_v1', { ...opts });
/** MobileNetV2 (`widthMultiplier`, `attn: 'se'`). */
export const mobilenetV2 = (opts: MobileNetV2Options = {}): ImageClassifier => getModel('mobilenet_v2', { ...opts });
/** MobileNetV3-Small. */
export const mobilenetV3Small = (opts: MobileNetV3Options = {}): ImageClassifier => getModel('mobilenet_v3_small', { ...opts });
/** MobileNetV3-Large. */
export const mobilenetV3Large = (opts: MobileNetV3Options = {}): ImageClassifier => getModel('mobilenet_v3_large', { ...opts });
/** ShuffleNetV1 with `groups` (default 3) and `widthMultiplier` (default 1.0). */
export const shufflenetV1 = (opts: ShuffleNetV1Options = {}): ImageClassifier => {
  const g = opts.groups ?? 3;
  const w = opts.widthMultiplier ?? 1;
  return getModel(`shufflenet_v1_x${String(w.toFixed(1)).replace('.', '_')}_g${g}`, { ...opts });
};
/** ShuffleNetV2 1.0x. */
export const shufflenetV2 = (opts: Record<string, unknown> = {}): ImageClassifier => getModel('shufflenet_v2_x1_0', opts);
