// The MobileNets' blocks (DepthwiseSeparable in src/mobilenet-v1.ts, InvertedResidual in src/mobilenet-v2.ts, both
// layouts): shapes, torchvision's keys and parameter counts, forward parity with torchvision's blocks (and a PyTorch
// rebuild of MobileNetV1's unit; fixtures by packages/layers/scripts/make-layer-fixtures.py, PyTorch 1.13 /
// torchvision 0.14), and gradients against finite differences. The whole networks are checked by registry.test.ts,
// parity.test.ts and training.test.ts.
import { describe, it } from 'vitest';
import { setBackend } from '@cnn/tensor';
import { batchNorm, loadTorchState, manualSeed } from '@cnn/layers';
import { DepthwiseSeparable, InvertedResidual } from '../src/index';
import { describeBlockCases } from '../../../test-support/block-cases';
import { describeBlockParity, readLayerFixture } from '../../../test-support/layer-fixtures';
import { checkModuleGrads, rnd } from '../../../test-support/grad-check';

describeBlockCases(
  'blocks on wasm',
  [
    {
      name: 'DepthwiseSeparable',
      make: () => new DepthwiseSeparable(32, 64, { stride: 2 }),
      input: [1, 8, 8, 32],
      output: [1, 4, 4, 64],
      params: 32 * 9 + 64 + 32 * 64 + 128,
    },
    // torchvision mobilenet_v2 features.1 (expand 1): 896 params; features.2: 5,136.
    {
      name: 'InvertedResidual v2 expand 1',
      make: () => new InvertedResidual(32, 16, { hiddenChannels: 32 }),
      input: [1, 8, 8, 32],
      output: [1, 8, 8, 16],
      params: 896,
      keys: [
        'conv.0.0.weight',
        'conv.0.1.weight',
        'conv.0.1.bias',
        'conv.0.1.running_mean',
        'conv.0.1.running_var',
        'conv.0.1.num_batches_tracked',
        'conv.1.weight',
        'conv.2.weight',
        'conv.2.bias',
        'conv.2.running_mean',
        'conv.2.running_var',
        'conv.2.num_batches_tracked',
      ],
    },
    {
      name: 'InvertedResidual v2 expand 6 stride 2',
      make: () => new InvertedResidual(16, 24, { hiddenChannels: 96, stride: 2 }),
      input: [1, 8, 8, 16],
      output: [1, 4, 4, 24],
      params: 5136,
    },
    // torchvision mobilenet_v3_large features.4 (24 -> 40, hidden 72, 5x5 stride 2, SE 24): 10,328 params.
    {
      name: 'InvertedResidual v3 with SE',
      make: () =>
        new InvertedResidual(24, 40, {
          hiddenChannels: 72,
          kernelSize: 5,
          stride: 2,
          act: 'relu',
          seChannels: 24,
          layout: 'v3',
        }),
      input: [1, 8, 8, 24],
      output: [1, 4, 4, 40],
      params: 10328,
      keys: [
        'block.0.0.weight',
        'block.0.1.weight',
        'block.0.1.bias',
        'block.0.1.running_mean',
        'block.0.1.running_var',
        'block.0.1.num_batches_tracked',
        'block.1.0.weight',
        'block.1.1.weight',
        'block.1.1.bias',
        'block.1.1.running_mean',
        'block.1.1.running_var',
        'block.1.1.num_batches_tracked',
        'block.2.fc1.weight',
        'block.2.fc1.bias',
        'block.2.fc2.weight',
        'block.2.fc2.bias',
        'block.3.0.weight',
        'block.3.1.weight',
        'block.3.1.bias',
        'block.3.1.running_mean',
        'block.3.1.running_var',
        'block.3.1.num_batches_tracked',
      ],
    },
  ],
  manualSeed,
);

const mbv3Norm = batchNorm({ eps: 1e-3, momentum: 0.01 });

describeBlockParity(
  readLayerFixture(new URL('./fixtures/blocks/mobilenet', import.meta.url)),
  {
    'DepthwiseSeparable stride 2': () => new DepthwiseSeparable(16, 32, { stride: 2 }),
    'InvertedResidual v2 expand 1': () => new InvertedResidual(16, 8, { hiddenChannels: 16 }),
    'InvertedResidual v2 expand 6 residual': () => new InvertedResidual(8, 8, { hiddenChannels: 48 }),
    'InvertedResidual v2 expand 6 stride 2': () => new InvertedResidual(8, 16, { hiddenChannels: 48, stride: 2 }),
    'InvertedResidual v3 SE hardswish 5x5 residual': () =>
      new InvertedResidual(16, 16, {
        hiddenChannels: 48,
        kernelSize: 5,
        act: 'hardswish',
        seChannels: 16,
        layout: 'v3',
        norm: mbv3Norm,
      }),
    'InvertedResidual v3 SE relu stride 2': () =>
      new InvertedResidual(16, 24, {
        hiddenChannels: 64,
        stride: 2,
        act: 'relu',
        seChannels: 16,
        layout: 'v3',
        norm: mbv3Norm,
      }),
    'InvertedResidual v3 no expansion relu stride 2': () =>
      new InvertedResidual(16, 24, { hiddenChannels: 16, stride: 2, act: 'relu', layout: 'v3', norm: mbv3Norm }),
  },
  ['DepthwiseSeparable', 'InvertedResidual'],
  loadTorchState,
);

describe('gradients against finite differences on wasm', () => {
  it('InvertedResidual v3 (eval)', async () => {
    await setBackend('wasm');
    manualSeed(3);
    const m = new InvertedResidual(4, 4, { hiddenChannels: 8, act: 'hardswish', seChannels: 4, layout: 'v3' });
    m.train(false);
    const x = rnd([1, 4, 4, 4], 58, 2);
    checkModuleGrads('InvertedResidual v3 (eval)', m, x);
    x.dispose();
    m.dispose();
  });
});
