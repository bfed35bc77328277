// Activation layers (no parameters), softmax and log-softmax among them (as in torch/nn/modules/activation.py).
import type { Tensor } from '@cnn/tensor';
import * as F from '../functional';
import { Module } from '../module';

/** Softmax along `dim` (default the last). */
export class Softmax extends Module {
  constructor(
    /** Dimension that sums to 1 (default -1, the channels). */
    readonly dim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
}

/** Log-softmax along `dim` (default the last). */
export class LogSoftmax extends Module {
  constructor(
    /** Dimension to normalise over (default -1, the channels). */
    readonly dim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
}

/** An activation function as a module (no parameters). */
abstract class Activation extends Module {}

/** max(x, 0). */
export class ReLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

/** Leaky ReLU with PyTorch's default slope 0.01. */
export class LeakyReLU extends Activation {
  constructor(
    /** Slope for negative inputs. */
    readonly negativeSlope = 0.01,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
}

/** ELU with `alpha` (default 1). */
export class ELU extends Activation {
  constructor(
    /** Value the output approaches for large negative inputs. */
    readonly alpha = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.elu(x, this.alpha);
  }
}

/** The logistic sigmoid. */
export class Sigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/** Hyperbolic tangent. */
export class Tanh extends Activation {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/** GELU, exact (erf) form. */
export class GELU extends Activation {
  forward(x: Tensor): Tensor {
    return F.gelu(x);
  }
}

/** SiLU (swish): x * sigmoid(x). */
export class SiLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

/** PyTorch's hard sigmoid relu6(x + 3) / 6. */
export class Hardsigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardSigmoid(x);
  }
}

/** x * relu6(x + 3) / 6. */
export class Hardswish extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardSwish(x);
  }
}
