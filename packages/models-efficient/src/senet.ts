// SENet (Hu et al., 2017, https://arxiv.org/abs/1709.01507) as MMPretrain builds it: the ResNet family of
// @cnn/models-classic with a squeeze-and-excitation block after the last BatchNorm of every bottleneck, before the
// addition (squeeze to channels / 16, 1x1 convolutions with bias, ReLU then sigmoid). No new network class: SE is
// injected into ResNet (whose Bottleneck takes an `attention` factory), and works the same in any ResNet
// (`getModel('resnet18', { attn: 'se' })`).
import { SEModule, mmpretrainKeys, type KeyMap } from '@cnn/layers';
import { RESNET_OPTIONS, ResNet, registerModel, type ModelCard, type ResNetOptions } from '@cnn/models-classic';

/** SE-ResNet-50 / 101, or SE-ResNeXt-50 32x4d with `groups: 32, baseWidth: 4`. */
export function seResNet(depth: 50 | 101, opts: ResNetOptions = {}): ResNet {
  return new ResNet(depth, { attention: (c) => new SEModule(c), ...opts });
}

/**
 * A key map for MMPretrain's SE-ResNet / SE-ResNeXt checkpoints: drops `backbone.`, maps `head.fc.` to `fc.`, and
 * renames the SE layer's ConvModules (`se_layer.conv1.conv.*`, `se_layer.conv2.conv.*`) to this library's
 * (`se.fc1.*`, `se.fc2.*`).
 *
 * @example
 * await net.loadWeights('seresnet50_8xb32_in1k.pth', { keyMap: seresnetMmpretrainKeys() });
 */
export function seresnetMmpretrainKeys(): KeyMap {
  return mmpretrainKeys({ seLayer: true });
}

// Counts: MMPretrain's.
const card = (id: string, params: number, macs: number): ModelCard => ({
  id,
  family: 'senet',
  paper: 'Squeeze-and-Excitation Networks (Hu et al., 2017), https://arxiv.org/abs/1709.01507',
  inputSize: [224, 224, 3],
  params,
  macs,
  numClasses: 1000,
});

/** SE-ResNet-50 (MMPretrain's). */
export const seresnet50 = registerModel(
  card('seresnet50', 28_088_024, 4_091_699_200),
  (o: ResNetOptions) => seResNet(50, o),
  RESNET_OPTIONS,
);
/** SE-ResNet-101. */
export const seresnet101 = registerModel(
  card('seresnet101', 49_326_872, 7_806_148_608),
  (o: ResNetOptions) => seResNet(101, o),
  RESNET_OPTIONS,
);
/** SE-ResNeXt-50 32x4d. */
export const seresnext50_32x4d = registerModel(
  card('seresnext50_32x4d', 27_559_896, 4_232_994_816),
  (o: ResNetOptions) => seResNet(50, { groups: 32, baseWidth: 4, ...o }),
  RESNET_OPTIONS,
);
