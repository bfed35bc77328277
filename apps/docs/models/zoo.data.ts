/**
 * The model zoo table, read at build time from the registry of the BUILT packages (the same
 * `listModels()` and `getCard()` an app calls), so the docs cannot disagree with the code. Used by
 * models/zoo.md and zh/models/zoo.md.
 */
import { defineLoader } from 'vitepress';

export interface ZooRow {
  id: string;
  family: string;
  params: number;
  macs: number;
  inputSize: [number, number, number];
  numClasses: number;
  /** The paper's title, e.g. 'Deep Residual Learning for Image Recognition'. */
  paperTitle: string;
  /** Its authors and year, e.g. 'He et al., 2015'. */
  paperCite: string;
  paperUrl: string;
}

declare const data: ZooRow[];
export { data };

/** The seed's order of the families; any family added later goes after them. */
const FAMILY_ORDER = ['lenet', 'alexnet', 'vgg', 'googlenet', 'resnet', 'senet', 'mobilenet', 'shufflenet'];

/** A card's "Title (Authors, Year), https://..." as title, citation and link. */
function splitPaper(paper: string): { paperTitle: string; paperCite: string; paperUrl: string } {
  const m = /^(.*?)\s*\(([^()]*\d{4})\)\s*,\s*(https?:\S+)$/.exec(paper);
  return m ? { paperTitle: m[1], paperCite: m[2], paperUrl: m[3] } : { paperTitle: paper, paperCite: paper, paperUrl: '' };
}

export default defineLoader({
  async load(): Promise<ZooRow[]> {
    const { listModels, getCard } = await import('@cnn/models-efficient');
    const rank = (f: string) => (FAMILY_ORDER.includes(f) ? FAMILY_ORDER.indexOf(f) : FAMILY_ORDER.length);
    return listModels()
      .map((id) => {
        const c = getCard(id);
        return { id, family: c.family, params: c.params, macs: c.macs, inputSize: c.inputSize, numClasses: c.numClasses, ...splitPaper(c.paper) };
      })
      .sort((a, b) => rank(a.family) - rank(b.family) || a.family.localeCompare(b.family) || a.macs - b.macs || a.id.localeCompare(b.id));
  },
});
