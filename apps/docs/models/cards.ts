// Helpers the data loaders share (models/zoo.data.ts, models/families.data.ts): how a card becomes a row.

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
