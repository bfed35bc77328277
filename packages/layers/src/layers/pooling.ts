// Pooling layers.
import type { Tensor } from '@cnn/tensor';
import * as F from '../functional';
import { Module } from '../module';

/** Max pooling layer, as `torch.nn.MaxPool2d(kernelSize, stride?, padding?, ceilMode?)`. */
export class MaxPool2d extends Module {
  constructor(
    /** Window size: one number or [h, w]. */
    readonly kernelSize: F.Size2,
    /** Stride (default: the kernel size), padding and `ceilMode`. */
    readonly options: F.Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

/** Average pooling layer, as `torch.nn.AvgPool2d` (with `countIncludePad`, `ceilMode`). */
export class AvgPool2d extends Module {
  constructor(
    /** Window size: one number or [h, w]. */
    readonly kernelSize: F.Size2,
    /** Stride (default: the kernel size), padding, `ceilMode` and `countIncludePad`. */
    readonly options: F.Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
}

/** Adaptive average pooling to a fixed output size, as `torch.nn.AdaptiveAvgPool2d`. */
export class AdaptiveAvgPool2d extends Module {
  constructor(
    /** Output [h, w] (or one number for both), whatever the input's size. */
    readonly outputSize: F.Size2,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}
