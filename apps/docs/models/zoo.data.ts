/**
 * The model zoo table, read at build time from the registry of the BUILT packages (the same
 * `listModels()` and `getCard()` an app calls), so the docs cannot disagree with the code. Used by
 * models/zoo.md and zh/models/zoo.md.
 */
import { defineLoader } from 'vitepress';
import { zooRow } from './cards';

export interface ZooRow {
  id: string;
  family: string;
  /** The family page that explains it, under models/ (`resnet`, `resnext`, `mobilenet`, ...). */
  page: string;
  params: number;
  macs: number;
  inputSize: [number, number, number];
  numClasses: number;
  /** The paper's title, e.g. 'Deep Residual Learning for Image Recognition'. */
  paperTitle: string;
  /** Its authors and year, e.g. 'He et al., 2015'. */
  paperCite: string;
  paperUrl: string;
  /** Weights `loadPretrained(id, { weights: name })` loads, best first (`listPretrained(id)`); empty for none. */
  weights: Array<{ name: string; source: string; dataset: string; top1: number; verified: boolean }>;
}

declare const data: ZooRow[];
export { data };

/** The seed's order of the families; any family added later goes after them. */
const FAMILY_ORDER = ['lenet', 'alexnet', 'vgg', 'googlenet', 'resnet', 'senet', 'mobilenet', 'shufflenet'];

export default defineLoader({
  async load(): Promise<ZooRow[]> {
    const m = await import('@cnn/models-efficient');
    const rank = (f: string) => (FAMILY_ORDER.includes(f) ? FAMILY_ORDER.indexOf(f) : FAMILY_ORDER.length);
    return m
      .listModels()
      .map((id) => zooRow(m, id))
      .sort(
        (a, b) =>
          rank(a.family) - rank(b.family) ||
          a.family.localeCompare(b.family) ||
          a.macs - b.macs ||
          a.id.localeCompare(b.id),
      );
  },
});
