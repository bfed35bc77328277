// Every block builds, runs forward and backward on wasm with the expected output shape, has torchvision's keys
// and parameter counts (counted with torchvision 0.14 on the same configurations), and leaks nothing.
import { describe, expect, it } from 'vitest';
import { tf, setBackend, type Tensor } from '@cnn/tensor';
import {
  BasicBlock, Bottleneck, ConvNormAct, DepthwiseSeparable, Inception, InvertedResidual, Module, SEModule, Sequential,
  ShuffleUnitV1, ShuffleUnitV2, Conv2d, BatchNorm2d, manualSeed,
} from '../src/index';

interface Case { name: string; make: () => Module; input: number[]; output: number[]; params?: number; keys?: string[] }

const down = (i: number, o: number, s: number) => new Sequential(new Conv2d(i, o, 1, { stride: s, bias: false }), new BatchNorm2d(o));

const CASES: Case[] = [
  { name: 'ConvNormAct', make: () => new ConvNormAct(3, 8, 3, { stride: 2 }), input: [2, 9, 9, 3], output: [2, 5, 5, 8], params: 3 * 8 * 9 + 16, keys: ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'] },
  // torchvision resnet18 layer1.0: 73,984 parameters.
  { name: 'BasicBlock', make: () => new BasicBlock(64, 64), input: [1, 8, 8, 64], output: [1, 8, 8, 64], params: 73984 },
  { name: 'BasicBlock with downsample', make: () => new BasicBlock(64, 128, { stride: 2, downsample: down(64, 128, 2) }), input: [1, 8, 8, 64], output: [1, 4, 4, 128], keys: ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked', 'conv2.weight', 'bn2.weight', 'bn2.bias', 'bn2.running_mean', 'bn2.running_var', 'bn2.num_batches_tracked', 'downsample.0.weight', 'downsample.1.weight', 'downsample.1.bias', 'downsample.1.running_mean', 'downsample.1.running_var', 'downsample.1.num_batches_tracked'] },
  // torchvision resnet50 layer1.0 (with its downsample): 75,008 parameters.
  { name: 'Bottleneck', make: () => new Bottleneck(64, 64, { downsample: down(64, 256, 1) }), input: [1, 6, 6, 64], output: [1, 6, 6, 256], params: 75008 },
  // torchvision resnext50_32x4d layer1.0: 63,488 parameters.
  { name: 'Bottleneck ResNeXt 32x4d', make: () => new Bottleneck(64, 64, { groups: 32, baseWidth: 4, downsample: down(64, 256, 1) }), input: [1, 6, 6, 64], output: [1, 6, 6, 256], params: 63488 },
  { name: 'Bottleneck with SE', make: () => new Bottleneck(256, 64, { attention: (c) => new SEModule(c) }), input: [1, 5, 5, 256], output: [1, 5, 5, 256], params: 70400 + (256 * 16 + 16) + (16 * 256 + 256) },
  { name: 'SEModule', make: () => new SEModule(32, { squeezeChannels: 8 }), input: [2, 4, 4, 32], output: [2, 4, 4, 32], params: 32 * 8 + 8 + 8 * 32 + 32, keys: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] },
  { name: 'DepthwiseSeparable', make: () => new DepthwiseSeparable(32, 64, { stride: 2 }), input: [1, 8, 8, 32], output: [1, 4, 4, 64], params: 32 * 9 + 64 + 32 * 64 + 128 },
  // torchvision mobilenet_v2 features.1 (expand 1): 896 params; features.2: 5,136.
  { name: 'InvertedResidual v2 expand 1', make: () => new InvertedResidual(32, 16, { hiddenChannels: 32 }), input: [1, 8, 8, 32], output: [1, 8, 8, 16], params: 896, keys: ['conv.0.0.weight', 'conv.0.1.weight', 'conv.0.1.bias', 'conv.0.1.running_mean', 'conv.0.1.running_var', 'conv.0.1.num_batches_tracked', 'conv.1.weight', 'conv.2.weight', 'conv.2.bias', 'conv.2.running_mean', 'conv.2.running_var', 'conv.2.num_batches_tracked'] },
  { name: 'InvertedResidual v2 expand 6 stride 2', make: () => new InvertedResidual(16, 24, { hiddenChannels: 96, stride: 2 }), input: [1, 8, 8, 16], output: [1, 4, 4, 24], params: 5136 },
  // torchvision mobilenet_v3_large features.4 (24 -> 40, hidden 72, 5x5 stride 2, SE 24): 10,328 params.
  { name: 'InvertedResidual v3 with SE', make: () => new InvertedResidual(24, 40, { hiddenChannels: 72, kernelSize: 5, stride: 2, act: 'relu', seChannels: 24, layout: 'v3' }), input: [1, 8, 8, 24], output: [1, 4, 4, 40], params: 10328, keys: ['block.0.0.weight', 'block.0.1.weight', 'block.0.1.bias', 'block.0.1.running_mean', 'block.0.1.running_var', 'block.0.1.num_batches_tracked', 'block.1.0.weight', 'block.1.1.weight', 'block.1.1.bias', 'block.1.1.running_mean', 'block.1.1.running_var', 'block.1.1.num_batches_tracked', 'block.2.fc1.weight', 'block.2.fc1.bias', 'block.2.fc2.weight', 'block.2.fc2.bias', 'block.3.0.weight', 'block.3.1.weight', 'block.3.1.bias', 'block.3.1.running_mean', 'block.3.1.running_var', 'block.3.1.num_batches_tracked'] },
  { name: 'ShuffleUnitV1 stride 2', make: () => new ShuffleUnitV1(24, 240, { groups: 3, stride: 2, firstGrouped: false }), input: [1, 8, 8, 24], output: [1, 4, 4, 240] },
  { name: 'ShuffleUnitV1 stride 1', make: () => new ShuffleUnitV1(240, 240, { groups: 3 }), input: [1, 4, 4, 240], output: [1, 4, 4, 240] },
  // torchvision shufflenet_v2_x1_0 stage2.0: 7,398 params; stage2.1: 7,598.
  { name: 'ShuffleUnitV2 stride 2', make: () => new ShuffleUnitV2(24, 116, 2), input: [1, 8, 8, 24], output: [1, 4, 4, 116], params: 7398 },
  { name: 'ShuffleUnitV2 stride 1', make: () => new ShuffleUnitV2(116, 116, 1), input: [1, 4, 4, 116], output: [1, 4, 4, 116], params: 7598 },
  // torchvision googlenet inception3a: 155,872 params.
  { name: 'Inception 3a', make: () => new Inception(192, { ch1x1: 64, ch3x3red: 96, ch3x3: 128, ch5x5red: 16, ch5x5: 32, poolProj: 32 }), input: [1, 7, 7, 192], output: [1, 7, 7, 256], params: 155872 },
];

describe('blocks on wasm', () => {
  for (const c of CASES) {
    it(`${c.name}: shape, parameters, keys, gradients, no leaks`, async () => {
      await setBackend('wasm');
      manualSeed(1);
      const m = c.make();
      const x = tf.randomNormal(c.input);
      const before = tf.memory().numTensors;
      const y = m.call(x);
      expect(y.shape).toEqual(c.output);
      if (c.params !== undefined) expect(m.numParameters()).toBe(c.params);
      if (c.keys) expect([...m.stateDict().keys()]).toEqual(c.keys);
      const params = m.parameters();
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.call(x) as Tensor)) as tf.Scalar, params);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads).length).toBe(params.length);
      tf.dispose([value, ...Object.values(grads), y]);
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
      x.dispose();
    });
  }
});
