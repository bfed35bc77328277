// GoogLeNet's Inception block (defined in src/googlenet.ts): shapes and torchvision's parameter count, and forward
// parity with torchvision's Inception (fixtures by packages/layers/scripts/make-layer-fixtures.py, PyTorch 1.13 /
// torchvision 0.14). The whole network is checked by registry.test.ts, parity.test.ts and training.test.ts.
import { loadTorchState, manualSeed } from '@cnn/layers';
import { Inception } from '../src/index';
import { describeBlockCases } from '../../../test-support/block-cases';
import { describeBlockParity, readLayerFixture } from '../../../test-support/layer-fixtures';

describeBlockCases(
  'blocks on wasm',
  [
    // torchvision googlenet inception3a: 155,872 params.
    {
      name: 'Inception 3a',
      make: () => new Inception(192, { ch1x1: 64, ch3x3red: 96, ch3x3: 128, ch5x5red: 16, ch5x5: 32, poolProj: 32 }),
      input: [1, 7, 7, 192],
      output: [1, 7, 7, 256],
      params: 155872,
    },
  ],
  manualSeed,
);

describeBlockParity(
  readLayerFixture(new URL('./fixtures/blocks/googlenet', import.meta.url)),
  {
    Inception: () => new Inception(16, { ch1x1: 8, ch3x3red: 8, ch3x3: 12, ch5x5red: 4, ch5x5: 6, poolProj: 6 }),
    'Inception odd size': () =>
      new Inception(12, { ch1x1: 4, ch3x3red: 4, ch3x3: 8, ch5x5red: 4, ch5x5: 4, poolProj: 4 }),
  },
  ['Inception'],
  loadTorchState,
);
