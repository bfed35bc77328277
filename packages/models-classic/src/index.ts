/**
 * @cnn/models-classic: the first six families of the seed, LeNet-5, AlexNet, VGG, GoogLeNet, ResNet and ResNeXt,
 * exact to their reference architectures (parameter and MAC counts checked against torchvision), with torchvision's
 * state-dict keys, separate `forwardFeatures` / `forwardHead`, `predict`, and a registry of model cards.
 *
 * Each family is one file: its blocks, its network classes, its cards and its typed builders (`resnet50(opts):
 * ResNet`), registered where they are defined; `getModel(id)` looks up ids chosen at run time.
 *
 * @packageDocumentation
 * @module @cnn/models-classic
 */
import { getCard, getModel, listModels, modelOptions, type ModelBuilder } from './registry';
import { CLASSIFIER_OPTIONS, type OptionSpecs } from './options';
import type { ModelCard } from './classifier';

export {
  ImageClassifier,
  FeatureClassifier,
  type ModelCard,
  type ShippedWeights,
  type ClassifierOptions,
  type Prediction,
  type PredictOptions,
  type PretrainedInfo,
} from './classifier';
export {
  registerModel,
  listModels,
  getModel,
  getCard,
  modelOptions,
  type ModelBuilder,
  type TypedBuilder,
} from './registry';
export {
  ModelError,
  ModelOptionsError,
  ModelInputError,
  NonFiniteInputError,
  PretrainedError,
  type PretrainedErrorKind,
} from './errors';
export {
  checkOptions,
  describeValue,
  CLASSIFIER_OPTIONS,
  DROPOUT_OPTION,
  WIDTH_OPTION,
  ATTENTION_OPTIONS,
  RESNET_OPTIONS,
  MAX_CLASSES,
  MAX_IN_CHANNELS,
  MAX_WIDTH_MULTIPLIER,
  MAX_BASE_WIDTH,
  MAX_GROUP_WIDTH,
  type OptionSpec,
  type OptionSpecs,
} from './options';
export {
  loadPretrained,
  listPretrained,
  registerPretrained,
  pretrainedUrl,
  pretrainedModels,
  shippedWeights,
  FASHION_MNIST_CLASSES,
  IMAGENET_CLASSES,
  PRETRAINED_TABLE,
  MAX_WEIGHTS_BYTES,
  type LoadPretrainedOptions,
  type PretrainedListing,
  type PretrainedProgress,
  type PretrainedEntry,
  type PretrainedPreprocess,
} from './pretrained/index';
export {
  imagenetPreprocess,
  preprocessImages,
  type InputPreprocess,
  type PreprocessOptions,
} from './preprocess';
// The families: each file registers its models as it is loaded.
export { LeNet5, LENET_OPTIONS, lenet5, type LeNetOptions } from './lenet';
export { AlexNet, ALEXNET_OPTIONS, alexnet, alexnet_2012, type AlexNetOptions } from './alexnet';
export {
  VGG,
  VGG_CONFIGS,
  VGG_OPTIONS,
  vgg11,
  vgg11_bn,
  vgg13,
  vgg13_bn,
  vgg16,
  vgg16_bn,
  vgg19,
  vgg19_bn,
  type VGGOptions,
} from './vgg';
export {
  GoogLeNet,
  InceptionAux,
  Inception,
  GOOGLENET_OPTIONS,
  googlenet,
  type GoogLeNetOptions,
  type InceptionChannels,
} from './googlenet';
export {
  ResNet,
  CifarResNet,
  BasicBlock,
  Bottleneck,
  PadShortcut,
  RESNET_DEPTHS,
  CIFAR_RESNET_DEPTHS,
  CIFAR_RESNET_OPTIONS,
  attentionOf,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnet18_cifar,
  resnet34_cifar,
  resnet50_cifar,
  resnet20_cifar,
  resnet32_cifar,
  resnet44_cifar,
  resnet56_cifar,
  resnet110_cifar,
  type ResNetOptions,
  type CifarResNetOptions,
  type ResidualOptions,
} from './resnet';

/**
 * Every model of this package, sorted by id: its card, a builder (`getModel`'s, options checked) and the options it
 * takes. The family files registered them; this is a snapshot of the registry taken when the package loaded.
 */
export const CLASSIC_CARDS: Array<[ModelCard, ModelBuilder, OptionSpecs]> = listModels().map((id) => [
  getCard(id),
  (o: Record<string, unknown>) => getModel(id, o),
  modelOptions(id) ?? CLASSIFIER_OPTIONS,
]);
