/**
 * @cnn/train: the pieces of a training loop, with PyTorch's semantics so that runs compare with PyTorch's.
 *
 * - Loss: {@link crossEntropy} (label smoothing, class weights, soft targets for Mixup / CutMix).
 * - Optimizers: {@link SGD} (momentum, dampening, Nesterov, weight decay), {@link Adam}, {@link AdamW}; parameter
 *   groups without weight decay (`noDecayOn: 'bn_bias'`) or with their own learning rate (`groups`); {@link freeze}
 *   for fine-tuning (frozen parameters and normalisation statistics); `stateDict()` / `loadStateDict()` as plain data.
 * - Schedules: {@link StepLR}, {@link MultiStepLR}, {@link CosineAnnealingLR}, {@link LinearWarmup},
 *   {@link SequentialLR}, {@link withWarmup}, applied per epoch or per iteration by an {@link LRScheduler}.
 * - {@link clipGradNorm}; metrics: {@link accuracy} (top-k), {@link ConfusionMatrix} (precision, recall, F1).
 * - {@link Trainer}: `fit` / `evaluate` over any (async) iterable of batches, with callbacks, a progress bar or
 *   one line per epoch, top-1 / top-5 accuracy, a confusion matrix and a stop on non-finite loss; resumable
 *   (`initialEpoch`).
 * - Checkpoints: {@link saveCheckpoint} / {@link loadCheckpoint} (model, optimizer, schedule, epoch, random state in
 *   one safetensors file, written atomically); pictures: {@link lineChartSvg}, {@link confusionMatrixSvg}.
 *
 * @packageDocumentation
 * @module @cnn/train
 */
export { crossEntropy, type CrossEntropyOptions, type Reduction } from './loss';
export {
  Optimizer,
  type ParamsInput,
  type NoDecayRule,
  type Gradients,
  type BaseOptimizerOptions,
  type ParamGroup,
  type ParamGroupRule,
  type ParamEntry,
  type ParamState,
  type LiveState,
  type FusedItem,
  type OptimizerStateDict,
} from './optim/optimizer';
export { SGD, type SGDOptions } from './optim/sgd';
export { Adam, AdamW, type AdamOptions } from './optim/adam';
export {
  StepLR,
  MultiStepLR,
  CosineAnnealingLR,
  LinearWarmup,
  SequentialLR,
  withWarmup,
  LRScheduler,
  type LRSchedule,
  type LRTarget,
  type ScheduleUnit,
  type LRSchedulerOptions,
  type LRSchedulerState,
  type StepLROptions,
  type MultiStepLROptions,
  type CosineAnnealingLROptions,
  type LinearWarmupOptions,
} from './schedule';
export { clipGradNorm, type GradientSet, type ClipGradNormOptions } from './clip';
export { accuracy, topkCorrect, ConfusionMatrix, type ClassScores, type ConfusionMatrixOptions } from './metrics';
export type { HostArray, Labels } from './host';
export {
  Trainer,
  type TrainerOptions,
  type TrainerBatch,
  type BatchSource,
  type TrainerLoss,
  type TrainerCallbacks,
  type StepInfo,
  type EpochRecord,
  type EvaluateResult,
  type FitOptions,
  type TrainerLog,
} from './trainer';
export { freeze, unfreeze, type FreezeResult } from './freeze';
export { formatEpochLine, formatBar, type ProgressState } from './trainer-progress';
export {
  encodeCheckpoint,
  checkpointInfo,
  restoreCheckpoint,
  saveCheckpoint,
  loadCheckpoint,
  writeFileAtomic,
  removeTempFiles,
  isTempFileName,
  CHECKPOINT_META_KEY,
  OPTIMIZER_PREFIX,
  CHECKPOINT_MAX_STATE_DEPTH,
  type CheckpointParts,
  type CheckpointInfo,
  type RestoreTargets,
  type WriteFileAtomicOptions,
  type AtomicWriteStage,
} from './checkpoint';
/** The error every checkpoint reader and restore throws (from @cnn/layers), so `instanceof` needs no second import. */
export { CheckpointError } from '@cnn/layers';
export {
  lineChartSvg,
  confusionMatrixSvg,
  niceTicks,
  CHART_COLOURS,
  type ChartSeries,
  type LineChartOptions,
} from './plots';
