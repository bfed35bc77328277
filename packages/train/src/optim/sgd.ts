// SGD with momentum, dampening, Nesterov and L2 weight decay: torch.optim.SGD's update, step for step.
import { tf, canSgdStep, sgdStep, type SgdStepEntry, type Tensor } from '@cnn/tensor';
import {
  booleanProblem,
  numberProblem,
  Optimizer,
  type BaseOptimizerOptions,
  type FusedItem,
  type LiveState,
  type ParamGroup,
  type ParamsInput,
} from './optimizer';

/** Options of {@link SGD} (PyTorch's names in camelCase; same defaults). */
export interface SGDOptions extends BaseOptimizerOptions {
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent exactly as `torch.optim.SGD`. Per parameter `p` with gradient `g`:
 *
 * ```
 * d = g + weightDecay * p
 * if momentum != 0:
 *   buf = (first step) ? d : momentum * buf + (1 - dampening) * d
 *   d = nesterov ? d + momentum * buf : buf
 * p = p - lr * d
 * ```
 *
 * The momentum buffer starts as the first gradient (not zero), as in PyTorch.
 *
 * @example
 * const opt = new SGD(model, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayOn: 'bn_bias' });
 * const loss: number = opt.minimize(() => crossEntropy(model.call(x), y)); // a plain number, not a tensor
 */
export class SGD extends Optimizer {
  /** PyTorch's name of the algorithm. */
  readonly kind = 'SGD';
  /** Momentum factor. */
  momentum: number;
  /** Dampening of the momentum. */
  dampening: number;
  /** Whether the momentum is Nesterov's. */
  nesterov: boolean;

  /** Builds the optimizer over a Module, named parameters or a `tf.Variable[]` (see {@link ParamsInput}). */
  constructor(params: ParamsInput, opts: SGDOptions) {
    super(params, opts, 0);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.check();
  }

  private check(): void {
    const problem = sgdProblem(this.momentum, this.dampening, this.nesterov);
    if (problem !== null) throw new Error(`SGD: ${problem}`);
  }

  protected readonly bufferNames = ['momentum_buffer'] as const;

  protected get hyper(): Record<string, number | boolean> {
    return { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov };
  }

  protected set hyper(v: Record<string, number | boolean>) {
    this.momentum = Number(v.momentum ?? 0);
    this.dampening = Number(v.dampening ?? 0);
    this.nesterov = Boolean(v.nesterov);
    this.check();
  }

  protected hyperProblem(v: Record<string, unknown>): string | null {
    return sgdProblem(v.momentum ?? 0, v.dampening ?? 0, v.nesterov ?? false);
  }

  /** On 'wasm': every parameter in one kernel call (`sgdStep` of @cnn/tensor), the same values as {@link update}. */
  protected override fusedUpdate(items: readonly FusedItem[]): boolean {
    const entries: SgdStepEntry[] = items.map((it) => ({
      param: it.param,
      grad: it.grad,
      buffer: it.state.buffers.get('momentum_buffer') ?? null,
      lr: it.group.lr,
      weightDecay: it.group.weightDecay,
    }));
    if (!canSgdStep(entries)) return false;
    const out = sgdStep(entries, { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov });
    items.forEach((it, i) => {
      const { param, buffer } = out[i];
      if (buffer) {
        const buf = it.state.buffers.get('momentum_buffer');
        if (buf) buf.assign(buffer);
        else this.buffer(it.state, 'momentum_buffer', buffer);
      }
      it.param.assign(param);
    });
    return true;
  }

  protected update(p: tf.Variable, g: Tensor, group: ParamGroup, s: LiveState): Tensor {
    let d = group.weightDecay !== 0 ? tf.add(g, tf.mul(p, group.weightDecay)) : g;
    if (this.momentum !== 0) {
      let buf = s.buffers.get('momentum_buffer');
      if (!buf) {
        buf = this.buffer(s, 'momentum_buffer', d);
      } else {
        const scaled = this.dampening !== 0 ? tf.mul(d, 1 - this.dampening) : d;
        buf.assign(tf.add(tf.mul(buf, this.momentum), scaled));
      }
      d = this.nesterov ? tf.add(d, tf.mul(buf, this.momentum)) : buf;
    }
    return tf.sub(p, tf.mul(d, group.lr));
  }
}

/** What is wrong with SGD's hyperparameters, or null. */
function sgdProblem(momentum: unknown, dampening: unknown, nesterov: unknown): string | null {
  return (
    numberProblem('momentum', momentum, 0) ??
    numberProblem('dampening', dampening, 0, 1) ??
    booleanProblem('nesterov', nesterov) ??
    (nesterov && ((momentum as number) <= 0 || dampening !== 0)
      ? 'Nesterov momentum requires momentum > 0 and dampening 0'
      : null)
  );
}
