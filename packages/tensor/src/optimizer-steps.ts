// torch.optim.SGD's and Adam / AdamW's updates for many parameters in one wasm call (issue 15): what @cnn/train's
// optimizers run on 'wasm' instead of four to twelve tfjs ops per parameter. Nothing is updated in place: the new
// values come back as tensors.
import { engine, getKernel, type NamedAttrMap, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { ADAM_STEP, SGD_STEP } from './kernel-names';
import { TensorArgumentError } from './errors';

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
  if (!canSgdStep(entries)) throw new TensorArgumentError(`sgdStep: needs the wasm backend and float32 tensors`);
  const inputs: NamedTensorMap = {};
  entries.forEach((e, i) => {
    if (e.grad.size !== e.param.size || (e.buffer && e.buffer.size !== e.param.size))
      throw new TensorArgumentError(
        `sgdStep: entry ${i} has ${e.param.size} values, its gradient or buffer another count`,
      );
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

/** One parameter of {@link adamStep}. */
export interface AdamStepEntry {
  /** The parameter's current value (float32). */
  param: Tensor;
  /** Its gradient. */
  grad: Tensor;
  /** exp_avg, or null before its first step (zeros). */
  expAvg: Tensor | null;
  /** exp_avg_sq, or null before its first step (zeros). */
  expAvgSq: Tensor | null;
  /** max_exp_avg_sq (AMSGrad), or null (zeros). */
  maxExpAvgSq: Tensor | null;
  /** Learning rate of its group. */
  lr: number;
  /** Weight decay of its group. */
  weightDecay: number;
  /** Its step count, this step included (1 on the first). */
  step: number;
}

/** Adam's hyperparameters shared by every parameter of {@link adamStep}. */
export interface AdamStepOptions {
  /** Decay rate of the first moment. */
  beta1: number;
  /** Decay rate of the second moment. */
  beta2: number;
  /** Added to the denominator. */
  eps: number;
  /** Keep the running maximum of the second moment. */
  amsgrad: boolean;
  /** AdamW's decoupled weight decay (true) or Adam's L2 (false). */
  decoupled: boolean;
}

/** The new value of one parameter and its new buffers. */
export interface AdamStepResult {
  /** The updated parameter. */
  param: Tensor;
  /** The new exp_avg. */
  expAvg: Tensor;
  /** The new exp_avg_sq. */
  expAvgSq: Tensor;
  /** The new max_exp_avg_sq, or null without AMSGrad. */
  maxExpAvgSq: Tensor | null;
}

/** Whether {@link adamStep} can run on the active backend ('wasm' only) for these tensors (all float32). */
export function canAdamStep(entries: readonly AdamStepEntry[]): boolean {
  return (
    getKernel(ADAM_STEP, tf.getBackend()) !== undefined &&
    entries.every((e) =>
      [e.param, e.grad, e.expAvg, e.expAvgSq, e.maxExpAvgSq].every((t) => !t || t.dtype === 'float32'),
    )
  );
}

/**
 * One `torch.optim.Adam` (or `AdamW`, `decoupled`) step for every entry in one call of cnn's wasm kernel, in float32
 * in the same order as the tfjs ops of @cnn/train's Adam, so the results are the same bit for bit:
 * `g += wd · p` (Adam) or `p *= 1 - lr · wd` (AdamW); `m = β1 m + (1 - β1) g`; `v = β2 v + (1 - β2) g · g`;
 * `v̂ = max(v̂, v)` (AMSGrad); `p -= m / (sqrt(v) / sqrt(1 - β2^t) + eps) · lr / (1 - β1^t)`. Check
 * {@link canAdamStep} first: on another backend this throws.
 *
 * @returns the new parameters and buffers, in the order of `entries` (the caller assigns them).
 */
export function adamStep(entries: readonly AdamStepEntry[], opts: AdamStepOptions): AdamStepResult[] {
  if (!canAdamStep(entries)) throw new TensorArgumentError(`adamStep: needs the wasm backend and float32 tensors`);
  const inputs: NamedTensorMap = {};
  entries.forEach((e, i) => {
    for (const t of [e.grad, e.expAvg, e.expAvgSq, e.maxExpAvgSq])
      if (t && t.size !== e.param.size)
        throw new TensorArgumentError(
          `adamStep: entry ${i} has ${e.param.size} values, its gradient or a buffer another count`,
        );
    inputs[`p${i}`] = e.param;
    inputs[`g${i}`] = e.grad;
    if (e.expAvg) inputs[`m${i}`] = e.expAvg;
    if (e.expAvgSq) inputs[`v${i}`] = e.expAvgSq;
    if (e.maxExpAvgSq) inputs[`vmax${i}`] = e.maxExpAvgSq;
  });
  const attrs = {
    count: entries.length,
    beta1: opts.beta1,
    beta2: opts.beta2,
    eps: opts.eps,
    amsgrad: opts.amsgrad,
    decoupled: opts.decoupled,
    decayOn: entries.map((e) => e.weightDecay !== 0),
    decays: entries.map((e) => (opts.decoupled ? 1 - e.lr * e.weightDecay : e.weightDecay)),
    stepSizes: entries.map((e) => e.lr / (1 - opts.beta1 ** e.step)),
    bias2Sqrts: entries.map((e) => Math.sqrt(1 - opts.beta2 ** e.step)),
  };
  const outs = engine().runKernel(ADAM_STEP, inputs, attrs as unknown as NamedAttrMap) as unknown as Tensor[];
  const per = opts.amsgrad ? 4 : 3;
  return entries.map((_, i) => ({
    param: outs[i * per],
    expAvg: outs[i * per + 1],
    expAvgSq: outs[i * per + 2],
    maxExpAvgSq: opts.amsgrad ? outs[i * per + 3] : null,
  }));
}
