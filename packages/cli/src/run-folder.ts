// The run folder of `cnn train` and the one protocol every write into it follows, so that a run killed at any
// moment (SIGKILL, power cut) leaves a folder that the next start or `--resume` puts right:
//
// 1. Whole files (config.json, the checkpoints, the pictures, eval.json) are written with writeFileAtomic: a
//    temporary file beside the target, flushed, renamed over it. A kill leaves the old file or the new one, and
//    possibly a hidden `.<name>.<pid>.<n>.tmp`, which the next start or resume removes.
// 2. Per-epoch logs (metrics.jsonl and summary.csv, each an EpochLog) get one whole line per
//    epoch, appended and flushed BEFORE the epoch's checkpoint is written. A kill can leave a torn last line, or
//    the line of an epoch whose checkpoint never landed: recovery cuts both.
// 3. last.safetensors is the commit point of an epoch: once it is renamed, epoch k is done. Its training state
//    holds every epoch's record (without the wall-clock fields), so recovery can rebuild any log line that is
//    missing. best.safetensors is written after last, with the very same bytes, when the epoch improved the best
//    test top-1; a kill between the two is repaired by copying last over best.
// 4. Pictures (loss.svg, accuracy.svg) are drawn from the logged history after the checkpoints, and redrawn by
//    recovery, so they never show an epoch the checkpoint does not have.
// 5. Recovery (`--resume`, or `--out` onto the folder of a run killed before its first checkpoint) runs before the
//    first new write: temporary files go, every log is cut (or completed) to exactly epochs 1..k of the checkpoint,
//    best is checked against the checkpoint's record of it, the pictures are redrawn.
//
// Nothing wall-clock goes into a checkpoint (times and speeds live in metrics.jsonl only), so a run killed and
// resumed writes the same last.safetensors and best.safetensors bytes as one that was never interrupted.
// One process per run folder: two runs writing the same folder at once are not supported.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { checkpointInfo, isTempFileName, removeTempFiles, writeFileAtomic, type EpochRecord } from '@cnn/train';
import { UsageError, quote } from './args';
import { killPoint, killWanted } from './test-hooks';

/** The files of a run folder. */
export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.csv',
  last: 'last.safetensors',
  best: 'best.safetensors',
  loss: 'loss.svg',
  accuracy: 'accuracy.svg',
  confusion: 'confusion-matrix.svg',
  eval: 'eval.json',
} as const;

/** What a write into the run folder is (the test hook CNN_TEST_KILL_AT counts writes per kind). */
export type WriteKind = 'config' | 'metrics' | 'summary' | 'last' | 'best' | 'picture' | 'eval';

/** The fields of an epoch's record that measure wall-clock time: logged, never stored in a checkpoint. */
const TIMING_FIELDS = ['seconds', 'imagesPerSecond'] as const;

/** An epoch's record as a checkpoint stores it: everything but the wall-clock fields. */
export type StoredRecord = Omit<EpochRecord, (typeof TIMING_FIELDS)[number]>;

/** An epoch's record as metrics.jsonl holds it: with its timing, unless recovery rebuilt it from a checkpoint. */
export type LoggedRecord = StoredRecord & Partial<Pick<EpochRecord, (typeof TIMING_FIELDS)[number]>>;

/** The record without its timing (key order kept, so the same record always gives the same bytes). */
export function storedRecord(record: LoggedRecord): StoredRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!(TIMING_FIELDS as readonly string[]).includes(k)) out[k] = v;
  return out as StoredRecord;
}

/** Whether `file` is a config.json that `cnn train` wrote: a JSON object naming at least the model and the dataset. */
function isRunConfig(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    return typeof c === 'object' && c !== null && typeof c.model === 'string' && typeof c.dataset === 'string';
  } catch {
    return false;
  }
}

/** The best epoch so far, as checkpoints store it. */
export interface BestSoFar {
  /** Its test top-1 (-1 before any epoch). */
  top1: number;
  /** The epoch (0 before any). */
  epoch: number;
}

/**
 * A log with one line per epoch in the run folder. Every log follows rule 2 of the protocol; recovery cuts each to
 * the checkpoint's epochs and rebuilds missing lines from the checkpoint's records.
 */
export interface EpochLog {
  /** The file's name in the run folder. */
  file: string;
  /** Its kind, for the test hook. */
  kind: WriteKind;
  /** Lines before the epochs (a CSV header), without the final newline; none when absent. */
  header?: string;
  /** An epoch's line (without the newline). Records rebuilt from a checkpoint lack the timing fields. */
  line(record: LoggedRecord): string;
  /** The epoch a line holds, or undefined for a line that is not one (torn, edited). */
  epochOf(line: string): number | undefined;
}

/** metrics.jsonl: one JSON record per epoch. */
export const METRICS_LOG: EpochLog = {
  file: RUN_FILES.metrics,
  kind: 'metrics',
  line: (record) => JSON.stringify(record),
  epochOf: (line) => parseRecord(line)?.epoch,
};

/** summary.csv's columns and the record field each holds (timm's names where timm has the column). */
const SUMMARY_COLUMNS: ReadonlyArray<[string, keyof LoggedRecord]> = [
  ['epoch', 'epoch'],
  ['train_loss', 'trainLoss'],
  ['train_top1', 'trainAcc'],
  ['eval_loss', 'valLoss'],
  ['eval_top1', 'valTop1'],
  ['eval_top5', 'valTop5'],
  ['lr', 'lr'],
  ['steps', 'steps'],
  ['images', 'images'],
  ['seconds', 'seconds'],
  ['images_per_second', 'imagesPerSecond'],
];

/**
 * summary.csv: a header, then one row per epoch (timm's file, for pandas or a spreadsheet); numbers at full precision,
 * an empty cell where the record has no value (the timing of an epoch rebuilt from a checkpoint).
 */
export const SUMMARY_LOG: EpochLog = {
  file: RUN_FILES.summary,
  kind: 'summary',
  header: SUMMARY_COLUMNS.map(([c]) => c).join(','),
  line: (record) =>
    SUMMARY_COLUMNS.map(([, k]) => {
      const v = record[k];
      return typeof v === 'number' ? String(v) : '';
    }).join(','),
  epochOf: (line) => {
    const cells = line.split(',');
    if (cells.length !== SUMMARY_COLUMNS.length || !/^[1-9]\d*$/.test(cells[0]!)) return undefined;
    return Number(cells[0]);
  },
};

/** The epoch record of a metrics.jsonl line, or undefined for a line that is not one (torn, edited). */
export function parseRecord(line: string): LoggedRecord | undefined {
  try {
    const r = JSON.parse(line) as LoggedRecord;
    return r !== null && typeof r === 'object' && Number.isInteger(r.epoch) && r.epoch >= 1 ? r : undefined;
  } catch {
    return undefined;
  }
}

/** What a checkpoint tells recovery. */
export interface CheckpointState {
  /** The file it was read from. */
  file: string;
  /** Its bytes. */
  bytes: Uint8Array;
  /** Epochs it completed. */
  epoch: number;
  /** Its records of epochs 1..epoch (empty for checkpoints written before records were kept). */
  history: StoredRecord[];
  /** The best epoch it knows of. */
  best: BestSoFar;
}

/** Options of {@link RunFolder}. */
export interface RunFolderOptions {
  /** Prints what recovery did (to stderr, in one line each). */
  notice: (line: string) => void;
  /** The pictures drawn from the history after each epoch: file name to SVG text. */
  pictures: (history: readonly LoggedRecord[]) => Array<[string, string]>;
  /** The per-epoch logs (default: metrics.jsonl alone). */
  logs?: readonly EpochLog[];
}

/** A run folder and its write protocol (see the head of this file). */
export class RunFolder {
  /** The folder. */
  readonly dir: string;
  /** The epochs logged so far, in order: exactly epochs 1..k of the last commit. */
  readonly history: LoggedRecord[] = [];
  private readonly logs: readonly EpochLog[];
  private readonly writes = new Map<string, number>();

  constructor(
    dir: string,
    private readonly options: RunFolderOptions,
  ) {
    this.dir = dir;
    this.logs = options.logs ?? [METRICS_LOG];
  }

  /** A file of the folder. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Checks that `dir` can take a new run, changing nothing: not a file, not a folder that holds a run (one with a
   * `last.safetensors`).
   */
  static checkNew(dir: string): void {
    if (existsSync(dir) && !statSync(dir).isDirectory())
      throw new UsageError(
        `--out ${quote(dir)} is a file, not a folder; give a folder for the run (it is created when missing)`,
      );
    let up = dirname(dir);
    while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
    if (existsSync(up) && !statSync(up).isDirectory())
      throw new UsageError(`--out ${quote(dir)} cannot be created: ${quote(up)} is a file, not a folder`);
    if (existsSync(join(dir, RUN_FILES.last))) {
      throw new UsageError(
        `--out ${quote(dir)} already holds a run; pick another folder, or continue it with --resume ${dir}`,
      );
    }
    // A config.json that is not a run's (a project's own) is never taken for a killed run's, so never removed.
    const config = join(dir, RUN_FILES.config);
    if (existsSync(config) && !isRunConfig(config)) {
      throw new UsageError(
        `--out ${quote(dir)} holds a ${RUN_FILES.config} that is not a cnn run's; pick another folder for the run`,
      );
    }
  }

  /**
   * Where `--resume <arg>` points: a run folder (its last.safetensors, or no checkpoint yet when it was killed before
   * its first one) or a checkpoint file inside one. Changes nothing.
   */
  static locate(arg: string): { dir: string; checkpoint: string | undefined } {
    const p = resolve(arg);
    if (!existsSync(p)) throw new UsageError(`--resume ${quote(arg)} does not exist`);
    const isDir = statSync(p).isDirectory();
    const dir = isDir ? p : dirname(p);
    if (!existsSync(join(dir, RUN_FILES.config))) {
      const killed = readdirSync(dir).some((f) => isTempFileName(f) && f.startsWith(`.${RUN_FILES.config}.`));
      if (killed) {
        throw new UsageError(
          `--resume ${quote(arg)}: the run there was killed before it wrote ${RUN_FILES.config}; start it again with its flags and --out ${dir} (the folder is reused)`,
        );
      }
      throw new UsageError(
        `--resume ${quote(arg)}: ${join(dir, RUN_FILES.config)} is missing; is this a cnn run folder?`,
      );
    }
    const last = join(dir, RUN_FILES.last);
    return { dir, checkpoint: isDir ? (existsSync(last) ? last : undefined) : p };
  }

  /**
   * Makes the folder ready for a new run (`--out`) and writes its config.json, then empty logs: creates the folder,
   * or reuses the folder of a run killed before its first checkpoint (its config.json and logs go), and removes
   * temporary files of killed writes.
   */
  async prepareNew(config: unknown): Promise<void> {
    RunFolder.checkNew(this.dir);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new UsageError(
        `--out ${quote(this.dir)} cannot be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    const temps = await removeTempFiles(this.dir);
    const stale = [RUN_FILES.config, ...this.logs.map((l) => l.file)].filter((f) => existsSync(this.path(f)));
    if (existsSync(this.path(RUN_FILES.config))) {
      for (const f of stale) rmSync(this.path(f), { force: true });
      this.options.notice(
        `reusing ${this.dir}: its run was killed before its first checkpoint (removed ${[...stale, ...plural(temps.length, 'temporary file')].join(', ')})`,
      );
    } else if (temps.length) {
      this.options.notice(`${this.dir}: removed ${plural(temps.length, 'temporary file')[0]} of a killed write`);
    }
    await this.writeConfig(config);
    await this.startLogs([]);
  }

  /**
   * Puts the folder of a killed or finished run right before it goes on from `ck` (undefined: from scratch, the run
   * was killed before its first checkpoint): see rule 5 of the protocol. Returns the history it goes on with.
   */
  async recover(ck: CheckpointState | undefined): Promise<LoggedRecord[]> {
    const temps = await removeTempFiles(this.dir);
    if (temps.length)
      this.options.notice(
        `${this.dir}: removed ${plural(temps.length, 'temporary file')[0]} of a killed write (${temps.slice(0, 3).join(', ')}${temps.length > 3 ? ', ...' : ''})`,
      );
    if (!ck) {
      await this.startLogs([]);
      return this.history;
    }
    const last = this.path(RUN_FILES.last);
    if (resolve(ck.file) !== last) {
      await this.writeFile('last', RUN_FILES.last, ck.bytes);
      this.options.notice(`${RUN_FILES.last} is now epoch ${ck.epoch} of ${ck.file}: the run goes on from there`);
    }
    for (const log of this.logs) await this.cutLog(log, ck);
    this.history.length = 0;
    this.history.push(...this.readHistory(ck));
    await this.checkBest(ck);
    this.dropStaleEvaluation(ck.epoch);
    await this.drawPictures();
    return this.history;
  }

  /** Writes config.json. */
  async writeConfig(config: unknown): Promise<void> {
    await this.writeFile('config', RUN_FILES.config, `${JSON.stringify(config, null, 2)}\n`);
  }

  /**
   * Commits an epoch: its line in every log, then last.safetensors (the commit), then best.safetensors (same bytes)
   * when it improved, then the pictures.
   */
  async commitEpoch(record: EpochRecord, checkpoint: Uint8Array, improved: boolean): Promise<void> {
    for (const log of this.logs) await this.appendLine(log.kind, log.file, log.line(record));
    await this.writeFile('last', RUN_FILES.last, checkpoint);
    if (improved) await this.writeFile('best', RUN_FILES.best, checkpoint);
    this.history.push(record);
    await this.drawPictures();
  }

  /** Writes the final evaluation: eval.json and confusion-matrix.svg. */
  async writeEvaluation(evaluation: unknown, confusionSvg: string): Promise<void> {
    await this.writeFile('picture', RUN_FILES.confusion, confusionSvg);
    await this.writeFile('eval', RUN_FILES.eval, `${JSON.stringify(evaluation, null, 2)}\n`);
  }

  /** Rule 1: a whole file, atomically. */
  async writeFile(kind: WriteKind, name: string, bytes: Uint8Array | string): Promise<void> {
    const n = this.count(kind);
    await writeFileAtomic(this.path(name), bytes, { onStage: (stage) => killPoint(kind, n, stage) });
    killPoint(kind, n, 'renamed');
  }

  /** Rule 2: one whole line appended to a log, flushed before the call returns. */
  async appendLine(kind: WriteKind, name: string, line: string): Promise<void> {
    if (line.includes('\n')) throw new Error(`RunFolder.appendLine: a ${name} line cannot hold a newline`);
    const n = this.count(kind);
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    const handle = await open(this.path(name), 'a');
    try {
      if (killWanted(kind, n, 'torn')) {
        await handle.write(bytes.subarray(0, bytes.length >> 1));
        await handle.sync();
        killPoint(kind, n, 'torn');
      }
      await handle.write(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    killPoint(kind, n, 'appended');
  }

  private count(kind: WriteKind): number {
    const n = (this.writes.get(kind) ?? 0) + 1;
    this.writes.set(kind, n);
    return n;
  }

  /** Every log as a new file: its header, and the lines of `history`. */
  private async startLogs(history: readonly LoggedRecord[]): Promise<void> {
    for (const log of this.logs) {
      const lines = [...(log.header !== undefined ? [log.header] : []), ...history.map((r) => log.line(r))];
      await this.writeFile(log.kind, log.file, lines.map((l) => `${l}\n`).join(''));
    }
    this.history.length = 0;
    this.history.push(...history);
  }

  /** Rule 5 for one log: exactly the lines of epochs 1..k, the logged ones kept, the missing ones rebuilt. */
  private async cutLog(log: EpochLog, ck: CheckpointState): Promise<void> {
    const file = this.path(log.file);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const pieces = text.split('\n');
    const torn = pieces.pop() !== '';
    const kept = new Map<number, string>();
    let dropped = 0;
    const body = log.header !== undefined && pieces[0] === log.header ? pieces.slice(1) : pieces;
    for (const line of body) {
      const e = log.epochOf(line);
      if (e !== undefined && e <= ck.epoch && !kept.has(e)) kept.set(e, line);
      else if (line.trim() !== '') dropped++;
    }
    const stored = new Map(ck.history.map((r) => [r.epoch, r]));
    const rebuilt: number[] = [];
    const missing: number[] = [];
    const lines: string[] = log.header !== undefined ? [log.header] : [];
    for (let e = 1; e <= ck.epoch; e++) {
      const line = kept.get(e);
      const record = stored.get(e);
      if (line !== undefined) lines.push(line);
      else if (record) {
        lines.push(log.line(record));
        rebuilt.push(e);
      } else missing.push(e);
    }
    const next = lines.map((l) => `${l}\n`).join('');
    if (next !== text) await this.writeFile(log.kind, log.file, next);
    const what: string[] = [];
    if (torn) what.push('cut a torn last line');
    if (dropped) what.push(`dropped ${plural(dropped, 'line')[0]} of epochs after ${ck.epoch} or not of this run`);
    if (rebuilt.length)
      what.push(
        `rebuilt epoch${rebuilt.length > 1 ? 's' : ''} ${rebuilt.join(', ')} from the checkpoint (without the timing)`,
      );
    if (missing.length)
      what.push(
        `cannot rebuild epoch${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the checkpoint keeps no records)`,
      );
    if (what.length) this.options.notice(`${log.file}: ${what.join('; ')}`);
  }

  /** The history after recovery: metrics.jsonl's records (timing included), the checkpoint's where a line is missing. */
  private readHistory(ck: CheckpointState): LoggedRecord[] {
    const file = this.path(RUN_FILES.metrics);
    const byEpoch = new Map<number, LoggedRecord>();
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const r = parseRecord(line);
        if (r && r.epoch <= ck.epoch && !byEpoch.has(r.epoch)) byEpoch.set(r.epoch, r);
      }
    }
    const stored = new Map(ck.history.map((r) => [r.epoch, r]));
    const out: LoggedRecord[] = [];
    for (let e = 1; e <= ck.epoch; e++) {
      const r = byEpoch.get(e) ?? stored.get(e);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Rule 3: best.safetensors must hold the checkpoint's best epoch. When that is the checkpoint's own epoch, best is
   * the same bytes as the checkpoint and is rewritten from it if it differs; a best from an epoch after the
   * checkpoint (a run rolled back to an earlier file) is first kept aside as `best-epoch<n>.safetensors`.
   */
  private async checkBest(ck: CheckpointState): Promise<void> {
    const file = this.path(RUN_FILES.best);
    const { epoch } = ck.best;
    if (epoch < 1) return;
    const same =
      existsSync(file) &&
      Buffer.from(readFileSync(file)).equals(Buffer.from(ck.bytes.buffer, ck.bytes.byteOffset, ck.bytes.byteLength));
    if (same) return;
    let held: number | undefined;
    if (existsSync(file)) {
      try {
        held = checkpointInfo(readFileSync(file)).epoch;
      } catch {
        held = undefined;
      }
      if (held === epoch && epoch !== ck.epoch) return;
      if (held !== undefined && held > ck.epoch) {
        const aside = `best-epoch${held}.safetensors`;
        renameSync(file, this.path(aside));
        this.options.notice(
          `${RUN_FILES.best} held epoch ${held}, after the checkpoint the run goes on from; kept as ${aside}`,
        );
      }
    }
    const had = !existsSync(file) ? 'nothing' : held === undefined ? 'no readable checkpoint' : `epoch ${held}`;
    if (epoch === ck.epoch) {
      await this.writeFile('best', RUN_FILES.best, ck.bytes);
      this.options.notice(
        `${RUN_FILES.best}: rewritten from the checkpoint, whose epoch ${epoch} is the best so far (the file held ${had})`,
      );
    } else {
      this.options.notice(
        `${RUN_FILES.best} should hold epoch ${epoch}, the best so far, but holds ${had}; the next epoch that beats test top-1 ${ck.best.top1} writes it again`,
      );
    }
  }

  /** eval.json and the confusion matrix of an epoch after the checkpoint (a run rolled back) are removed. */
  private dropStaleEvaluation(epoch: number): void {
    const file = this.path(RUN_FILES.eval);
    if (!existsSync(file)) return;
    let at: number | undefined;
    try {
      at = (JSON.parse(readFileSync(file, 'utf8')) as { epoch?: number }).epoch;
    } catch {
      at = undefined;
    }
    if (at !== undefined && at <= epoch) return;
    rmSync(file, { force: true });
    rmSync(this.path(RUN_FILES.confusion), { force: true });
    this.options.notice(
      `${RUN_FILES.eval} and ${RUN_FILES.confusion}: removed (they were of ${at === undefined ? 'an unreadable evaluation' : `epoch ${at}`}, after the checkpoint)`,
    );
  }

  private async drawPictures(): Promise<void> {
    if (this.history.length === 0) return;
    for (const [name, svg] of this.options.pictures(this.history)) await this.writeFile('picture', name, svg);
  }
}

function plural(n: number, what: string): string[] {
  return n === 0 ? [] : [`${n} ${what}${n === 1 ? '' : 's'}`];
}
