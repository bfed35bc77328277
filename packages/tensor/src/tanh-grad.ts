// tanh's gradient, `dy * (1 - y * y)` from the saved output y: one pass on 'wasm' (cnn's CnnTanhGrad kernel, issue
// 15) instead of tfjs's three ops (square, subtract, multiply); the same three ops elsewhere, as tfjs computes them.
import { engine, getKernel, registerGradient, Tanh, type NamedTensorMap, type Tensor } from '@tensorflow/tfjs-core';
import { tf } from './tf';
import { TANH_GRAD } from './kernel-names';

/** Replaces tfjs's gradient of 'Tanh' (same values: one multiply-subtract-multiply per element). */
export function registerTanhGradient(): void {
  registerGradient({
    kernelName: Tanh,
    outputsToSave: [true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [y] = saved;
      const g = dy as Tensor;
      return {
        x: () =>
          getKernel(TANH_GRAD, tf.getBackend()) && g.dtype === 'float32' && y.dtype === 'float32'
            ? (engine().runKernel(TANH_GRAD, { dy: g, y } as NamedTensorMap, {}) as Tensor)
            : tf.mul(tf.sub(tf.scalar(1), tf.square(y)), g),
      };
    },
  });
}
