// Layers that move values without learning anything: flatten, channel shuffle, dropout.
import type { Tensor } from '@cnn/tensor';
import * as F from '../functional';
import { Module } from '../module';

/** Flattens from `startDim` on (NHWC order), as `torch.nn.Flatten`. */
export class Flatten extends Module {
  constructor(
    /** First dimension to flatten into one (default 1: keep the batch). */
    readonly startDim = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim);
  }
}

/** ShuffleNet's channel shuffle as a layer. */
export class ChannelShuffle extends Module {
  constructor(
    /** Channel groups to interleave; the channel count must divide by it. */
    readonly groups: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.channelShuffle(x, this.groups);
  }
}

/** Dropout, active only in training mode, as `torch.nn.Dropout(p)`. */
export class Dropout extends Module {
  constructor(
    /** Probability of zeroing each value in training. */
    readonly p = 0.5,
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}
