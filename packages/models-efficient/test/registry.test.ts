// Every efficient id builds, runs on wasm, and has exactly its card's parameter and MAC counts, which equal the
// reference table's integers (or the PyTorch rebuilds' in test/fixtures/counts.json); SE plugs into other families.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  tf,
  setBackend,
  summary,
  manualSeed,
  getModel,
  getCard,
  listModels,
  EFFICIENT_CARDS,
  shufflenetV1,
} from '../src/index';

const counts: Record<string, { params: number; macs: number }> = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'counts.json'), 'utf8'),
);

// ../shared/notes/reference-numbers.md, copied so that a wrong card cannot also fix its test.
const REFERENCE: Record<string, [number, number]> = {
  seresnet50: [28088024, 4091699200],
  seresnet101: [49326872, 7806148608],
  mobilenet_v1: [4231976, 568740352],
  mobilenet_v2: [3504872, 300774272],
  mobilenet_v3_small: [2542856, 56510400],
  mobilenet_v3_large: [5483032, 216589760],
  shufflenet_v1_x1_0_g3: [1865728, 137460672],
  shufflenet_v2_x0_5: [1366792, 40476448],
  shufflenet_v2_x1_0: [2278604, 144907992],
  shufflenet_v2_x1_5: [3503624, 295759392],
  shufflenet_v2_x2_0: [7393996, 583253464],
};

describe('the efficient zoo', () => {
  it('registers every efficient id next to the classic ones', () => {
    const ids = listModels();
    for (const id of [...Object.keys(REFERENCE), 'seresnext50_32x4d', 'resnet50', 'lenet5']) expect(ids).toContain(id);
    expect(listModels('shufflenet_v1_*_g3')).toEqual([
      'shufflenet_v1_x0_5_g3',
      'shufflenet_v1_x1_0_g3',
      'shufflenet_v1_x1_5_g3',
      'shufflenet_v1_x2_0_g3',
    ]);
  });

  for (const [c] of EFFICIENT_CARDS) {
    it(`${c.id}: card equals the reference and the real counts; forward on wasm is finite`, async () => {
      await setBackend('wasm');
      const ref = REFERENCE[c.id] ?? (counts[c.id] ? [counts[c.id].params, counts[c.id].macs] : undefined);
      expect(ref, `no reference count for ${c.id}`).toBeDefined();
      const card = getCard(c.id);
      expect([card.params, card.macs]).toEqual(ref);
      manualSeed(0);
      const before = tf.memory().numTensors;
      const model = getModel(c.id);
      const s = summary(model, card.inputSize);
      expect([s.totalParams, s.totalMacs]).toEqual(ref);
      const y = tf.tidy(() => model.eval().call(tf.randomNormal([2, 96, 96, 3])));
      expect(y.shape).toEqual([2, 1000]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      y.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('SE plugs into other families: resnet18 and mobilenet_v2 with attn "se"', async () => {
    await setBackend('wasm');
    const plain = getModel('resnet18');
    const se = getModel('resnet18', { attn: 'se' });
    // resnet18's blocks end with 64, 64, 128, 128, 256, 256, 512, 512 channels; SE adds c*c/16*2 + c/16 + c each.
    const extra = [64, 64, 128, 128, 256, 256, 512, 512].reduce((n, c) => n + 2 * c * (c / 16) + c / 16 + c, 0);
    expect(se.numParameters() - plain.numParameters()).toBe(extra);
    expect(se.namedParameters().map(([n]) => n)).toContain('layer1.0.se.fc1.weight');
    const m2 = getModel('mobilenet_v2', { attn: 'se', numClasses: 10 });
    expect(m2.namedParameters().some(([n]) => /^features\.\d+\.conv\.\d+\.fc1\.weight$/.test(n))).toBe(true);
    const y = tf.tidy(() => m2.eval().call(tf.randomNormal([1, 64, 64, 3])));
    expect(y.shape).toEqual([1, 10]);
    tf.dispose(y);
    for (const m of [plain, se, m2]) m.dispose();
    expect(() => getModel('resnet18', { attn: 'cbam' })).toThrow(
      /^resnet18: option attn must be one of "se", null, got "cbam"$/,
    );
  });

  it('shufflenetV1() picks the id from groups and width', () => {
    const m = shufflenetV1({ groups: 8, widthMultiplier: 2 });
    expect(m.numParameters()).toBe(getCard('shufflenet_v1_x2_0_g8').params);
    m.dispose();
  });
});
