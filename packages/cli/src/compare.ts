// `cnn compare <run> <run>...`: the loss and accuracy curves of several run folders on one picture (as TensorBoard
// puts runs side by side), drawn with @cnn/train's lineChartSvg, and a table of each run's best and last epoch.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { CHART_COLOURS, lineChartSvg, type ChartSeries } from '@cnn/train';
import { UsageError, parse, quote, str, table } from './args';
import { RUN_FILES, parseRecord, type LoggedRecord } from './run-folder';

/** The most runs one picture compares: as many as the palette has colours. */
export const COMPARE_MAX_RUNS = CHART_COLOURS.length;
/** The largest metrics.jsonl read (64 MiB; a run of 100,000 epochs writes about 30 MB). */
export const COMPARE_MAX_METRICS_BYTES = 64 * 1024 * 1024;

export const HELP_COMPARE = `Usage: cnn compare <run> <run>... [--out <file.svg>] [--names a,b,...]

Draws the loss and accuracy curves of run folders (written by cnn train) on one picture: one colour per run, the
test curve solid and the training curve dashed; prints each run's best test top-1 and its last epoch.

Options:
  --out <file.svg>         where the picture goes (default compare.svg in the current folder)
  --names <a,b,...>        the runs' names in the legend (default: their folder names)`;

/** One run's epochs, read from its metrics.jsonl. */
interface RunCurves {
  name: string;
  dir: string;
  history: LoggedRecord[];
}

function readRun(arg: string): RunCurves {
  const p = resolve(arg);
  if (!existsSync(p)) throw new UsageError(`cnn compare: ${quote(arg)} does not exist`);
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  const file = resolve(dir, RUN_FILES.metrics);
  if (!existsSync(file) || !statSync(file).isFile())
    throw new UsageError(`cnn compare: ${quote(arg)} has no ${RUN_FILES.metrics}; is it a cnn train run folder?`);
  const size = statSync(file).size;
  if (size > COMPARE_MAX_METRICS_BYTES)
    throw new UsageError(
      `cnn compare: ${file} is ${size} bytes, more than the ${COMPARE_MAX_METRICS_BYTES} a run's metrics can be`,
    );
  const byEpoch = new Map<number, LoggedRecord>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const r = parseRecord(line);
    if (r && !byEpoch.has(r.epoch)) byEpoch.set(r.epoch, r);
  }
  if (byEpoch.size === 0) throw new UsageError(`cnn compare: ${file} holds no epoch yet`);
  return { name: basename(dir), dir, history: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch) };
}

/** The two charts side by side in one SVG. */
export function comparisonSvg(runs: ReadonlyArray<{ name: string; history: readonly LoggedRecord[] }>): string {
  const curve = (h: readonly LoggedRecord[], f: (r: LoggedRecord) => number | undefined): Array<[number, number]> =>
    h.map((r) => [r.epoch, f(r) ?? Number.NaN]);
  const series = (train: (r: LoggedRecord) => number | undefined, test: (r: LoggedRecord) => number | undefined) =>
    runs.flatMap((run, i): ChartSeries[] => {
      const colour = CHART_COLOURS[i % CHART_COLOURS.length]!;
      return [
        { name: `${run.name} test`, points: curve(run.history, test), colour },
        { name: `${run.name} train`, points: curve(run.history, train), colour, dashed: true },
      ];
    });
  const W = 640;
  const H = 420;
  const loss = lineChartSvg(
    series(
      (r) => r.trainLoss,
      (r) => r.valLoss,
    ),
    { title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy', width: W, height: H },
  );
  const acc = lineChartSvg(
    series(
      (r) => r.trainAcc,
      (r) => r.valTop1,
    ),
    { title: 'Accuracy', xLabel: 'epoch', yLabel: 'top-1 accuracy', width: W, height: H },
  );
  const inner = (svg: string, x: number) => svg.replace('<svg ', `<svg x="${x}" y="0" `);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}">`,
    inner(loss, 0),
    inner(acc, W),
    '</svg>',
  ].join('\n');
}

/** Runs `cnn compare`; returns the exit code. */
export async function cmdCompare(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, names: { type: 'string' } }, 'compare');
  if (values.help) {
    console.log(HELP_COMPARE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('cnn compare needs run folders, e.g. cnn compare runs/a runs/b');
  if (positionals.length > COMPARE_MAX_RUNS)
    throw new UsageError(
      `cnn compare draws at most ${COMPARE_MAX_RUNS} runs on one picture, got ${positionals.length}`,
    );
  const names = str(values, 'names')?.split(',');
  if (names && names.length !== positionals.length)
    throw new UsageError(`--names has ${names.length} names for ${positionals.length} runs`);
  const out = resolve(str(values, 'out') ?? 'compare.svg');
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`--out ${quote(out)} is a folder; give a file`);
  const runs = positionals.map(readRun);
  if (names) runs.forEach((r, i) => (r.name = names[i]!));
  // Two runs in folders of the same name (a/run, b/run) keep their parent's name too, so the legend tells them apart.
  for (const r of runs)
    if (!names && runs.filter((o) => o.name === r.name).length > 1) r.name = `${basename(dirname(r.dir))}/${r.name}`;
  writeFileSync(out, comparisonSvg(runs));
  const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
  const rows = runs.map((r) => {
    const last = r.history.at(-1)!;
    const best = r.history.reduce((a, b) => ((b.valTop1 ?? -1) > (a.valTop1 ?? -1) ? b : a));
    return [r.name, String(last.epoch), f(best.valTop1), String(best.epoch), f(last.valTop1), f(last.valLoss)];
  });
  console.log(table(['run', 'epochs', 'best test top-1', 'at epoch', 'last test top-1', 'last test loss'], rows));
  console.log(`curves: ${out}`);
  return 0;
}
