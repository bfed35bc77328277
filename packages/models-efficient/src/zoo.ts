// The efficient families' cards, registered into the zoo's one registry (@cnn/models-classic's). Counts: the
// reference table (torchvision 0.14; MMPretrain for SE-ResNet and ShuffleNetV1; the MobileNetV1 paper) and, for the
// ids it lacks, scripts/count-models.py's PyTorch rebuilds (test/fixtures/counts.json).
import {
  CLASSIFIER_OPTIONS, RESNET_OPTIONS, registerModel, type ImageClassifier, type ModelCard, type OptionSpecs, type ResNetOptions,
} from '@cnn/models-classic';
import { seResNet } from './senet';
import { MOBILENET_V1_OPTIONS, MobileNetV1, type MobileNetV1Options } from './mobilenet-v1';
import { MOBILENET_V2_OPTIONS, MobileNetV2, type MobileNetV2Options } from './mobilenet-v2';
import { MOBILENET_V3_OPTIONS, MobileNetV3, type MobileNetV3Options } from './mobilenet-v3';
import { SHUFFLENET_V1_OPTIONS, ShuffleNetV1, type ShuffleNetV1Options } from './shufflenet-v1';
import { ShuffleNetV2 } from './shufflenet-v2';

const PAPERS = {
  senet: 'Squeeze-and-Excitation Networks (Hu et al., 2017), https://arxiv.org/abs/1709.01507',
  mobilenet_v1: 'MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications (Howard et al., 2017), https://arxiv.org/abs/1704.04861',
  mobilenet_v2: 'MobileNetV2: Inverted Residuals and Linear Bottlenecks (Sandler et al., 2018), https://arxiv.org/abs/1801.04381',
  mobilenet_v3: 'Searching for MobileNetV3 (Howard et al., 2019), https://arxiv.org/abs/1905.02244',
  shufflenet_v1: 'ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices (Zhang et al., 2017), https://arxiv.org/abs/1707.01083',
  shufflenet_v2: 'ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design (Ma et al., 2018), https://arxiv.org/abs/1807.11164',
};

type Opts = Record<string, unknown>;
const card = (id: string, family: string, paper: string, params: number, macs: number): ModelCard =>
  ({ id, family, paper, inputSize: [224, 224, 3], params, macs, numClasses: 1000 });

/** ShuffleNetV1 ids that can be built (the groups divide every channel count): [width tag, width, groups, params, MACs]. */
const SHUFFLENET_V1: Array<[string, number, 1 | 2 | 3 | 4 | 8, number, number]> = [
  ['x0_5', 0.5, 1, 534_484, 38_517_408], ['x0_5', 0.5, 2, 644_320, 38_914_784], ['x0_5', 0.5, 3, 718_324, 37_589_856],
  ['x1_0', 1.0, 1, 1_531_936, 143_078_976], ['x1_0', 1.0, 2, 1_733_848, 140_836_512], ['x1_0', 1.0, 3, 1_865_728, 137_460_672],
  ['x1_0', 1.0, 4, 1_968_344, 134_339_776], ['x1_0', 1.0, 8, 2_434_768, 138_365_952],
  ['x1_5', 1.5, 1, 2_993_356, 313_684_704], ['x1_5', 1.5, 2, 3_274_180, 309_765_152], ['x1_5', 1.5, 3, 3_443_212, 299_612_448],
  ['x2_0', 2.0, 1, 4_918_744, 550_334_592], ['x2_0', 2.0, 2, 5_257_896, 539_138_624], ['x2_0', 2.0, 3, 5_450_776, 524_045_184],
  ['x2_0', 2.0, 4, 5_593_528, 510_289_536], ['x2_0', 2.0, 8, 6_522_232, 521_942_016],
];

/**
 * The options of a ShuffleNetV1 id: its groups and width are fixed by the id (they are accepted, equal to the id's,
 * so that `shufflenetV1({ groups, widthMultiplier })` can pass them on).
 */
const shufflenetV1Options = (tag: string, width: number, groups: number): OptionSpecs => ({
  ...SHUFFLENET_V1_OPTIONS,
  groups: { type: 'enum', values: [groups], hint: `the id fixes it: pick another shufflenet_v1_${tag}_g* id, see listModels('shufflenet_v1*')` },
  widthMultiplier: { type: 'enum', values: [width], hint: `the id fixes it: pick another shufflenet_v1_x*_g${groups} id` },
});

type Builder = (o: Opts) => ImageClassifier;

/** Every card of this package, with its builder and the options the builder takes. */
export const EFFICIENT_CARDS: Array<[ModelCard, Builder, OptionSpecs]> = [
  [card('seresnet50', 'senet', PAPERS.senet, 28_088_024, 4_091_699_200), (o) => seResNet(50, o as ResNetOptions), RESNET_OPTIONS],
  [card('seresnet101', 'senet', PAPERS.senet, 49_326_872, 7_806_148_608), (o) => seResNet(101, o as ResNetOptions), RESNET_OPTIONS],
  [card('seresnext50_32x4d', 'senet', PAPERS.senet, 27_559_896, 4_232_994_816), (o) => seResNet(50, { groups: 32, baseWidth: 4, ...(o as ResNetOptions) }), RESNET_OPTIONS],
  [card('mobilenet_v1', 'mobilenet', PAPERS.mobilenet_v1, 4_231_976, 568_740_352), (o) => new MobileNetV1(o as MobileNetV1Options), MOBILENET_V1_OPTIONS],
  [card('mobilenet_v2', 'mobilenet', PAPERS.mobilenet_v2, 3_504_872, 300_774_272), (o) => new MobileNetV2(o as MobileNetV2Options), MOBILENET_V2_OPTIONS],
  [card('mobilenet_v3_small', 'mobilenet', PAPERS.mobilenet_v3, 2_542_856, 56_510_400), (o) => new MobileNetV3('small', o as MobileNetV3Options), MOBILENET_V3_OPTIONS],
  [card('mobilenet_v3_large', 'mobilenet', PAPERS.mobilenet_v3, 5_483_032, 216_589_760), (o) => new MobileNetV3('large', o as MobileNetV3Options), MOBILENET_V3_OPTIONS],
  ...SHUFFLENET_V1.map(([tag, width, groups, params, macs]): [ModelCard, Builder, OptionSpecs] => [
    card(`shufflenet_v1_${tag}_g${groups}`, 'shufflenet', PAPERS.shufflenet_v1, params, macs),
    (o) => new ShuffleNetV1({ groups, widthMultiplier: width, ...(o as ShuffleNetV1Options) }),
    shufflenetV1Options(tag, width, groups),
  ]),
  [card('shufflenet_v2_x0_5', 'shufflenet', PAPERS.shufflenet_v2, 1_366_792, 40_476_448), (o) => new ShuffleNetV2('0.5', o), CLASSIFIER_OPTIONS],
  [card('shufflenet_v2_x1_0', 'shufflenet', PAPERS.shufflenet_v2, 2_278_604, 144_907_992), (o) => new ShuffleNetV2('1.0', o), CLASSIFIER_OPTIONS],
  [card('shufflenet_v2_x1_5', 'shufflenet', PAPERS.shufflenet_v2, 3_503_624, 295_759_392), (o) => new ShuffleNetV2('1.5', o), CLASSIFIER_OPTIONS],
  [card('shufflenet_v2_x2_0', 'shufflenet', PAPERS.shufflenet_v2, 7_393_996, 583_253_464), (o) => new ShuffleNetV2('2.0', o), CLASSIFIER_OPTIONS],
];

for (const [c, build, options] of EFFICIENT_CARDS) registerModel(c, build, options);

