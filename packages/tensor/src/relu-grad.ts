// ReLU's and ReLU6's gradients from the saved input x: one pass on 'wasm' (cnn's CnnReluGrad kernel, issue 15)
// instead of tfjs's Step, Cast and Multiply (ReLU6: also LessEqual and a second Multiply; tfjs's wasm LessEqual
// against the scalar 6 alone took a seventh of MobileNetV2's training step); tfjs's own ops elsewhere. The values
// are the same bit for bit: dy * step(x), step(x) = 1 for x > 0, 0 otherwise, NaN for a NaN x.
import {
  engine,
  getKernel,
  registerGradient,
  Relu,
  Relu6,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
} from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { RELU_GRAD } from './kernel-names';

/** The gradient of `tf.relu(x)` (or, with `relu6`, `tf.relu6(x)`) given `dy`, the gradient of its output. */
export function reluGrad(dy: Tensor, x: Tensor, relu6: boolean): Tensor {
  if (getKernel(RELU_GRAD, tf.getBackend()) && dy.dtype === 'float32' && x.dtype === 'float32') {
    return engine().runKernel(RELU_GRAD, { dy, x } as NamedTensorMap, { relu6 } as unknown as NamedAttrMap) as Tensor;
  }
  // tfjs's gradients (tfjs-core gradients/Relu_grad.ts, Relu6_grad.ts), op for op.
  const mask = relu6 ? tf.mul(tf.lessEqual(x, 6), tf.step(x)) : tf.step(x);
  return tf.mul(dy, tf.cast(mask, 'float32'));
}

/** Replaces tfjs's gradients of 'Relu' and 'Relu6' (same values). */
export function registerReluGradients(): void {
  for (const [kernelName, relu6] of [
    [Relu, false],
    [Relu6, true],
  ] as const) {
    registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => ({ x: () => reluGrad(dy as Tensor, saved[0], relu6) }),
    });
  }
}
