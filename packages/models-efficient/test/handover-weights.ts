// The model of the PyTorch hand-over test (handover.test.ts) and of its fixture script (scripts/make-handover-fixtures.py,
// through scripts/handover-save.ts): torchvision's shufflenet_v2_x0_5 with 10 classes, its weights set in this library's
// own layouts (HWIO convolutions, [in, out] linear weights) from a formula, so that saveWeights does the conversion to
// PyTorch's layouts that a real hand-over needs, and both the test and the script rebuild the same file byte for byte.
import type { HostTensor } from '@cnn/layers';
import { fnv1a, realise, unit } from '../../../test-support/fixtures';
import { getModel, tf, type ImageClassifier } from '../src/index';

export const HANDOVER_MODEL = 'shufflenet_v2_x0_5';
export const HANDOVER_CLASSES = 10;
/** The input both sides run: NHWC, the formula's values times 4 (in [-2, 2)), seed fnv1a('cnn-handover/input'). */
export const HANDOVER_INPUT_SHAPE = [2, 64, 64, 3] as const;
export const HANDOVER_INPUT_SEED = fnv1a('cnn-handover/input');
const PREFIX = 'cnn-handover/';

/**
 * The value of every state tensor, in this library's layout (`shape` is the variable's), from its key:
 * conv weight [kh, kw, in/groups, out]  u * 1.4 * sqrt(12 / fan_in), fan_in = kh * kw * in/groups
 * linear weight [in, out]               u * 2 * sqrt(12 / in)
 * BatchNorm weight                      1 + u / 2;  bias u / 4;  running_mean u;  running_var 1/2 + 2 |u|
 * num_batches_tracked                   seed mod 1000003
 * with u = unit(size, fnv1a('cnn-handover/' + key)), each value rounded once to float32.
 */
export function stateValues(key: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const seed = fnv1a(PREFIX + key);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  if (leaf === 'num_batches_tracked') return new Float32Array(n).fill(seed % 1000003);
  const u = unit(n, seed);
  let f: (v: number) => number;
  if (leaf === 'weight' && shape.length === 4) {
    const g = 1.4 * Math.sqrt(12 / (shape[0] * shape[1] * shape[2]));
    f = (v) => v * g;
  } else if (leaf === 'weight' && shape.length === 2) {
    const g = 2 * Math.sqrt(12 / shape[0]);
    f = (v) => v * g;
  } else if (leaf === 'weight') f = (v) => 1 + v / 2;
  else if (leaf === 'bias') f = (v) => v / 4;
  else if (leaf === 'running_mean') f = (v) => v;
  else if (leaf === 'running_var') f = (v) => 0.5 + 2 * Math.abs(v);
  else throw new Error(`no rule for state key ${key}`);
  return Float32Array.from(u, f);
}

/** shufflenet_v2_x0_5 (10 classes) with the formula's weights, in evaluation mode. */
export function handoverModel(): ImageClassifier {
  const model = getModel(HANDOVER_MODEL, { numClasses: HANDOVER_CLASSES });
  const state = new Map<string, HostTensor>();
  for (const [key, v] of model.stateDict()) state.set(key, { shape: v.shape.slice(), data: stateValues(key, v.shape) });
  model.loadStateDict(state);
  return model.eval();
}

/** The input, NHWC float32. */
export function handoverInput(): tf.Tensor4D {
  return tf.tensor4d(realise(HANDOVER_INPUT_SHAPE, HANDOVER_INPUT_SEED, 4), [...HANDOVER_INPUT_SHAPE]);
}
