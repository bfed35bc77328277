// The Trainer's terminal output: a single-line progress bar redrawn with '\r', one line per epoch, or nothing.
import type { EpochRecord } from './trainer';

/** How the {@link Trainer} reports progress: a redrawn bar, one line per epoch, or nothing. */
export type TrainerLog = 'bar' | 'lines' | 'quiet';

/** The state of an epoch in progress, as the bar shows it. */
export interface ProgressState {
  /** Current epoch, from 1. */
  epoch: number;
  /** Epochs of the fit. */
  epochs: number;
  /** Steps done in this epoch. */
  step: number;
  /** Steps in the epoch, when the loader knows. */
  total?: number;
  /** Running mean loss of the epoch. */
  loss: number;
  /** Running accuracy of the epoch. */
  acc: number;
  /** Training throughput so far. */
  imagesPerSecond: number;
  /** Seconds since the epoch began. */
  elapsed: number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

/**
 * The one line per epoch of `log: 'lines'` (and the line a finished bar leaves), for example
 * `epoch 1/5  loss 0.6931  acc 0.7500  val_loss 0.5012  val_top1 0.8120  val_top5 0.9910  lr 1.00e-3  5120 img/s  3.2s`.
 * `topk` names `valTop5` for models of fewer than 5 classes (`val_top2` for 2 classes: min(5, classes)).
 */
export function formatEpochLine(r: EpochRecord, epochs: number, topk = 5): string {
  const parts = [`epoch ${r.epoch}/${epochs}`, `loss ${r.trainLoss.toFixed(4)}`, `acc ${r.trainAcc.toFixed(4)}`];
  if (r.valLoss !== undefined) parts.push(`val_loss ${r.valLoss.toFixed(4)}`);
  if (r.valTop1 !== undefined) parts.push(`val_top1 ${r.valTop1.toFixed(4)}`);
  if (r.valTop5 !== undefined) parts.push(`val_top${topk} ${r.valTop5.toFixed(4)}`);
  parts.push(`lr ${r.lr.toExponential(2)}`, `${Math.round(r.imagesPerSecond)} img/s`, `${r.seconds.toFixed(1)}s`);
  return parts.join('  ');
}

/** The progress bar line, for example `epoch 1/5 [=======>      ] 12/47  loss 0.6931  acc 0.7500  5120 img/s  ETA 0:05`. */
export function formatBar(s: ProgressState): string {
  let head = `epoch ${s.epoch}/${s.epochs} `;
  if (s.total !== undefined && s.total > 0) {
    const frac = Math.min(1, s.step / s.total);
    const filled = Math.round(frac * BAR_WIDTH);
    const bar =
      filled >= BAR_WIDTH
        ? '='.repeat(BAR_WIDTH)
        : '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(BAR_WIDTH - filled);
    head += `[${bar}] ${s.step}/${s.total}`;
  } else {
    head += `step ${s.step}`;
  }
  const parts = [
    head,
    `loss ${s.loss.toFixed(4)}`,
    `acc ${s.acc.toFixed(4)}`,
    `${Math.round(s.imagesPerSecond)} img/s`,
  ];
  if (s.total !== undefined && s.step > 0) {
    const eta = Math.max(0, ((s.total - s.step) * s.elapsed) / s.step);
    parts.push(`ETA ${fmtDuration(eta)}`);
  }
  return parts.join('  ');
}

/** `m:ss`, or `h:mm:ss` from an hour. */
function fmtDuration(seconds: number): string {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Writes the trainer's progress in one of the {@link TrainerLog} modes. */
export class ProgressPrinter {
  private lastDraw = -Infinity;
  private drawnWidth = 0;

  /** @param mode what to print; @param write where it goes; @param topk the k of the top-k column (min(5, classes)). */
  constructor(
    readonly mode: TrainerLog,
    private readonly write: (s: string) => void,
    private readonly topk = 5,
  ) {}

  /** A new epoch: the bar starts over. */
  epochBegin(): void {
    this.lastDraw = -Infinity;
    this.drawnWidth = 0;
  }

  /** After a step: redraws the bar (at most every 100 ms, and always on the last step). */
  step(s: ProgressState): void {
    if (this.mode !== 'bar') return;
    const t = Date.now();
    const last = s.total !== undefined && s.step >= s.total;
    if (!last && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.draw(formatBar(s));
  }

  /** After an epoch: the bar is replaced by the epoch's line, or the line is printed. */
  epochEnd(r: EpochRecord, epochs: number): void {
    if (this.mode === 'quiet') return;
    const line = formatEpochLine(r, epochs, this.topk);
    if (this.mode === 'bar') {
      this.draw(line);
      this.write('\n');
      this.drawnWidth = 0;
    } else {
      this.write(`${line}\n`);
    }
  }

  /** Training failed: ends a half-drawn bar so that the error starts on its own line. */
  abort(): void {
    if (this.drawnWidth > 0) this.write('\n');
    this.drawnWidth = 0;
  }

  private draw(line: string): void {
    const pad = Math.max(0, this.drawnWidth - line.length);
    this.write(`\r${line}${' '.repeat(pad)}`);
    this.drawnWidth = line.length;
  }
}
