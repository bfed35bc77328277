// ResNet's blocks (BasicBlock, Bottleneck, defined in src/resnet.ts): shapes, torchvision's keys and parameter counts,
// forward parity with torchvision's blocks (fixtures by packages/layers/scripts/make-layer-fixtures.py, PyTorch 1.13 /
// torchvision 0.14), gradients against finite differences, the errors of bad options, and the summary of a
// ResNet-style stack. The whole networks are checked by registry.test.ts, parity.test.ts and training.test.ts.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  SEModule,
  Sequential,
  loadTorchState,
  manualSeed,
  summary,
} from '@cnn/layers';
import { BasicBlock, Bottleneck } from '../src/index';
import { describeBlockCases, itRefuses } from '../../../test-support/block-cases';
import { describeBlockParity, readLayerFixture } from '../../../test-support/layer-fixtures';
import { checkModuleGrads, rnd } from '../../../test-support/grad-check';

const down = (i: number, o: number, s: number) =>
  new Sequential(new Conv2d(i, o, 1, { stride: s, bias: false }), new BatchNorm2d(o));

describeBlockCases(
  'blocks on wasm',
  [
    // torchvision resnet18 layer1.0: 73,984 parameters.
    {
      name: 'BasicBlock',
      make: () => new BasicBlock(64, 64),
      input: [1, 8, 8, 64],
      output: [1, 8, 8, 64],
      params: 73984,
    },
    {
      name: 'BasicBlock with downsample',
      make: () => new BasicBlock(64, 128, { stride: 2, downsample: down(64, 128, 2) }),
      input: [1, 8, 8, 64],
      output: [1, 4, 4, 128],
      keys: [
        'conv1.weight',
        'bn1.weight',
        'bn1.bias',
        'bn1.running_mean',
        'bn1.running_var',
        'bn1.num_batches_tracked',
        'conv2.weight',
        'bn2.weight',
        'bn2.bias',
        'bn2.running_mean',
        'bn2.running_var',
        'bn2.num_batches_tracked',
        'downsample.0.weight',
        'downsample.1.weight',
        'downsample.1.bias',
        'downsample.1.running_mean',
        'downsample.1.running_var',
        'downsample.1.num_batches_tracked',
      ],
    },
    // torchvision resnet50 layer1.0 (with its downsample): 75,008 parameters.
    {
      name: 'Bottleneck',
      make: () => new Bottleneck(64, 64, { downsample: down(64, 256, 1) }),
      input: [1, 6, 6, 64],
      output: [1, 6, 6, 256],
      params: 75008,
    },
    // torchvision resnext50_32x4d layer1.0: 63,488 parameters.
    {
      name: 'Bottleneck ResNeXt 32x4d',
      make: () => new Bottleneck(64, 64, { groups: 32, baseWidth: 4, downsample: down(64, 256, 1) }),
      input: [1, 6, 6, 64],
      output: [1, 6, 6, 256],
      params: 63488,
    },
    {
      name: 'Bottleneck with SE',
      make: () => new Bottleneck(256, 64, { attention: (c) => new SEModule(c) }),
      input: [1, 5, 5, 256],
      output: [1, 5, 5, 256],
      params: 70400 + (256 * 16 + 16) + (16 * 256 + 256),
    },
  ],
  manualSeed,
);

describeBlockParity(
  readLayerFixture(new URL('./fixtures/blocks/resnet', import.meta.url)),
  {
    BasicBlock: () => new BasicBlock(16, 16),
    'BasicBlock with downsample': () => new BasicBlock(16, 32, { stride: 2, downsample: down(16, 32, 2) }),
    Bottleneck: () => new Bottleneck(64, 16),
    'Bottleneck stride 2 with downsample': () => new Bottleneck(32, 16, { stride: 2, downsample: down(32, 64, 2) }),
    'Bottleneck ResNeXt 32x4d': () =>
      new Bottleneck(64, 64, { groups: 32, baseWidth: 4, downsample: down(64, 256, 1) }),
    // SEModule's default squeeze: 64 / 16 = 4, as MMPretrain's SELayer(64, ratio 16).
    'Bottleneck with SE': () => new Bottleneck(64, 16, { attention: (c) => new SEModule(c) }),
  },
  ['BasicBlock', 'Bottleneck'],
  loadTorchState,
);

describe('gradients against finite differences on wasm', () => {
  it('BasicBlock with downsample (eval)', async () => {
    await setBackend('wasm');
    manualSeed(3);
    const m = new BasicBlock(4, 8, { stride: 2, downsample: down(4, 8, 2) });
    m.train(false);
    const x = rnd([1, 5, 5, 4], 57, 2);
    checkModuleGrads('BasicBlock with downsample (eval)', m, x);
    x.dispose();
    m.dispose();
  });
});

describe('bad options', () => {
  itRefuses([
    ['BasicBlock, groups', () => new BasicBlock(8, 8, { groups: 2 }), /BasicBlock: only groups=1 and baseWidth=64/],
  ]);
});

// ---------------------------------------------------------------------------------------------
// The summary of a ResNet-style stack (@cnn/layers' summary, on the family's blocks)

class TinyResNet extends Module {
  conv1 = this.registerModule('conv1', new Conv2d(3, 8, 7, { stride: 2, padding: 3, bias: false }));
  bn1 = this.registerModule('bn1', new BatchNorm2d(8));
  relu = this.registerModule('relu', new ReLU());
  maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
  layer1 = this.registerModule('layer1', new Sequential(new BasicBlock(8, 8), new BasicBlock(8, 8)));
  layer2 = this.registerModule(
    'layer2',
    new Sequential(
      new BasicBlock(8, 16, {
        stride: 2,
        downsample: new Sequential(new Conv2d(8, 16, 1, { stride: 2, bias: false }), new BatchNorm2d(16)),
      }),
    ),
  );
  avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
  flatten = this.registerModule('flatten', new Flatten());
  fc = this.registerModule('fc', new Linear(16, 10));
  forward(x: Tensor): Tensor {
    const h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    return this.fc.call(this.flatten.call(this.avgpool.call(this.layer2.call(this.layer1.call(h)))));
  }
}

describe('(g) summary', () => {
  it('of a ResNet-style stack: dotted names, shapes, parameters and MACs computed by hand', async () => {
    await setBackend('wasm');
    manualSeed(1);
    const net = new TinyResNet();
    const before = tf.memory().numTensors;
    const s = summary(net, [32, 32, 3]);
    expect(tf.memory().numTensors).toBe(before);
    expect(s.outputShape).toEqual([1, 10]);
    const row = (name: string) => {
      const r = s.rows.find((x) => x.name === name);
      expect(r, `row ${name}`).toBeDefined();
      return r!;
    };
    // conv1: 7x7 stride 2 pad 3 on 32x32x3 -> 16x16x8; MACs = 16 * 16 * 8 outputs x 3 * 7 * 7.
    expect(row('conv1')).toMatchObject({
      type: 'Conv2d',
      outputShape: [1, 16, 16, 8],
      params: 3 * 8 * 49,
      macs: 16 * 16 * 8 * 3 * 49,
    });
    // maxpool -> 8x8; layer1.0.conv1: 3x3 8 -> 8 on 8x8.
    expect(row('maxpool').outputShape).toEqual([1, 8, 8, 8]);
    expect(row('layer1.0.conv1')).toMatchObject({
      outputShape: [1, 8, 8, 8],
      params: 8 * 8 * 9,
      macs: 8 * 8 * 8 * 8 * 9,
    });
    // layer2.0.conv1: 3x3 stride 2 8 -> 16 -> 4x4x16; its downsample: 1x1 stride 2.
    expect(row('layer2.0.conv1')).toMatchObject({ outputShape: [1, 4, 4, 16], macs: 4 * 4 * 16 * 8 * 9 });
    expect(row('layer2.0.downsample.0')).toMatchObject({
      outputShape: [1, 4, 4, 16],
      params: 8 * 16,
      macs: 4 * 4 * 16 * 8,
    });
    expect(row('layer2.0.downsample.1')).toMatchObject({ type: 'BatchNorm2d', params: 32, macs: 0 });
    expect(row('fc')).toMatchObject({ outputShape: [1, 10], params: 170, macs: 160 });
    const convMacs = 16 * 16 * 8 * 147 + 4 * (8 * 8 * 8 * 72) + 4 * 4 * 16 * 72 + 4 * 4 * 16 * 144 + 4 * 4 * 16 * 8;
    expect(s.totalMacs).toBe(convMacs + 160);
    expect(s.totalParams).toBe(1176 + 16 + 2 * (2 * 576 + 32) + (1152 + 32 + 2304 + 32 + 128 + 32) + 170);
    expect(s.totalParams).toBe(net.numParameters());
    expect(String(s)).toContain('layer2.0.downsample.0');
    expect(String(s)).toMatch(/MACs: 506,016/);
    net.dispose();
  });

  it("every row is named by the model's dotted module names (as in its state dict)", async () => {
    await setBackend('wasm');
    const net = new TinyResNet();
    const s = summary(net, [32, 32, 3]);
    const names = new Set(net.namedModules().map(([n]) => n));
    const unnamed = s.rows.filter((r) => !names.has(r.name)).map((r) => `${r.name} (${r.type})`);
    expect(unnamed, 'rows whose module is not a registered child').toEqual([]);
    net.dispose();
  });

  it("restores the training mode of every module, not only the root's", async () => {
    await setBackend('wasm');
    const net = new TinyResNet();
    net.train();
    net.bn1.eval(); // a frozen BatchNorm, as when fine-tuning
    summary(net, [32, 32, 3]);
    expect(net.training).toBe(true);
    expect(net.bn1.training, 'bn1 stays in eval').toBe(false);
    net.dispose();
  });
});
