// Training checkpoints: one safetensors file that holds the model's weights (PyTorch's keys and layouts, so the
// file also loads as plain weights), the optimizer's buffers under `__optimizer__/`, and the rest of the training
// state (epoch, step, schedule, random state, the caller's extras) as JSON in the header. Written atomically in Node.
import {
  CheckpointError,
  checkWeights,
  clipText,
  jsonPreview,
  jsonTooDeepAt,
  readFileBytes,
  readSafetensors,
  saveWeights,
  writeSafetensors,
  type Module,
  type RawTensor,
} from '@cnn/layers';
import type { Optimizer, OptimizerStateDict, ParamState } from './optim/optimizer';
import { schedulerStateProblem, type LRScheduler, type LRSchedulerState } from './schedule';
import { isRecord } from './host';

/** The safetensors metadata key that marks a training checkpoint and holds its JSON state. */
export const CHECKPOINT_META_KEY = 'cnn.training';
/** Prefix of the optimizer's buffers among the checkpoint's tensors (plain weight loaders skip these keys). */
export const OPTIMIZER_PREFIX = '__optimizer__/';
/**
 * The deepest the training state's JSON (under {@link CHECKPOINT_META_KEY}) may nest, objects and arrays: 64. The
 * state itself nests 5 deep, the rest is the caller's `extra`. Checked by a linear scan of the text before it is
 * parsed (`jsonTooDeepAt` of `@cnn/layers`), so a crafted header nesting 200,000 deep is refused with a
 * `CheckpointError` instead of overflowing the stack later; {@link encodeCheckpoint} refuses to write deeper.
 */
export const CHECKPOINT_MAX_STATE_DEPTH = 64;

/** What {@link encodeCheckpoint} and {@link saveCheckpoint} save. */
export interface CheckpointParts {
  /** The model: its parameters and buffers. */
  model: Module;
  /** Its optimizer (hyperparameters, groups, step counts and buffers). */
  optimizer?: Optimizer;
  /** Its learning-rate scheduler. */
  scheduler?: LRScheduler;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken (the Trainer's `globalStep`). */
  globalStep?: number;
  /** The parameter-initialisation generator's state (`getRandomState()` of `@cnn/layers`). */
  randomState?: number;
  /**
   * Anything else JSON-serialisable to keep with it (configuration, metrics, class names...). Stored as given:
   * leave wall-clock values (times, speeds) out of it, and two checkpoints of the same state are the same bytes.
   * The whole state may nest at most {@link CHECKPOINT_MAX_STATE_DEPTH} deep (the extras from the third level on).
   */
  extra?: Record<string, unknown>;
  /** Extra string metadata for the file's header (e.g. `cnn.model` for the model's description). */
  metadata?: Record<string, string>;
}

/** The training state a checkpoint holds besides the tensors, as {@link checkpointInfo} reads it. */
export interface CheckpointInfo {
  /** Format version (1). */
  version: number;
  /** Epochs completed when it was saved. */
  epoch: number;
  /** Optimizer steps taken when it was saved. */
  globalStep: number;
  /** The parameter-initialisation generator's state, when saved (restore it with `setRandomState`). */
  randomState?: number;
  /** The scheduler's state, when one was saved. */
  scheduler?: LRSchedulerState;
  /** The optimizer's kind (`'SGD'`, `'Adam'`, `'AdamW'`), when one was saved. */
  optimizer?: string;
  /** The caller's extras, as saved (`{}` when none). */
  extra: Record<string, unknown>;
  /** The file's whole header metadata. */
  metadata: Record<string, string>;
}

interface StoredState {
  version: 1;
  epoch: number;
  globalStep: number;
  randomState?: number;
  scheduler?: LRSchedulerState;
  optimizer?: Omit<OptimizerStateDict, 'state'> & { state: Record<string, { step: number; buffers: string[] }> };
  extra: Record<string, unknown>;
}

function checkEpoch(op: string, epoch: unknown): void {
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0)
    throw new Error(`${op}: epoch must be a non-negative integer, got ${jsonPreview(epoch)}`);
}

/**
 * The checkpoint's bytes: a safetensors file whose tensors are the model's state dict in PyTorch's layout (as
 * `saveWeights` writes it) plus the optimizer's buffers under {@link OPTIMIZER_PREFIX}, and whose header holds
 * the rest of the training state under {@link CHECKPOINT_META_KEY}. `loadWeights` (of `@cnn/layers`) reads the
 * file as plain weights; PyTorch's `load_state_dict(strict=False)` does too.
 */
export function encodeCheckpoint(parts: CheckpointParts): Uint8Array {
  if (!parts?.model || typeof parts.model.stateDict !== 'function')
    throw new Error('encodeCheckpoint: model must be a Module');
  checkEpoch('encodeCheckpoint', parts.epoch);
  const weights = readSafetensors(saveWeights(parts.model));
  const tensors = new Map<string, RawTensor>(weights.tensors);
  const state: StoredState = {
    version: 1,
    epoch: parts.epoch,
    globalStep: parts.globalStep ?? 0,
    extra: parts.extra ?? {},
  };
  if (parts.randomState !== undefined) state.randomState = parts.randomState;
  if (parts.scheduler) state.scheduler = parts.scheduler.state();
  if (parts.optimizer) {
    const dict = parts.optimizer.stateDict();
    const stored: Record<string, { step: number; buffers: string[] }> = {};
    for (const [name, s] of Object.entries(dict.state)) {
      stored[name] = { step: s.step, buffers: Object.keys(s.buffers) };
      for (const [k, b] of Object.entries(s.buffers)) {
        tensors.set(`${OPTIMIZER_PREFIX}${name}/${k}`, {
          dtype: 'float32',
          shape: [...b.shape],
          data: Float32Array.from(b.data),
        });
      }
    }
    state.optimizer = { ...dict, state: stored };
  }
  const json = JSON.stringify(state);
  const deep = jsonTooDeepAt(json, CHECKPOINT_MAX_STATE_DEPTH);
  if (deep >= 0)
    throw new CheckpointError(
      `encodeCheckpoint: the training state nests deeper than ${CHECKPOINT_MAX_STATE_DEPTH} levels (CHECKPOINT_MAX_STATE_DEPTH); flatten extra`,
    );
  const metadata: Record<string, string> = { ...weights.metadata, ...parts.metadata, [CHECKPOINT_META_KEY]: json };
  return writeSafetensors(tensors, metadata);
}

/**
 * The training state of a checkpoint's header, checked: its JSON nests at most {@link CHECKPOINT_MAX_STATE_DEPTH}
 * deep (checked before it is parsed), and every field the readers use has its type. What the optimizer's and the
 * scheduler's states hold beyond that is checked against the optimizer and scheduler they are restored into.
 */
function storedState(metadata: Record<string, string>, where: string): StoredState {
  const fail = (message: string, cause?: unknown): never => {
    throw new CheckpointError(`${where}: ${message}`, cause === undefined ? {} : { cause });
  };
  const raw = metadata[CHECKPOINT_META_KEY];
  if (raw === undefined)
    fail(
      `not a training checkpoint (no '${CHECKPOINT_META_KEY}' entry in its header); plain weights load with loadWeights()`,
    );
  const entry = `the '${CHECKPOINT_META_KEY}' header entry`;
  const deep = jsonTooDeepAt(raw, CHECKPOINT_MAX_STATE_DEPTH);
  if (deep >= 0)
    fail(
      `${entry} nests deeper than ${CHECKPOINT_MAX_STATE_DEPTH} levels (at character ${deep}), the CHECKPOINT_MAX_STATE_DEPTH limit`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    fail(`${entry} is not valid JSON (${clipText((e as Error).message, 200)})`, e);
  }
  if (!isRecord(parsed)) return fail(`${entry} is ${jsonPreview(parsed)}, not a JSON object`);
  const s = parsed;
  if (s.version !== 1)
    fail(`checkpoint format version ${jsonPreview(s.version)} is not supported (this build reads version 1)`);
  const field = (name: string, what: string): never =>
    fail(`${entry} has ${name} ${jsonPreview(s[name])}, not ${what}`);
  for (const name of ['epoch', 'globalStep'])
    if (!Number.isSafeInteger(s[name]) || (s[name] as number) < 0) field(name, 'a non-negative integer');
  if (s.randomState !== undefined && !Number.isSafeInteger(s.randomState)) field('randomState', 'an integer');
  if (s.extra !== undefined && !isRecord(s.extra)) field('extra', 'an object');
  if (s.scheduler !== undefined) {
    const problem = schedulerStateProblem(s.scheduler);
    if (problem !== null) fail(`${entry} has a scheduler state that is not one: ${problem}`);
  }
  if (s.optimizer !== undefined) {
    const o = s.optimizer;
    if (!isRecord(o) || typeof o.optimizer !== 'string' || !isRecord(o.state)) {
      field('optimizer', "an optimizer's state ({ optimizer, steps, options, groups, state })");
    }
    for (const [name, p] of Object.entries((o as Record<string, unknown>).state as Record<string, unknown>)) {
      if (!isRecord(p) || !Array.isArray(p.buffers) || !p.buffers.every((b) => typeof b === 'string')) {
        fail(
          `${entry} has optimizer state ${jsonPreview(p)} for '${clipText(name, 120)}', not { step, buffers: [names] }`,
        );
      }
    }
  }
  return s as unknown as StoredState;
}

/** Reads a checkpoint's training state (epoch, step, schedule, extras) without restoring anything. */
export function checkpointInfo(bytes: Uint8Array | ArrayBuffer): CheckpointInfo {
  const file = readSafetensors(bytes);
  return infoOf(storedState(file.metadata, 'checkpointInfo'), file.metadata);
}

function infoOf(s: StoredState, metadata: Record<string, string>): CheckpointInfo {
  const info: CheckpointInfo = {
    version: s.version,
    epoch: s.epoch,
    globalStep: s.globalStep,
    extra: s.extra ?? {},
    metadata,
  };
  if (s.randomState !== undefined) info.randomState = s.randomState;
  if (s.scheduler) info.scheduler = s.scheduler;
  if (s.optimizer) info.optimizer = s.optimizer.optimizer;
  return info;
}

/** What {@link restoreCheckpoint} restores into. */
export interface RestoreTargets {
  /** Receives the weights (it must have the checkpoint's architecture). */
  model: Module;
  /** Receives the optimizer state (same kind, same parameters); left alone when absent. */
  optimizer?: Optimizer;
  /** Receives the schedule's state (same unit); left alone when absent. */
  scheduler?: LRScheduler;
}

/**
 * Restores a checkpoint into a model and, when given, its optimizer and scheduler (which must be of the same kinds,
 * over the same parameters). Atomic: the file, its training state, the weights (against the model), the optimizer's
 * state (against the optimizer) and the schedule's (against the scheduler) are all checked before anything is
 * assigned, so a refused checkpoint leaves the model, the optimizer and the scheduler as they were, and frees every
 * tensor it made. Returns the training state; restoring the random state (`setRandomState(info.randomState)`) is
 * the caller's call.
 *
 * @throws CheckpointError (of `@cnn/layers`) naming what does not match: a malformed file or training state,
 * missing / unexpected / mis-shaped weights, another optimizer, a missing or mis-shaped optimizer buffer, another
 * schedule unit.
 */
export async function restoreCheckpoint(
  bytes: Uint8Array | ArrayBuffer,
  targets: RestoreTargets,
): Promise<CheckpointInfo> {
  if (!targets?.model || typeof targets.model.checkStateDict !== 'function')
    throw new Error('restoreCheckpoint: targets.model must be a Module');
  const where = 'restoreCheckpoint';
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const file = readSafetensors(view);
  const s = storedState(file.metadata, where);
  // Check everything...
  let optimizerState: OptimizerStateDict | undefined;
  if (targets.optimizer) {
    if (!s.optimizer) throw new CheckpointError(`${where}: the checkpoint holds no optimizer state`);
    // No prototype: a parameter or buffer named '__proto__' in the file is then refused as unknown, not dropped.
    const state: Record<string, ParamState> = Object.create(null);
    for (const [name, p] of Object.entries(s.optimizer.state)) {
      const buffers: ParamState['buffers'] = Object.create(null);
      for (const k of p.buffers) {
        const key = `${OPTIMIZER_PREFIX}${name}/${k}`;
        const t = file.tensors.get(key);
        if (!t)
          throw new CheckpointError(
            `${where}: the optimizer buffer '${clipText(name, 120)}'.${clipText(k, 40)} is missing from the checkpoint`,
            { key },
          );
        if (t.dtype !== 'float32')
          throw new CheckpointError(
            `${where}: the optimizer buffer '${clipText(name, 120)}'.${clipText(k, 40)} is ${t.dtype}, not float32`,
            { key },
          );
        buffers[k] = { shape: [...t.shape], data: Array.from(t.data as Float32Array) };
      }
      state[name] = { step: p.step, buffers };
    }
    optimizerState = { ...s.optimizer, state };
    targets.optimizer.checkStateDict(optimizerState);
  }
  if (targets.scheduler) {
    if (!s.scheduler) throw new CheckpointError(`${where}: the checkpoint holds no scheduler state`);
    targets.scheduler.check(s.scheduler);
  }
  const weights = await checkWeights(targets.model, view);
  // ...then apply it all.
  targets.model.loadStateDict(weights.state);
  if (targets.optimizer && optimizerState) targets.optimizer.loadStateDict(optimizerState);
  if (targets.scheduler && s.scheduler) targets.scheduler.load(s.scheduler);
  return infoOf(s, file.metadata);
}

type NodeFs = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

async function nodeModules(op: string): Promise<{ fs: NodeFs; path: NodePath }> {
  if (typeof process === 'undefined' || !process.versions?.node)
    throw new Error(`${op}: writing files needs Node; in a browser use encodeCheckpoint() and store the bytes`);
  const [fs, path] = await Promise.all([nodeImport<NodeFs>('node:fs/promises'), nodeImport<NodePath>('node:path')]);
  return { fs, path };
}

/**
 * Imports a Node module by a variable specifier, which bundlers leave alone (the comments silence Vite's and
 * webpack's warnings): a browser bundle of @cnn/train never tries to resolve or polyfill Node's built-ins.
 */
function nodeImport<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

let tmpCounter = 0;

/** The moments of {@link writeFileAtomic} that {@link WriteFileAtomicOptions.onStage} reports. */
export type AtomicWriteStage = 'opened' | 'flushed';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /**
   * Called with the temporary file's path when it has been created (`'opened'`, still empty) and when the bytes
   * are in it and flushed (`'flushed'`, just before the rename). Meant for tests that stop a process at those
   * moments (a crash there leaves the old file and a temporary file that {@link removeTempFiles} clears away).
   */
  onStage?: (stage: AtomicWriteStage, tempFile: string) => void | Promise<void>;
}

/**
 * Whether a file name is one of {@link writeFileAtomic}'s temporary files: `.<name>.<pid>.<n>.tmp`, hidden, beside
 * the file it was going to replace.
 */
export function isTempFileName(name: string): boolean {
  return /^\..+\.\d+\.\d+\.tmp$/.test(name);
}

/**
 * Writes `bytes` to `file` atomically (Node): into a temporary file beside it (see {@link isTempFileName}),
 * flushed to disk, then renamed over `file`, and the folder flushed. A crash at any moment leaves either the old
 * file or the new one, never a torn one; what it can leave besides is the temporary file, which
 * {@link removeTempFiles} removes.
 */
export async function writeFileAtomic(
  file: string,
  bytes: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const { fs, path } = await nodeModules('writeFileAtomic');
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    try {
      await options.onStage?.('opened', tmp);
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.onStage?.('flushed', tmp);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncFolder(fs, dir);
}

/** Flushes a folder's entries (after a rename or a new file); a no-op where the file system refuses. */
async function syncFolder(fs: NodeFs, dir: string): Promise<void> {
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems refuse to fsync a folder; the rename itself is still atomic.
  }
}

/**
 * Removes the temporary files that killed {@link writeFileAtomic} calls left in `dir` (hidden files named
 * `.<name>.<pid>.<n>.tmp`; nothing else is touched) and returns their names. Call it when no other process writes
 * into `dir`: a live writer's temporary file would go too.
 */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const { fs, path } = await nodeModules('removeTempFiles');
  const removed: string[] = [];
  for (const name of await fs.readdir(dir)) {
    if (!isTempFileName(name)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  if (removed.length) await syncFolder(fs, dir);
  return removed.sort();
}

/** Saves a checkpoint to `file` (Node), atomically (see {@link writeFileAtomic}). */
export async function saveCheckpoint(
  file: string,
  parts: CheckpointParts,
  options?: WriteFileAtomicOptions,
): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(parts), options);
}

/**
 * Reads a checkpoint file (Node; only a regular file is read, as `readFileBytes` of `@cnn/layers` reads it) and
 * restores it (see {@link restoreCheckpoint}); errors are `CheckpointError`s whose message starts with the file name.
 */
export async function loadCheckpoint(file: string, targets: RestoreTargets): Promise<CheckpointInfo> {
  const bytes = await readFileBytes(file);
  try {
    return await restoreCheckpoint(bytes, targets);
  } catch (e) {
    if (e instanceof CheckpointError && e.file === undefined) {
      e.file = file;
      e.message = `${file}: ${e.message}`;
      throw e;
    }
    throw e instanceof CheckpointError ? e : new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}
