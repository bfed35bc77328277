/**
 * @cnn/models-classic: the first six families of the seed, LeNet-5, AlexNet, VGG, GoogLeNet, ResNet and ResNeXt,
 * exact to their reference architectures (parameter and MAC counts checked against torchvision), with torchvision's
 * state-dict keys, separate `forwardFeatures` / `forwardHead`, `predict`, and a registry of model cards.
 *
 * @packageDocumentation
 * @module @cnn/models-classic
 */
import './zoo';
import { getModel } from './registry';
import type { ImageClassifier } from './classifier';
import type { LeNet5, LeNetOptions } from './lenet';
import type { AlexNetOptions } from './alexnet';
import type { VGGOptions } from './vgg';
import type { GoogLeNet, GoogLeNetOptions } from './googlenet';
import type { ResNetOptions } from './resnet';

export { ImageClassifier, FeatureClassifier, type ModelCard, type ShippedWeights, type ClassifierOptions, type Prediction } from './classifier';
export { LeNet5, type LeNetOptions } from './lenet';
export { AlexNet, type AlexNetOptions } from './alexnet';
export { VGG, VGG_CONFIGS, type VGGOptions } from './vgg';
export { GoogLeNet, InceptionAux, type GoogLeNetOptions } from './googlenet';
export { ResNet, CifarResNet, PadShortcut, RESNET_DEPTHS, CIFAR_RESNET_DEPTHS, attentionOf, type ResNetOptions } from './resnet';
export { registerModel, listModels, getModel, getCard, modelOptions, type ModelBuilder } from './registry';
export { ModelError, ModelOptionsError, ModelInputError, NonFiniteInputError } from './errors';
export {
  checkOptions, describeValue, CLASSIFIER_OPTIONS, DROPOUT_OPTION, WIDTH_OPTION, ATTENTION_OPTIONS, RESNET_OPTIONS,
  MAX_CLASSES, MAX_IN_CHANNELS, MAX_WIDTH_MULTIPLIER, MAX_BASE_WIDTH, MAX_GROUP_WIDTH, type OptionSpec, type OptionSpecs,
} from './options';
export { LENET_OPTIONS } from './lenet';
export { ALEXNET_OPTIONS } from './alexnet';
export { VGG_OPTIONS } from './vgg';
export { GOOGLENET_OPTIONS } from './googlenet';
export { CIFAR_RESNET_OPTIONS } from './resnet';
export { CLASSIC_CARDS } from './zoo';
export { loadPretrained, pretrainedUrl, pretrainedModels, shippedWeights } from './pretrained';

/** LeNet-5 (MMPretrain's layout), 28x28 input by default. */
export const lenet5 = (opts: LeNetOptions = {}) => getModel('lenet5', opts as Record<string, unknown>) as LeNet5;
/** torchvision's AlexNet. */
export const alexnet = (opts: AlexNetOptions = {}) => getModel('alexnet', opts as Record<string, unknown>);
/** The original two-GPU AlexNet of 2012 (groups 2, LRN, 227x227). */
export const alexnet_2012 = (opts: AlexNetOptions = {}) => getModel('alexnet_2012', opts as Record<string, unknown>);
/** VGG-11. */
export const vgg11 = (opts: VGGOptions = {}) => getModel('vgg11', opts as Record<string, unknown>);
/** VGG-13. */
export const vgg13 = (opts: VGGOptions = {}) => getModel('vgg13', opts as Record<string, unknown>);
/** VGG-16. */
export const vgg16 = (opts: VGGOptions = {}) => getModel('vgg16', opts as Record<string, unknown>);
/** VGG-19. */
export const vgg19 = (opts: VGGOptions = {}) => getModel('vgg19', opts as Record<string, unknown>);
/** VGG-11 with BatchNorm. */
export const vgg11_bn = (opts: VGGOptions = {}) => getModel('vgg11_bn', opts as Record<string, unknown>);
/** VGG-13 with BatchNorm. */
export const vgg13_bn = (opts: VGGOptions = {}) => getModel('vgg13_bn', opts as Record<string, unknown>);
/** VGG-16 with BatchNorm. */
export const vgg16_bn = (opts: VGGOptions = {}) => getModel('vgg16_bn', opts as Record<string, unknown>);
/** VGG-19 with BatchNorm. */
export const vgg19_bn = (opts: VGGOptions = {}) => getModel('vgg19_bn', opts as Record<string, unknown>);
/** torchvision's GoogLeNet (auxiliary heads with `auxLogits: true`). */
export const googlenet = (opts: GoogLeNetOptions = {}) => getModel('googlenet', opts as Record<string, unknown>) as GoogLeNet;
/** ResNet-18. */
export const resnet18 = (opts: ResNetOptions = {}) => getModel('resnet18', opts as Record<string, unknown>);
/** ResNet-34. */
export const resnet34 = (opts: ResNetOptions = {}) => getModel('resnet34', opts as Record<string, unknown>);
/** ResNet-50. */
export const resnet50 = (opts: ResNetOptions = {}) => getModel('resnet50', opts as Record<string, unknown>);
/** ResNet-101. */
export const resnet101 = (opts: ResNetOptions = {}) => getModel('resnet101', opts as Record<string, unknown>);
/** ResNet-152. */
export const resnet152 = (opts: ResNetOptions = {}) => getModel('resnet152', opts as Record<string, unknown>);
/** ResNeXt-50 32x4d. */
export const resnext50_32x4d = (opts: ResNetOptions = {}) => getModel('resnext50_32x4d', opts as Record<string, unknown>);
/** ResNeXt-101 32x8d. */
export const resnext101_32x8d = (opts: ResNetOptions = {}) => getModel('resnext101_32x8d', opts as Record<string, unknown>);
/** The ResNet paper's ResNet-20 for 32x32 images (269,722 parameters). */
export const resnet20_cifar = (opts: Record<string, unknown> = {}): ImageClassifier => getModel('resnet20_cifar', opts);
