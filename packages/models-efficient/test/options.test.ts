// The efficient families' builder options: checked before anything is built, with a ModelOptionsError naming the
// model and the option, and no tensor left behind; every id of the whole zoo does the same.
import { describe, expect, it } from 'vitest';
import {
  tf,
  setBackend,
  getModel,
  listModels,
  modelOptions,
  ModelOptionsError,
  MobileNetV1,
  MobileNetV2,
  MobileNetV3,
  ShuffleNetV1,
  ShuffleNetV2,
  mobilenetV2,
  seresnet50,
  shufflenetV1,
  shufflenetV2,
} from '../src/index';

function refused(f: () => unknown, re: RegExp): ModelOptionsError {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(performance.now() - t0).toBeLessThan(20_000);
  expect(err).toBeInstanceOf(ModelOptionsError);
  expect((err as Error).message).toMatch(re);
  expect(tf.memory().numTensors).toBe(before);
  return err as ModelOptionsError;
}

describe('builder options of the whole zoo', () => {
  it('every id refuses numClasses -3 and 1e9, and an unknown option naming the valid ones, before building', async () => {
    await setBackend('wasm');
    for (const id of listModels()) {
      const names = Object.keys(modelOptions(id)!);
      refused(
        () => getModel(id, { numClasses: -3 }),
        new RegExp(`^${id}: option numClasses must be an integer from 1 to 100000, got -3$`),
      );
      refused(
        () => getModel(id, { numClasses: 1e9 }),
        new RegExp(`^${id}: option numClasses must be an integer from 1 to 100000, got 1000000000$`),
      );
      refused(
        () => getModel(id, { bogus: 1 }),
        new RegExp(`^${id}: unknown option 'bogus'; it takes ${names.join(', ')}$`),
      );
    }
  });

  it('widths, dropout and attn of the efficient families', async () => {
    await setBackend('wasm');
    refused(
      () => getModel('mobilenet_v1', { widthMultiplier: 0 }),
      /^mobilenet_v1: option widthMultiplier must be a number more than 0 and at most 4, got 0$/,
    );
    refused(
      () => getModel('mobilenet_v2', { widthMultiplier: 1e6 }),
      /^mobilenet_v2: option widthMultiplier must be a number more than 0 and at most 4, got 1000000$/,
    );
    refused(
      () => getModel('mobilenet_v2', { widthMultiplier: NaN }),
      /^mobilenet_v2: option widthMultiplier .* got NaN$/,
    );
    refused(
      () => getModel('mobilenet_v2', { attn: 'cbam' }),
      /^mobilenet_v2: option attn must be one of "se", null, got "cbam"$/,
    );
    refused(
      () => getModel('mobilenet_v3_large', { widthMultiplier: 0.5 }),
      /^mobilenet_v3_large: unknown option 'widthMultiplier'; it takes numClasses, inChannels, dropout$/,
    );
    refused(
      () => getModel('shufflenet_v2_x1_0', { dropout: 0.1 }),
      /^shufflenet_v2_x1_0: unknown option 'dropout'; it takes numClasses, inChannels$/,
    );
    refused(
      () => getModel('seresnet50', { groups: 1000 }),
      /^seresnet50: option groups must be an integer from 1 to 256, got 1000$/,
    );
    refused(() => seresnet50({ numClasses: 0 }), /^seresnet50: option numClasses/);
    refused(
      () => mobilenetV2({ dropout: 1.5 }),
      /^mobilenet_v2: option dropout must be a number at least 0 and less than 1, got 1\.5$/,
    );
    refused(() => shufflenetV2({ numClasses: -1 }), /^shufflenet_v2_x1_0: option numClasses/);
  });

  it('a ShuffleNetV1 id fixes its groups and width; shufflenetV1() refuses a pair without an id', async () => {
    await setBackend('wasm');
    refused(
      () => getModel('shufflenet_v1_x1_0_g3', { groups: 8 }),
      /^shufflenet_v1_x1_0_g3: option groups must be 3, got 8 \(the id fixes it: pick another shufflenet_v1_x1_0_g\* id/,
    );
    refused(
      () => getModel('shufflenet_v1_x1_0_g3', { widthMultiplier: 0.75 }),
      /^shufflenet_v1_x1_0_g3: option widthMultiplier must be 1, got 0\.75/,
    );
    refused(
      () => shufflenetV1({ groups: 4, widthMultiplier: 0.5 }),
      /^shufflenetV1: no ShuffleNetV1 with groups 4 and widthMultiplier 0\.5; the ids are shufflenet_v1_x0_5_g1, /,
    );
    refused(
      () => shufflenetV1({ groups: 5 as never }),
      /^shufflenetV1: option groups must be one of 1, 2, 3, 4, 8, got 5$/,
    );
    refused(
      () => shufflenetV1({ widthMultiplier: 'wide' as never }),
      /^shufflenetV1: option widthMultiplier must be a number more than 0 and at most 4, got "wide"$/,
    );
    refused(() => shufflenetV1(null as never), /^shufflenetV1: options must be an object, got null$/);
    const m = shufflenetV1({ groups: 3, widthMultiplier: 0.5, numClasses: 7 });
    expect(m.classifier.outFeatures).toBe(7);
    m.dispose();
  });

  it("constructors check too, including ShuffleNetV1's channel plan, before building", async () => {
    await setBackend('wasm');
    refused(() => new MobileNetV1({ widthMultiplier: -1 }), /^mobilenet_v1: option widthMultiplier/);
    refused(() => new MobileNetV2({ numClasses: 1e9 }), /^mobilenet_v2: option numClasses/);
    refused(() => new MobileNetV3('medium' as never), /^mobilenet_v3: size must be 'large' or 'small', got "medium"$/);
    refused(() => new MobileNetV3('small', { bogus: 1 } as never), /^mobilenet_v3_small: unknown option 'bogus'/);
    refused(
      () => new ShuffleNetV2('3.0' as never),
      /^shufflenet_v2: width must be '0\.5', '1\.0', '1\.5' or '2\.0', got "3\.0"$/,
    );
    refused(() => new ShuffleNetV2('1.0', { numClasses: 0 }), /^shufflenet_v2_x1_0: option numClasses/);
    refused(
      () => new ShuffleNetV1({ groups: 4, widthMultiplier: 0.5 }),
      /^shufflenet_v1: cannot be built with groups 4 and widthMultiplier 0\.5: stage 1 would need 136 channels from 12 in 4 groups$/,
    );
    refused(
      () => new ShuffleNetV1({ widthMultiplier: 0.01 }),
      /^shufflenet_v1: cannot be built with groups 3 and widthMultiplier 0\.01: width 0\.01 leaves the stem no channels$/,
    );
  });
});
