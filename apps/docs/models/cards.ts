// Helpers the data loaders share (models/zoo.data.ts, models/families.data.ts): how a card becomes a row.
import type { ZooRow } from './zoo.data';

/** What the loaders read from the built package: a card and the model's weights listing. */
interface ZooSource {
  getCard(id: string): {
    family: string;
    params: number;
    macs: number;
    inputSize: [number, number, number];
    numClasses: number;
    paper: string;
  };
  listPretrained(id: string): Array<{ name: string; source: string; dataset: string; top1: number; verified: boolean }>;
}

/** The zoo row of `id`: its card, and the weights `loadPretrained(id, { weights })` can load (best first). */
export function zooRow(m: ZooSource, id: string): ZooRow {
  const c = m.getCard(id);
  return {
    id,
    family: c.family,
    page: familyPage(id, c.family),
    params: c.params,
    macs: c.macs,
    inputSize: c.inputSize,
    numClasses: c.numClasses,
    weights: m.listPretrained(id).map((w) => ({
      name: w.name,
      source: w.source,
      dataset: w.dataset,
      top1: w.top1,
      verified: w.verified,
    })),
    ...splitPaper(c.paper),
  };
}

/**
 * The family page of a model: its card's family, except that ResNeXt (family `resnet` in the
 * registry, the same builder with groups) has a page of its own.
 */
export function familyPage(id: string, family: string): string {
  return family === 'resnet' && id.startsWith('resnext') ? 'resnext' : family;
}

/** A card's "Title (Authors, Year), https://..." as title, citation and link. */
export function splitPaper(paper: string): { paperTitle: string; paperCite: string; paperUrl: string } {
  const m = /^(.*?)\s*\(([^()]*\d{4})\)\s*,\s*(https?:\S+)$/.exec(paper);
  return m
    ? { paperTitle: m[1], paperCite: m[2], paperUrl: m[3] }
    : { paperTitle: paper, paperCite: paper, paperUrl: '' };
}
