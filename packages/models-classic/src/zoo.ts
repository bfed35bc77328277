// The cards of this package's models, and their registration. Counts: ../shared reference numbers (torchvision 0.14)
// and, for the ids it lacks, scripts/count-models.py (PyTorch rebuilds; test/fixtures/counts.json).
import type { ImageClassifier, ModelCard, ShippedWeights } from './classifier';
import { LENET_OPTIONS, LeNet5, type LeNetOptions } from './lenet';
import { ALEXNET_OPTIONS, AlexNet, type AlexNetOptions } from './alexnet';
import { VGG, VGG_OPTIONS, type VGGOptions } from './vgg';
import { GOOGLENET_OPTIONS, GoogLeNet, type GoogLeNetOptions } from './googlenet';
import { CIFAR_RESNET_OPTIONS, CifarResNet, ResNet, type ResNetOptions } from './resnet';
import { RESNET_OPTIONS, type OptionSpecs } from './options';
import { registerModel } from './registry';

const PAPERS = {
  lenet: 'Gradient-Based Learning Applied to Document Recognition (LeCun et al., 1998), http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf',
  alexnet: 'ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky et al., 2012), https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html',
  vgg: 'Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman, 2014), https://arxiv.org/abs/1409.1556',
  googlenet: 'Going Deeper with Convolutions (Szegedy et al., 2014), https://arxiv.org/abs/1409.4842',
  resnet: 'Deep Residual Learning for Image Recognition (He et al., 2015), https://arxiv.org/abs/1512.03385',
  resnext: 'Aggregated Residual Transformations for Deep Neural Networks (Xie et al., 2016), https://arxiv.org/abs/1611.05431',
};

const IMAGENET: [number, number, number] = [224, 224, 3];
const CIFAR: [number, number, number] = [32, 32, 3];

type Opts = Record<string, unknown>;

// MACs of VGG-11/13/16/19, the same with and without BatchNorm (BatchNorm adds none).
const VGG_MACS = [7_609_090_048, 11_308_466_176, 15_470_264_320, 19_632_062_464];
const card = (id: string, family: string, paper: string, inputSize: [number, number, number], params: number, macs: number, numClasses = 1000): ModelCard =>
  (SHIPPED[id] ? { id, family, paper, inputSize, params, macs, numClasses, weights: SHIPPED[id] } : { id, family, paper, inputSize, params, macs, numClasses });

const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Weights trained by this project's `cnn train` runs (scripts/ship-weights.mjs wrote the files and these entries). */
const SHIPPED: Record<string, ShippedWeights[]> = {
  lenet5: [{
    file: 'lenet5-fashion-mnist.safetensors', dataset: 'fashion-mnist', inputSize: [28, 28, 1], numClasses: 10, top1: 0.898,
    classes: FASHION_MNIST_CLASSES, mean: [0.286], std: [0.353],
    trainedWith: 'cnn train --model lenet5 --dataset fashion-mnist --epochs 5 --batch-size 64 --optimizer sgd --lr 0.05 --weight-decay 0.0005 --schedule cosine --seed 0',
  }],
  resnet20_cifar: [{
    file: 'resnet20_cifar-fashion-mnist.safetensors', dataset: 'fashion-mnist', inputSize: [28, 28, 1], numClasses: 10, top1: 0.9321,
    classes: FASHION_MNIST_CLASSES, mean: [0.286], std: [0.353],
    trainedWith: 'cnn train --model resnet20_cifar --dataset fashion-mnist --epochs 6 --batch-size 128 --optimizer sgd --lr 0.1 --weight-decay 0.0005 --schedule cosine --seed 0',
  }],
};

/** Every card of this package, in the seed's order, with its builder and the options the builder takes. */
export const CLASSIC_CARDS: Array<[ModelCard, (o: Opts) => ImageClassifier, OptionSpecs]> = [
  [card('lenet5', 'lenet', PAPERS.lenet, [28, 28, 1], 61_706, 416_520, 10), (o) => new LeNet5({ inputSize: 28, ...(o as LeNetOptions) }), LENET_OPTIONS],
  [card('alexnet', 'alexnet', PAPERS.alexnet, IMAGENET, 61_100_840, 714_188_480), (o) => new AlexNet('alexnet', o as AlexNetOptions), ALEXNET_OPTIONS],
  [card('alexnet_2012', 'alexnet', PAPERS.alexnet, [227, 227, 3], 60_965_224, 724_406_816), (o) => new AlexNet('alexnet_2012', o as AlexNetOptions), ALEXNET_OPTIONS],
  ...(['vgg11', 'vgg13', 'vgg16', 'vgg19'] as const).flatMap((v, i): Array<[ModelCard, (o: Opts) => ImageClassifier, OptionSpecs]> => [
    [card(v, 'vgg', PAPERS.vgg, IMAGENET, [132_863_336, 133_047_848, 138_357_544, 143_667_240][i], VGG_MACS[i]), (o) => new VGG(v, false, o as VGGOptions), VGG_OPTIONS],
    [card(`${v}_bn`, 'vgg', PAPERS.vgg, IMAGENET, [132_868_840, 133_053_736, 138_365_992, 143_678_248][i], VGG_MACS[i]), (o) => new VGG(v, true, o as VGGOptions), VGG_OPTIONS],
  ]),
  [card('googlenet', 'googlenet', PAPERS.googlenet, IMAGENET, 6_624_904, 1_498_376_192), (o) => new GoogLeNet(o as GoogLeNetOptions), GOOGLENET_OPTIONS],
  [card('resnet18', 'resnet', PAPERS.resnet, IMAGENET, 11_689_512, 1_814_073_344), (o) => new ResNet(18, o as ResNetOptions), RESNET_OPTIONS],
  [card('resnet34', 'resnet', PAPERS.resnet, IMAGENET, 21_797_672, 3_663_761_408), (o) => new ResNet(34, o as ResNetOptions), RESNET_OPTIONS],
  [card('resnet50', 'resnet', PAPERS.resnet, IMAGENET, 25_557_032, 4_089_184_256), (o) => new ResNet(50, o as ResNetOptions), RESNET_OPTIONS],
  [card('resnet101', 'resnet', PAPERS.resnet, IMAGENET, 44_549_160, 7_801_405_440), (o) => new ResNet(101, o as ResNetOptions), RESNET_OPTIONS],
  [card('resnet152', 'resnet', PAPERS.resnet, IMAGENET, 60_192_808, 11_513_626_624), (o) => new ResNet(152, o as ResNetOptions), RESNET_OPTIONS],
  [card('resnext50_32x4d', 'resnet', PAPERS.resnext, IMAGENET, 25_028_904, 4_230_479_872), (o) => new ResNet(50, { groups: 32, baseWidth: 4, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('resnext101_32x8d', 'resnet', PAPERS.resnext, IMAGENET, 88_791_336, 16_414_015_488), (o) => new ResNet(101, { groups: 32, baseWidth: 8, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('resnet18_cifar', 'resnet', PAPERS.resnet, CIFAR, 11_173_962, 555_422_720, 10), (o) => new ResNet(18, { stem: 'cifar', numClasses: 10, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('resnet34_cifar', 'resnet', PAPERS.resnet, CIFAR, 21_282_122, 1_159_402_496, 10), (o) => new ResNet(34, { stem: 'cifar', numClasses: 10, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('resnet50_cifar', 'resnet', PAPERS.resnet, CIFAR, 23_520_842, 1_297_829_888, 10), (o) => new ResNet(50, { stem: 'cifar', numClasses: 10, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('resnet20_cifar', 'resnet', PAPERS.resnet, CIFAR, 269_722, 40_551_040, 10), (o) => new CifarResNet(20, o), CIFAR_RESNET_OPTIONS],
  [card('resnet32_cifar', 'resnet', PAPERS.resnet, CIFAR, 464_154, 68_862_592, 10), (o) => new CifarResNet(32, o), CIFAR_RESNET_OPTIONS],
  [card('resnet44_cifar', 'resnet', PAPERS.resnet, CIFAR, 658_586, 97_174_144, 10), (o) => new CifarResNet(44, o), CIFAR_RESNET_OPTIONS],
  [card('resnet56_cifar', 'resnet', PAPERS.resnet, CIFAR, 853_018, 125_485_696, 10), (o) => new CifarResNet(56, o), CIFAR_RESNET_OPTIONS],
  [card('resnet110_cifar', 'resnet', PAPERS.resnet, CIFAR, 1_727_962, 252_887_680, 10), (o) => new CifarResNet(110, o), CIFAR_RESNET_OPTIONS],
];

for (const [c, build, options] of CLASSIC_CARDS) registerModel(c, build, options);

