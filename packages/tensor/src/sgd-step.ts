// torch.optim.SGD's update for many parameters in one wasm call (issue 15): what @cnn/train's SGD runs on 'wasm'
// instead of four to six tfjs ops per parameter. Nothing is updated in place: the new values come back as tensors.
import { engine, getKernel, type NamedAttrMap, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { SGD_STEP } from './kernel-names';

/** One parameter of {@link sgdStep}. */
export interface SgdStepEntry {
  /** The parameter's current value (float32). */
  param: Tensor;
  /** Its gradient, the parameter's shape. */
  grad: Tensor;
  /** Its momentum buffer, or null on its first step (the buffer then starts as the update direction). */
  buffer: Tensor | null;
  /** Learning rate of its group. */
  lr: number;
  /** Weight decay of its group (L2, added to the gradient). */
  weightDecay: number;
}

/** SGD's hyperparameters shared by every parameter of {@link sgdStep}. */
export interface SgdStepOptions {
  /** Momentum factor (0: plain SGD, no buffers). */
  momentum: number;
  /** Dampening of the momentum. */
  dampening: number;
  /** Nesterov momentum. */
  nesterov: boolean;
}

/** The new value of one parameter, and its new momentum buffer (null without momentum). */
export interface SgdStepResult {
  /** The updated parameter. */
  param: Tensor;
  /** The updated momentum buffer, or null when momentum is 0. */
  buffer: Tensor | null;
}

/**
 * Whether {@link sgdStep} can run on the active backend ('wasm' only) for these tensors (all float32).
 */
export function canSgdStep(entries: readonly SgdStepEntry[]): boolean {
  return (
    getKernel(SGD_STEP, tf.getBackend()) !== undefined &&
    entries.every(
      (e) => e.param.dtype === 'float32' && e.grad.dtype === 'float32' && (!e.buffer || e.buffer.dtype === 'float32'),
    )
  );
}

/**
 * One `torch.optim.SGD` step for every entry in one call of cnn's wasm kernel: per parameter
 * `d = g + weightDecay · p; buf = momentum · buf + (1 - dampening) · d (buf = d on the first step);
 * d = nesterov ? d + momentum · buf : buf; p = p - lr · d`, each in float32 in the same order as the tfjs ops of
 * @cnn/train's SGD, so the results are the same bit for bit. Check {@link canSgdStep} first: on another backend
 * this throws.
 *
 * @returns the new parameters and buffers, in the order of `entries` (the caller assigns them).
 */
export function sgdStep(entries: readonly SgdStepEntry[], opts: SgdStepOptions): SgdStepResult[] {
  if (!canSgdStep(entries)) throw new Error(`sgdStep: needs the wasm backend and float32 tensors`);
  const inputs: NamedTensorMap = {};
  entries.forEach((e, i) => {
    if (e.grad.size !== e.param.size || (e.buffer && e.buffer.size !== e.param.size))
      throw new Error(`sgdStep: entry ${i} has ${e.param.size} values, its gradient or buffer another count`);
    inputs[`p${i}`] = e.param;
    inputs[`g${i}`] = e.grad;
    if (e.buffer) inputs[`b${i}`] = e.buffer;
  });
  const attrs = {
    count: entries.length,
    momentum: opts.momentum,
    dampening: opts.dampening,
    nesterov: opts.nesterov,
    lrs: entries.map((e) => e.lr),
    weightDecays: entries.map((e) => e.weightDecay),
  };
  const outs = engine().runKernel(SGD_STEP, inputs, attrs as unknown as NamedAttrMap) as unknown as Tensor[];
  const per = opts.momentum !== 0 ? 2 : 1;
  return entries.map((_, i) => ({
    param: outs[i * per],
    buffer: per === 2 ? outs[i * per + 1] : null,
  }));
}
