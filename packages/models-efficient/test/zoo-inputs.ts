// The zoo's parity tests' common ground: the smallest input each architecture takes, and seeded random weights that
// the logits depend on throughout. Used in Node (fuse.test.ts) and, copied next to the page's main.js, in Chromium
// (webgpu-browser.test.ts), so it imports only the packages both have: @cnn/layers and @cnn/tensor.
import { BatchNorm2d, Conv2d, Linear, type Module } from '@cnn/layers';
import { tf } from '@cnn/tensor';

/** Input sides other than 32 (CIFAR ids and most others take 32x32): LeNet-5 its 28x28, and the ids whose stems need more. */
const SMALLEST_SIDE: Record<string, number> = { lenet5: 28, alexnet: 64, alexnet_2012: 96, googlenet: 64 };

/** The smallest NHWC input `id` takes (`channels` from its card), at `batch` (default 1). */
export function smallestInput(id: string, channels: number, batch = 1): [number, number, number, number] {
  const side = SMALLEST_SIDE[id] ?? 32;
  return [batch, side, side, channels];
}

/**
 * Random weights the logits depend on throughout: every Conv2d and Linear weight normal with std sqrt(1 / fan-in)
 * (with the layers' default init the features of the deep plain networks fade and the logits are the last bias,
 * which no comparison would see; with He's sqrt(2 / fan-in) the deep SE-ResNets grow so sensitive that an input change
 * of 1e-7 moves their logits by 3e-3, and no comparison means anything), every Linear bias zero (the logits are the
 * features' alone), and random running statistics and affine parameters in every BatchNorm2d (PyTorch's initial
 * ones make a BatchNorm fold the identity). Seeded: the same values every run, on every backend.
 */
export function randomise(model: Module, seed: number): void {
  let s = seed;
  for (const [, m] of model.namedModules()) {
    tf.tidy(() => {
      if (m instanceof Conv2d || m instanceof Linear) {
        const fanIn = m.weight.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        m.weight.assign(tf.randomNormal(m.weight.shape, 0, Math.sqrt(1 / fanIn), 'float32', s++));
        if (m instanceof Linear && m.bias) m.bias.assign(tf.zerosLike(m.bias));
      } else if (m instanceof BatchNorm2d) {
        const c = m.numFeatures;
        m.runningMean.assign(tf.randomUniform([c], -0.5, 0.5, 'float32', s++));
        m.runningVar.assign(tf.randomUniform([c], 0.5, 2, 'float32', s++));
        m.weight?.assign(tf.randomUniform([c], 0.5, 1.5, 'float32', s++));
        m.bias?.assign(tf.randomUniform([c], -0.3, 0.3, 'float32', s++));
      }
    });
  }
}
