// The generic blocks (ConvNormAct, SEModule) build, run forward and backward on wasm with the expected output shape,
// have torchvision's keys and parameter counts, and leak nothing. The blocks of one model family (ResNet's
// BasicBlock, MobileNet's InvertedResidual, ...) are checked the same way beside that family's tests.
import { ConvNormAct, SEModule, manualSeed } from '../src/index';
import { describeBlockCases, type BlockCase } from '../../../test-support/block-cases';

const CASES: BlockCase[] = [
  {
    name: 'ConvNormAct',
    make: () => new ConvNormAct(3, 8, 3, { stride: 2 }),
    input: [2, 9, 9, 3],
    output: [2, 5, 5, 8],
    params: 3 * 8 * 9 + 16,
    keys: ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'],
  },
  {
    name: 'SEModule',
    make: () => new SEModule(32, { squeezeChannels: 8 }),
    input: [2, 4, 4, 32],
    output: [2, 4, 4, 32],
    params: 32 * 8 + 8 + 8 * 32 + 32,
    keys: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'],
  },
];

describeBlockCases('blocks on wasm', CASES, manualSeed);
