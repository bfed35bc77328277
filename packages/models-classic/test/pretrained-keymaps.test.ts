// The weights table against the upstream files' layouts (scripts/make-pretrained-fixtures.py, Debian's PyTorch 1.13 /
// torchvision 0.14): the table's own consistency, every entry of this package's ids mapped key by key and shape by shape
// onto our model through its key map, and torchvision's GoogLeNet (transform_input, aux heads dropped) logits for the
// same filled weights. The efficient ids are checked the same way in packages/models-efficient (their models are
// registered there); the identity map's logits are covered by test/parity.test.ts.
import { describe, expect, it } from 'vitest';
import { setBackend } from '@cnn/tensor';
import { getModel, listModels, ModelOptionsError } from '../src/index';
import { PRETRAINED_TABLE } from '../src/pretrained/table';
import { KEY_MAPS } from '../src/pretrained/keymaps';
import { expectCaseLogits, expectKeyMapFits, fixture, layoutOf, relErr, runCase } from './pretrained-support';

describe('the weights table', () => {
  it('names a key map that exists for every entry', () => {
    const unknown = PRETRAINED_TABLE.filter((e) => !(e.keyMap in KEY_MAPS)).map(
      (e) => `${e.id}/${e.name}: ${e.keyMap}`,
    );
    expect(unknown).toEqual([]);
    expect(PRETRAINED_TABLE.length).toBeGreaterThanOrEqual(30);
  });

  it("has each file's name, hash prefix and URL agree", () => {
    const bad: string[] = [];
    for (const e of PRETRAINED_TABLE) {
      if (!e.url.startsWith('https://') || !e.url.endsWith(`/${e.file}`)) bad.push(`${e.id}/${e.name}: url vs file`);
      if (!/^[0-9a-f]{8,}$/.test(e.sha256Prefix)) bad.push(`${e.id}/${e.name}: prefix ${e.sha256Prefix}`);
      if (!e.file.endsWith(`-${e.sha256Prefix}.pth`)) bad.push(`${e.id}/${e.name}: file lacks -${e.sha256Prefix}.pth`);
    }
    expect(bad).toEqual([]);
  });

  it('has one name per id, sources with their licenses, metrics and preprocessing in range', () => {
    const names = PRETRAINED_TABLE.map((e) => `${e.id}/${e.name}`);
    expect(new Set(names).size).toBe(names.length);
    for (const e of PRETRAINED_TABLE) {
      expect(e.license, e.file).toBe(e.source === 'torchvision' ? 'BSD-3-Clause' : 'Apache-2.0');
      expect(e.verified, e.file).toBe(e.source === 'torchvision');
      expect(e.top1, e.file).toBeGreaterThan(50);
      expect(e.top5, e.file).toBeGreaterThan(e.top1);
      expect(e.top5, e.file).toBeLessThan(100);
      expect(e.preprocess.crop, e.file).toBeLessThanOrEqual(e.preprocess.resize);
      expect(['bilinear', 'bicubic'], e.file).toContain(e.preprocess.interpolation);
    }
  });

  it("puts torchvision's DEFAULT first for the ids where it has two versions", () => {
    // torchvision 0.14: DEFAULT = IMAGENET1K_V2 wherever a V2 exists (its better recipe)
    const first = new Map<string, string>();
    for (const e of PRETRAINED_TABLE) if (!first.has(e.id)) first.set(e.id, e.name);
    for (const id of ['resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'mobilenet_v2'])
      expect(first.get(id), id).toBe('IMAGENET1K_V2');
    expect(first.get('resnet18')).toBe('IMAGENET1K_V1');
  });

  it("has a committed layout for every entry's file and no layout without an entry", () => {
    expect(Object.keys(fixture.layouts).sort()).toEqual([...new Set(PRETRAINED_TABLE.map(layoutOf))].sort());
  });

  it("gives torchvision's GoogLeNet transformInput and a map that drops the aux heads", () => {
    const g = PRETRAINED_TABLE.filter((e) => e.id === 'googlenet');
    expect(g.length).toBeGreaterThan(0);
    for (const e of g) {
      expect(e.modelOptions).toEqual({ transformInput: true });
      expect(e.keyMap).toBe('torchvision-googlenet');
    }
    expect(KEY_MAPS['torchvision-googlenet']('aux1.fc2.weight')).toBeNull();
    expect(KEY_MAPS['torchvision-googlenet']('inception4a.branch1.conv.weight')).toBe(
      'inception4a.branch1.conv.weight',
    );
  });
});

describe('googlenet transformInput', () => {
  it('refuses other than 3 input channels with a named error, and is a checked boolean', () => {
    expect(() => getModel('googlenet', { transformInput: true, inChannels: 1 })).toThrow(ModelOptionsError);
    expect(() => getModel('googlenet', { transformInput: true, inChannels: 1 })).toThrow(/transformInput.*inChannels/);
    expect(() => getModel('googlenet', { transformInput: 'yes' })).toThrow(ModelOptionsError);
  });
});

// This package's ids; the others are registered (and checked) by @cnn/models-efficient.
const own = new Set(listModels());
const entries = PRETRAINED_TABLE.filter((e) => own.has(e.id));

describe("each entry's key map onto our model, against the upstream layout", () => {
  it('covers the ids of this package', () => {
    expect(entries.map((e) => e.id)).toEqual(expect.arrayContaining(['alexnet', 'googlenet', 'vgg19_bn', 'resnet152']));
  });
  // one model per (id, options, key map): the versions of one id share the layout
  const groups = new Map<string, typeof entries>();
  for (const e of entries) {
    const g = `${layoutOf(e)} ${e.keyMap} ${JSON.stringify(e.modelOptions ?? {})}`;
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  for (const [g, es] of groups) {
    const e = es[0];
    it(`${g}: ${es.map((x) => x.name).join(', ')}`, { timeout: 120_000 }, async () => {
      await setBackend('wasm');
      const dropped = expectKeyMapFits(() => getModel(e.id, { numClasses: 1000, ...e.modelOptions }), e, /^aux[12]\./);
      if (e.id === 'googlenet') expect(dropped.length).toBeGreaterThan(0);
    });
  }
});

describe(`logits equal PyTorch's through the key map (torch ${fixture.torch}, torchvision ${fixture.torchvision})`, () => {
  for (const c of fixture.cases.filter((x) => own.has(x.layout.split(':')[1]))) {
    it(`${c.case} (${c.layout}, key map ${c.keyMap}, ${JSON.stringify(c.modelOptions)})`, {
      timeout: 120_000,
    }, async () => {
      await setBackend('wasm');
      expectCaseLogits(() => getModel(c.case, { numClasses: 1000, ...c.modelOptions }), c);
    });
  }

  it('a googlenet without transformInput gives other logits for the same weights (the option is what matches)', async () => {
    await setBackend('wasm');
    const c = fixture.cases.find((x) => x.case === 'googlenet');
    expect(c).toBeDefined();
    const model = getModel('googlenet', { numClasses: 1000 });
    try {
      const r = runCase(model, c!, KEY_MAPS[c!.keyMap]);
      expect(relErr(r.got, r.want).rel).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }
  }, 120_000);
});
