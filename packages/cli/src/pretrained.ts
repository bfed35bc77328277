// `--pretrained <id>` for `cnn predict` and `cnn list --pretrained`: the zoo's pretrained weights (published
// ImageNet-1k files, downloaded on first use with a progress bar on stderr, and the shipped Fashion-MNIST files).
import {
  PretrainedError,
  listModels,
  listPretrained,
  loadPretrained,
  type ImageClassifier,
  type PretrainedProgress,
} from '@cnn/models-efficient';
import { UsageError, quote, table } from './args';

/** Ids that have pretrained weights of any kind, sorted. */
export function idsWithWeights(): string[] {
  return [...new Set(listPretrained().map((w) => w.id))].sort();
}

/**
 * A progress bar on stderr for a download: redrawn in place on a terminal (at most every 100 ms), a line per 10%
 * otherwise (CI logs), and a last line when done.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): (p: PretrainedProgress) => void {
  let last = 0;
  let lastTenth = -1;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => {
    const done = p.total !== undefined && p.loaded >= p.total;
    const now = Date.now();
    const name = p.url.slice(p.url.lastIndexOf('/') + 1);
    if (p.total === undefined) {
      if (stream.isTTY && (now - last > 100 || done)) {
        stream.write(`\rdownloading ${name}: ${mb(p.loaded)} MB`);
        last = now;
      }
      return;
    }
    const frac = p.total === 0 ? 1 : p.loaded / p.total;
    const line = `downloading ${name} [${'#'.repeat(Math.round(frac * 30)).padEnd(30)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(p.loaded)}/${mb(p.total)} MB`;
    if (stream.isTTY) {
      if (now - last > 100 || done) {
        stream.write(`\r${line}${done ? '\n' : ''}`);
        last = now;
      }
    } else {
      const tenth = Math.floor(frac * 10);
      if (tenth !== lastTenth) {
        stream.write(`${line}\n`);
        lastTenth = tenth;
      }
    }
  };
}

/** `loadPretrained` for the command line: a weights name the id does not have, or an id without any, is a UsageError. */
export async function openPretrained(id: string, weights: string | undefined): Promise<ImageClassifier> {
  if (!listModels().includes(id)) throw new UsageError(`unknown model ${quote(id)}; run 'cnn list' to see the ids`);
  const have = listPretrained(id);
  if (have.length === 0)
    throw new UsageError(
      `no pretrained weights for ${quote(id)}; --pretrained takes ${idsWithWeights().join(', ')} (see cnn list --pretrained)`,
    );
  if (weights !== undefined && !have.some((w) => w.name === weights))
    throw new UsageError(
      `--weights ${quote(weights)}: ${quote(id)} has ${have.map((w) => w.name).join(', ')} (see cnn list --pretrained)`,
    );
  try {
    return await loadPretrained(id, { weights, onProgress: progressBar() });
  } catch (e) {
    if (e instanceof PretrainedError && e.kind === 'options') throw new UsageError(e.message);
    throw e;
  }
}

/** The table of `cnn list --pretrained [pattern]`: which ids have which weights. */
export function pretrainedTable(pattern: string | undefined): string {
  const ids = new Set(listModels(pattern));
  const rows = listPretrained()
    .filter((w) => ids.has(w.id))
    .map((w) => [
      w.id,
      w.name,
      w.source,
      w.dataset,
      `${w.top1.toFixed(2)}%`,
      w.top5 === undefined ? '-' : `${w.top5.toFixed(2)}%`,
      w.verified ? 'yes' : 'no',
      w.file,
    ]);
  const none = [...ids].filter((id) => !rows.some((r) => r[0] === id));
  const out = [table(['model', 'weights', 'source', 'dataset', 'top-1', 'top-5', 'verified', 'file'], rows)];
  if (none.length > 0) out.push('', `no pretrained weights: ${none.join(', ')}`);
  out.push(
    '',
    'ImageNet weights download on first use into $CNN_HOME/weights (default ~/.cache/cnn/weights); verified = key map tested against the upstream layout.',
  );
  return out.join('\n');
}
