// The weights table (@cnn/models-classic's src/pretrained) against the upstream files' layouts for the efficient ids,
// which are registered here: every entry mapped key by key and shape by shape onto our model through its key map
// (torchvision's MobileNets and ShuffleNetV2s, read from torchvision; MMPretrain's SE-ResNets and ShuffleNetV1, whose
// layouts are rebuilt from MMPretrain's source: `verified: false`), and the logits of the MMPretrain rebuilds for the
// same filled weights through their key maps. Fixtures and checks: packages/models-classic/test/pretrained-support.ts
// (scripts/make-pretrained-fixtures.py there). The identity map's logits are covered by test/parity.test.ts.
import { describe, expect, it } from 'vitest';
import { getCard, getModel, listModels, setBackend } from '../src/index';
import { PRETRAINED_TABLE } from '../../models-classic/src/pretrained/table';
import { expectCaseLogits, expectKeyMapFits, fixture, layoutOf } from '../../models-classic/test/pretrained-support';

// The families of this package (the classic ones are checked in @cnn/models-classic's test).
const EFFICIENT = new Set(['mobilenet', 'senet', 'shufflenet']);
const entries = PRETRAINED_TABLE.filter((e) => listModels().includes(e.id) && EFFICIENT.has(getCard(e.id).family));

describe('the weights table (efficient ids)', () => {
  it('lists only zoo ids', () => {
    const zoo = new Set(listModels());
    expect(PRETRAINED_TABLE.filter((e) => !zoo.has(e.id)).map((e) => e.id)).toEqual([]);
  });

  it('covers the efficient ids torchvision and MMPretrain publish weights for', () => {
    expect([...new Set(entries.map((e) => e.id))].sort()).toEqual([
      'mobilenet_v2',
      'mobilenet_v3_large',
      'mobilenet_v3_small',
      'seresnet101',
      'seresnet50',
      'shufflenet_v1_x1_0_g3',
      'shufflenet_v2_x0_5',
      'shufflenet_v2_x1_0',
      'shufflenet_v2_x1_5',
      'shufflenet_v2_x2_0',
    ]);
  });
});

describe("each entry's key map onto our model, against the upstream layout", () => {
  const groups = new Map<string, typeof entries>();
  for (const e of entries) {
    const g = `${layoutOf(e)} ${e.keyMap}`;
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  for (const [g, es] of groups) {
    const e = es[0];
    it(`${g}: ${es.map((x) => x.name).join(', ')}`, { timeout: 120_000 }, async () => {
      await setBackend('wasm');
      expectKeyMapFits(() => getModel(e.id, { numClasses: 1000, ...e.modelOptions }), e);
    });
  }
});

describe(`logits equal the PyTorch rebuilds' through the MMPretrain key maps (torch ${fixture.torch})`, () => {
  const ids = new Set(entries.map((e) => e.id));
  const cases = fixture.cases.filter((c) => ids.has(c.case));
  it('has a case for each MMPretrain key map', () => {
    expect(cases.map((c) => c.keyMap).sort()).toEqual(['mmpretrain', 'mmpretrain-seresnet']);
  });
  for (const c of cases) {
    it(`${c.case} (${c.layout}, key map ${c.keyMap})`, { timeout: 120_000 }, async () => {
      await setBackend('wasm');
      expectCaseLogits(() => getModel(c.case, { numClasses: 1000, ...c.modelOptions }), c);
    });
  }
});
