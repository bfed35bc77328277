// Builder options are checked before anything is built: unknown names (the error lists the ones the model takes),
// wrong types and values outside the limits give a ModelOptionsError naming the model and the option, and leave no
// tensor behind (getModel('lenet5', { numClasses: -3 }) used to leak 8 tensors per call, 1e9 a raw RangeError).
import { describe, expect, it } from 'vitest';
import { tf, setBackend } from '@cnn/tensor';
import { Linear } from '@cnn/layers';
import {
  AlexNet,
  CifarResNet,
  GoogLeNet,
  LeNet5,
  ModelError,
  ModelOptionsError,
  ResNet,
  VGG,
  getModel,
  lenet5,
  listModels,
  modelOptions,
  registerModel,
  resnet18,
  resnet50,
  resnext50_32x4d,
  vgg11,
  type ImageClassifier,
} from '../src/index';

const count = () => tf.memory().numTensors;

/** Runs `f`, expecting a ModelOptionsError whose message matches `re`, and no tensor created; returns the error. */
function refused(f: () => unknown, re: RegExp): ModelOptionsError {
  const before = count();
  const vars = Object.keys(tf.engine().state.registeredVariables).length;
  const t0 = performance.now();
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(performance.now() - t0).toBeLessThan(20_000);
  expect(err).toBeInstanceOf(ModelOptionsError);
  expect((err as Error).name).toBe('ModelOptionsError');
  expect((err as Error).message).toMatch(re);
  expect(count()).toBe(before);
  expect(Object.keys(tf.engine().state.registeredVariables).length).toBe(vars);
  return err as ModelOptionsError;
}

describe('builder options', () => {
  it('numClasses -3, 0, 2.5, NaN, Infinity, "10" and 1e9 are refused by name, and nothing leaks, call after call', async () => {
    await setBackend('wasm');
    const before = count();
    for (let i = 0; i < 20; i++) {
      const e = refused(
        () => getModel('lenet5', { numClasses: -3 }),
        /^lenet5: option numClasses must be an integer from 1 to 100000, got -3$/,
      );
      expect([e.model, e.option]).toEqual(['lenet5', 'numClasses']);
    }
    for (const [v, shown] of [
      [0, '0'],
      [2.5, '2.5'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      ['10', '"10"'],
      [1e9, '1000000000'],
    ] as const) {
      refused(
        () => getModel('lenet5', { numClasses: v }),
        new RegExp(`option numClasses must be an integer from 1 to 100000, got ${shown}$`),
      );
    }
    refused(
      () => getModel('resnet18', { inChannels: 100_000 }),
      /^resnet18: option inChannels must be an integer from 1 to 4096, got 100000$/,
    );
    expect(count()).toBe(before);
  });

  it('unknown options are refused, naming the ones the model takes', async () => {
    await setBackend('wasm');
    const e = refused(
      () => getModel('lenet5', { bogus: 1 }),
      /^lenet5: unknown option 'bogus'; it takes numClasses, inChannels, inputSize$/,
    );
    expect(e.option).toBe('bogus');
    refused(
      () => getModel('resnet50', { numclasses: 10 }),
      /^resnet50: unknown option 'numclasses'; it takes numClasses, inChannels, attention, attn, groups, baseWidth, stem, zeroInitResidual$/,
    );
    refused(
      () => getModel('googlenet', { aux_logits: true }),
      /^googlenet: unknown option 'aux_logits'; it takes numClasses, inChannels, auxLogits, transformInput, dropout$/,
    );
    // A hostile name is quoted short.
    refused(
      () => getModel('vgg11', { ['x'.repeat(100_000)]: 1 }),
      /^vgg11: unknown option 'x{40}\.\.\.'; it takes numClasses, inChannels, dropout$/,
    );
  });

  it('every classic id refuses an unknown option and a bad numClasses before building', async () => {
    await setBackend('wasm');
    for (const id of listModels().filter((i) => !i.startsWith('test_'))) {
      const names = Object.keys(modelOptions(id)!);
      expect(names.slice(0, 2)).toEqual(['numClasses', 'inChannels']);
      refused(
        () => getModel(id, { bogus: true }),
        new RegExp(`^${id}: unknown option 'bogus'; it takes ${names.join(', ')}$`),
      );
      refused(() => getModel(id, { numClasses: 1e9 }), new RegExp(`^${id}: option numClasses must be an integer`));
    }
  });

  it("types and limits of each family's own options", async () => {
    await setBackend('wasm');
    refused(() => getModel('lenet5', { inputSize: 30 }), /^lenet5: option inputSize must be one of 28, 32, got 30$/);
    refused(
      () => getModel('alexnet', { dropout: 1 }),
      /^alexnet: option dropout must be a number at least 0 and less than 1, got 1$/,
    );
    refused(
      () => getModel('vgg11_bn', { dropout: -0.1 }),
      /^vgg11_bn: option dropout must be a number at least 0 and less than 1, got -0\.1$/,
    );
    refused(
      () => getModel('googlenet', { auxLogits: 'yes' }),
      /^googlenet: option auxLogits must be true or false, got "yes"$/,
    );
    refused(
      () => getModel('resnet50', { stem: 'tiny' }),
      /^resnet50: option stem must be one of "imagenet", "cifar", got "tiny"$/,
    );
    refused(
      () => getModel('resnet50', { attention: 'se' }),
      /^resnet50: option attention must be a function or null, got "se"$/,
    );
    refused(
      () => getModel('resnet20_cifar', { groups: 2 }),
      /^resnet20_cifar: unknown option 'groups'; it takes numClasses, inChannels, attention, attn$/,
    );
    refused(
      () => getModel('resnet50', { baseWidth: 1000 }),
      /^resnet50: option baseWidth must be an integer from 1 to 128, got 1000$/,
    );
    // What the checks of a single option cannot see: the family's own constraints, still before building.
    refused(
      () => getModel('resnet18', { groups: 32, baseWidth: 4 }),
      /^resnet18: its basic blocks take only groups 1 and baseWidth 64 \(got 32 and 4\)/,
    );
    refused(
      () => getModel('resnext50_32x4d', { groups: 64, baseWidth: 8 }),
      /^resnet50: groups \* baseWidth must be at most 256 \(4x ResNet's width\), got 64 \* 8 = 512$/,
    );
    // Options that are not an object.
    refused(
      () => getModel('lenet5', 5 as unknown as Record<string, unknown>),
      /^lenet5: options must be an object, got 5$/,
    );
    refused(
      () => getModel('lenet5', null as unknown as Record<string, unknown>),
      /^lenet5: options must be an object, got null$/,
    );
    refused(
      () => getModel('lenet5', [10] as unknown as Record<string, unknown>),
      /^lenet5: options must be an object, got an array of 1$/,
    );
    // undefined means the default, as for any optional property.
    const m = getModel('lenet5', { numClasses: undefined, inputSize: 28 });
    expect(m.classifier.outFeatures).toBe(10);
    m.dispose();
  });

  it('typed builders and constructors check the same way', async () => {
    await setBackend('wasm');
    refused(
      () => resnet50({ numClasses: -3 }),
      /^resnet50: option numClasses must be an integer from 1 to 100000, got -3$/,
    );
    refused(() => resnext50_32x4d({ bogus: 1 } as never), /^resnext50_32x4d: unknown option 'bogus'/);
    refused(() => lenet5({ numClasses: 1e9 }), /^lenet5: option numClasses/);
    refused(() => vgg11(7 as never), /^vgg11: options must be an object, got 7$/);
    refused(() => resnet18({ groups: 2 }), /^resnet18: its basic blocks take only groups 1/);
    refused(
      () => new LeNet5({ numClasses: -3 }),
      /^lenet5: option numClasses must be an integer from 1 to 100000, got -3$/,
    );
    refused(() => new AlexNet('alexnet', { numClasses: 1e9 }), /^alexnet: option numClasses/);
    refused(
      () => new AlexNet('alexnet_1999' as never),
      /^alexnet: unknown architecture "alexnet_1999"; expected 'alexnet' or 'alexnet_2012'$/,
    );
    refused(() => new VGG('vgg11', true, { dropout: 2 }), /^vgg11_bn: option dropout/);
    refused(
      () => new VGG('vgg12' as never, false),
      /^vgg: unknown configuration "vgg12"; expected vgg11, vgg13, vgg16, vgg19$/,
    );
    refused(() => new GoogLeNet({ numClasses: 0 }), /^googlenet: option numClasses/);
    refused(() => new ResNet(50, { numClasses: -1 }), /^resnet50: option numClasses/);
    refused(() => new ResNet(42 as never), /^resnet: depth must be one of 18, 34, 50, 101, 152, got 42$/);
    refused(
      () => new ResNet(50, { attn: 'cbam' as never }),
      /^resnet50: option attn must be one of "se", null, got "cbam"$/,
    );
    refused(() => new CifarResNet(20, { numClasses: 1e9 }), /^resnet20_cifar: option numClasses/);
    refused(() => new CifarResNet(21 as never), /^cifar resnet: depth must be one of 20, 32, 44, 56, 110, got 21$/);
  });

  it('resetClassifier checks numClasses before touching the model', async () => {
    await setBackend('wasm');
    const m = getModel('lenet5');
    const head = m.classifier;
    refused(
      () => m.resetClassifier(-3),
      /^LeNet5\.resetClassifier: option numClasses must be an integer from 1 to 100000, got -3$/,
    );
    refused(() => m.resetClassifier(1e9), /^LeNet5\.resetClassifier: option numClasses/);
    expect(m.classifier).toBe(head);
    expect(head.weight.isDisposed).toBe(false);
    m.dispose();
  });

  it('unknown ids are a ModelError that quotes the id short', () => {
    expect(() => getModel('resnet19')).toThrow(ModelError);
    expect(() => getModel('resnet19')).toThrow(/^unknown model 'resnet19' \(listModels\(\) lists all \d+\)$/);
    expect(() => getModel('z'.repeat(10_000))).toThrow(
      /^unknown model 'z{64}\.\.\.' \(listModels\(\) lists all \d+\)$/,
    );
    expect(() => getModel(42 as never)).toThrow(/^model id must be a string, got 42$/);
  });

  it('a builder that fails half-way leaves no variable behind', async () => {
    await setBackend('wasm');
    class Failing extends LeNet5 {
      constructor() {
        super();
        this.registerModule('extra', new Linear(10, 10));
        throw new Error('failing builder: gave up after its layers');
      }
    }
    registerModel(
      {
        id: 'test_failing_builder',
        family: 'test',
        paper: '',
        inputSize: [28, 28, 1],
        params: 0,
        macs: 0,
        numClasses: 10,
      },
      () => new Failing() as ImageClassifier,
    );
    const before = count();
    for (let i = 0; i < 5; i++)
      expect(() => getModel('test_failing_builder')).toThrow(/^failing builder: gave up after its layers$/);
    expect(count()).toBe(before);
  });

  it('zeroInitResidual builds without a stray tensor', async () => {
    await setBackend('wasm');
    const before = count();
    const m = getModel('resnet18', { zeroInitResidual: true, numClasses: 3 });
    expect(count() - before).toBe(m.namedParameters().length + m.namedBuffers().length);
    m.dispose();
    expect(count()).toBe(before);
  });
});
