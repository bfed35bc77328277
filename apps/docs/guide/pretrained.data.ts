/**
 * The pretrained weights table, read at build time from the BUILT packages (`listPretrained()`, the same call an app
 * makes), so the page cannot disagree with the code. Used by guide/pretrained.md and zh/guide/pretrained.md.
 */
import { defineLoader } from 'vitepress';

export interface PretrainedRow {
  id: string;
  name: string;
  source: string;
  dataset: string;
  top1: number;
  top5?: number;
  license: string;
  file: string;
  verified: boolean;
}

export interface PretrainedData {
  rows: PretrainedRow[];
  /** Ids with no pretrained weights at all. */
  none: string[];
}

declare const data: PretrainedData;
export { data };

export default defineLoader({
  async load(): Promise<PretrainedData> {
    const { listModels, listPretrained } = await import('@cnn/models-efficient');
    const rows = listPretrained().map((w) => ({
      id: w.id,
      name: w.name,
      source: w.source,
      dataset: w.dataset,
      top1: w.top1,
      ...(w.top5 === undefined ? {} : { top5: w.top5 }),
      license: w.license,
      file: w.file,
      verified: w.verified,
    }));
    const have = new Set(rows.map((r) => r.id));
    return { rows, none: listModels().filter((id) => !have.has(id)) };
  },
});
