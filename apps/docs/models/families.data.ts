/**
 * The model family pages' data, computed when the site is built from the BUILT packages: each
 * family's models with their cards, and `summary(getModel(id), card.inputSize)` of the models a
 * page shows, run on the wasm backend in Node (the same call `cnn summary <id>` makes). The build
 * fails if a summary's parameter or MAC count disagrees with the model's card.
 */
import { defineLoader } from 'vitepress';
import { zooRow } from './cards';
import type { ZooRow } from './zoo.data';

/** One block of a summary: the layers whose names share a prefix (`layer1.0`, `features.3`, `inception4a`). */
export interface SummaryBlock {
  name: string;
  /** Layer types in the block, in call order, repeats collapsed (`Conv2d ×3, BatchNorm2d ×3, ReLU ×3`). */
  types: string;
  /** Output shape of the block's last layer. */
  outputShape: number[];
  params: number;
  macs: number;
}

export interface ModelSummaryData {
  id: string;
  inputShape: number[];
  outputShape: number[];
  totalParams: number;
  totalMacs: number;
  /** Computing layers (rows of the full table). */
  layers: number;
  blocks: SummaryBlock[];
  /** `String(summary(...))`: the full per-layer table. */
  table: string;
}

export interface FamilyData {
  /** The page's name under models/ (`resnet`, `resnext`, ...). */
  page: string;
  models: ZooRow[];
}

export interface FamiliesData {
  families: Record<string, FamilyData>;
  summaries: Record<string, ModelSummaryData>;
}

declare const data: FamiliesData;
export { data };

/** The models whose summary a page prints: the smallest of each kind of block the page explains. */
export const SUMMARY_IDS = [
  'lenet5',
  'alexnet',
  'vgg11',
  'googlenet',
  'resnet18',
  'resnet50',
  'resnext50_32x4d',
  'seresnet50',
  'mobilenet_v1',
  'mobilenet_v2',
  'mobilenet_v3_small',
  'shufflenet_v1_x1_0_g3',
  'shufflenet_v2_x1_0',
];

/** `layer1.0.conv1` -> `layer1.0`; `features.3` -> `features.3`; `inception4a.branch2.0.conv` -> `inception4a`; `fc` -> `fc`. */
function blockOf(name: string): string {
  const parts = name.split('.');
  const firstIndex = parts.findIndex((p) => /^\d+$/.test(p));
  return firstIndex < 0 ? parts[0] : parts.slice(0, firstIndex + 1).join('.');
}

function collapse(types: string[]): string {
  const out: Array<[string, number]> = [];
  for (const t of types) {
    const last = out[out.length - 1];
    if (last && last[0] === t) last[1]++;
    else out.push([t, 1]);
  }
  return out.map(([t, n]) => (n > 1 ? `${t} ×${n}` : t)).join(', ');
}

export default defineLoader({
  async load(): Promise<FamiliesData> {
    const m = await import('@cnn/models-efficient');
    await m.setBackend('wasm');
    const families: Record<string, FamilyData> = {};
    for (const id of m.listModels()) {
      const row = zooRow(m, id);
      (families[row.page] ??= { page: row.page, models: [] }).models.push(row);
    }
    for (const f of Object.values(families)) f.models.sort((a, b) => a.macs - b.macs || a.id.localeCompare(b.id));

    const summaries: Record<string, ModelSummaryData> = {};
    for (const id of SUMMARY_IDS) {
      const card = m.getCard(id);
      m.manualSeed(0);
      const net = m.getModel(id);
      try {
        const s = m.summary(net, card.inputSize);
        if (s.totalParams !== card.params || s.totalMacs !== card.macs) {
          throw new Error(
            `families.data: summary of ${id} counts ${s.totalParams} params / ${s.totalMacs} MACs, its card says ${card.params} / ${card.macs}`,
          );
        }
        const blocks: SummaryBlock[] = [];
        const types = new Map<SummaryBlock, string[]>();
        for (const row of s.rows) {
          const name = blockOf(row.name);
          let b = blocks[blocks.length - 1];
          if (!b || b.name !== name) {
            b = { name, types: '', outputShape: [], params: 0, macs: 0 };
            blocks.push(b);
            types.set(b, []);
          }
          types.get(b)!.push(row.type);
          b.outputShape = row.outputShape;
          b.params += row.params;
          b.macs += row.macs;
        }
        for (const b of blocks) b.types = collapse(types.get(b)!);
        summaries[id] = {
          id,
          inputShape: s.inputShape,
          outputShape: s.outputShape,
          totalParams: s.totalParams,
          totalMacs: s.totalMacs,
          layers: s.rows.length,
          blocks,
          table: String(s),
        };
      } finally {
        net.dispose();
      }
    }
    return { families, summaries };
  },
});
