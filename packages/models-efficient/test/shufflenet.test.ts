// The ShuffleNets' units (ShuffleUnitV1 in src/shufflenet-v1.ts, MMPretrain's; ShuffleUnitV2 in src/shufflenet-v2.ts,
// torchvision's): shapes and parameter counts, forward parity (fixtures by
// packages/layers/scripts/make-layer-fixtures.py, PyTorch 1.13 / torchvision 0.14, MMPretrain's unit rebuilt), and the
// errors of bad channel counts. The whole networks are checked by registry.test.ts, parity.test.ts and
// training.test.ts.
import { describe } from 'vitest';
import { loadTorchState, manualSeed } from '@cnn/layers';
import { ShuffleUnitV1, ShuffleUnitV2 } from '../src/index';
import { describeBlockCases, itRefuses } from '../../../test-support/block-cases';
import { describeBlockParity, readLayerFixture } from '../../../test-support/layer-fixtures';

describeBlockCases(
  'blocks on wasm',
  [
    {
      name: 'ShuffleUnitV1 stride 2',
      make: () => new ShuffleUnitV1(24, 240, { groups: 3, stride: 2, firstGrouped: false }),
      input: [1, 8, 8, 24],
      output: [1, 4, 4, 240],
    },
    {
      name: 'ShuffleUnitV1 stride 1',
      make: () => new ShuffleUnitV1(240, 240, { groups: 3 }),
      input: [1, 4, 4, 240],
      output: [1, 4, 4, 240],
    },
    // torchvision shufflenet_v2_x1_0 stage2.0: 7,398 params; stage2.1: 7,598.
    {
      name: 'ShuffleUnitV2 stride 2',
      make: () => new ShuffleUnitV2(24, 116, 2),
      input: [1, 8, 8, 24],
      output: [1, 4, 4, 116],
      params: 7398,
    },
    {
      name: 'ShuffleUnitV2 stride 1',
      make: () => new ShuffleUnitV2(116, 116, 1),
      input: [1, 4, 4, 116],
      output: [1, 4, 4, 116],
      params: 7598,
    },
  ],
  manualSeed,
);

// ShuffleUnitV1's children carry MMPretrain's names (g_conv_1x1_compress.conv, ...), so its keys load as they are.
describeBlockParity(
  readLayerFixture(new URL('./fixtures/blocks/shufflenet', import.meta.url)),
  {
    'ShuffleUnitV1 stride 1 (MMPretrain)': () => new ShuffleUnitV1(48, 48, { groups: 3 }),
    'ShuffleUnitV1 stride 2 (MMPretrain)': () =>
      new ShuffleUnitV1(24, 48, { groups: 3, stride: 2, firstGrouped: false }),
    'ShuffleUnitV1 stride 2 signed input (MMPretrain)': () => new ShuffleUnitV1(24, 48, { groups: 3, stride: 2 }),
    'ShuffleUnitV2 stride 1': () => new ShuffleUnitV2(32, 32, 1),
    'ShuffleUnitV2 stride 2': () => new ShuffleUnitV2(16, 32, 2),
  },
  ['ShuffleUnitV1', 'ShuffleUnitV2'],
  loadTorchState,
);

describe('bad options', () => {
  itRefuses([
    [
      'ShuffleUnitV2, stride 1 with in != out',
      () => new ShuffleUnitV2(16, 32, 1),
      /ShuffleUnitV2: with stride 1, inChannels \(16\) must equal outChannels \(32\)/,
    ],
  ]);
});
