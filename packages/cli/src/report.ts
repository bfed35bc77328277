// What `cnn train` shows of a run: the loss and accuracy curves of the run folder, and the final lines.
import { lineChartSvg } from '@cnn/train';
import type { BestSoFar, LoggedRecord } from './run-folder';

/** loss.svg and accuracy.svg of a history (train and test curves per epoch). */
export function curves(history: readonly LoggedRecord[]): Array<[string, string]> {
  const xs = (f: (r: LoggedRecord) => number | undefined): Array<[number, number]> =>
    history.map((r) => [r.epoch, f(r) ?? NaN]);
  return [
    [
      'loss.svg',
      lineChartSvg(
        [
          { name: 'train loss', points: xs((r) => r.trainLoss) },
          { name: 'test loss', points: xs((r) => r.valLoss) },
        ],
        { title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy' },
      ),
    ],
    [
      'accuracy.svg',
      lineChartSvg(
        [
          { name: 'train top-1', points: xs((r) => r.trainAcc) },
          { name: 'test top-1', points: xs((r) => r.valTop1) },
        ],
        { title: 'Accuracy', xLabel: 'epoch', yLabel: 'top-1 accuracy' },
      ),
    ],
  ];
}

/**
 * How the Trainer's `top5` is named for a model of `numClasses`: top-k with k = min(5, classes), since with 5 classes
 * or fewer every image counts as a top-5 hit (a 2-class model's "top-5" is its top-2, always 1).
 */
export function topkLabel(numClasses: number): string {
  return `top-${Math.min(5, numClasses)}`;
}

/** The final lines: test accuracy, the best epoch, the training time (of the epochs whose timing was logged). */
export function finalLines(
  result: { top1: number; top5: number; loss: number },
  history: readonly LoggedRecord[],
  epoch: number,
  best: BestSoFar,
  dir: string,
  numClasses: number,
): string[] {
  const timed = history.filter(
    (r) => r.seconds !== undefined && r.imagesPerSecond !== undefined && r.imagesPerSecond > 0,
  );
  const seconds = timed.reduce((a, r) => a + r.seconds!, 0);
  const trainSeconds = timed.reduce((a, r) => a + r.images / r.imagesPerSecond!, 0);
  const ips = trainSeconds > 0 ? timed.reduce((a, r) => a + r.images, 0) / trainSeconds : 0;
  const untimed = history.length - timed.length;
  return [
    `test accuracy: ${result.top1.toFixed(4)} (${topkLabel(numClasses)} ${result.top5.toFixed(4)}, loss ${result.loss.toFixed(4)}) after ${epoch} epochs; best ${best.top1.toFixed(4)} at epoch ${best.epoch}`,
    `training: ${seconds.toFixed(1)} s in all epochs${untimed ? ` (${untimed} without timing)` : ''}, ${ips.toFixed(0)} images/s; run folder: ${dir}`,
  ];
}
