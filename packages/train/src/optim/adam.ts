// Adam (with L2 weight decay added to the gradient) and AdamW (decoupled weight decay): torch.optim.Adam and
// torch.optim.AdamW's single-tensor updates, step for step.
import { tf, adamStep, canAdamStep, type AdamStepEntry, type Tensor } from '@cnn/tensor';
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

/** Options of {@link Adam} and {@link AdamW} (PyTorch's names in camelCase; same defaults). */
export interface AdamOptions extends BaseOptimizerOptions {
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator, outside the square root (default 1e-8). */
  eps?: number;
  /** Use the running maximum of the second moment (AMSGrad; default false). */
  amsgrad?: boolean;
}

/** The update both Adam variants share; `decoupled` selects AdamW's weight decay. */
abstract class AdamBase extends Optimizer {
  /** Decay rates of the moment estimates. */
  betas: [number, number];
  /** Denominator epsilon. */
  eps: number;
  /** Whether AMSGrad is on. */
  amsgrad: boolean;
  protected abstract readonly decoupled: boolean;

  protected constructor(params: ParamsInput, opts: AdamOptions, defaultWeightDecay: number) {
    super(params, opts, defaultWeightDecay);
    this.betas = opts.betas ? [opts.betas[0], opts.betas[1]] : [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.amsgrad = opts.amsgrad ?? false;
    this.check();
  }

  private check(): void {
    const problem = adamProblem(this.betas[0], this.betas[1], this.eps, this.amsgrad);
    if (problem !== null) throw new Error(`${this.constructor.name}: ${problem}`);
  }

  protected readonly bufferNames = ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] as const;

  protected get hyper(): Record<string, number | boolean> {
    return { beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, amsgrad: this.amsgrad };
  }

  protected set hyper(v: Record<string, number | boolean>) {
    this.betas = [Number(v.beta1), Number(v.beta2)];
    this.eps = Number(v.eps);
    this.amsgrad = Boolean(v.amsgrad);
    this.check();
  }

  protected hyperProblem(v: Record<string, unknown>): string | null {
    return adamProblem(v.beta1, v.beta2, v.eps, v.amsgrad ?? false);
  }

  /** On 'wasm': every parameter in one kernel call (`adamStep` of @cnn/tensor), the same values as {@link update}. */
  protected override fusedUpdate(items: readonly FusedItem[]): boolean {
    const entries: AdamStepEntry[] = items.map((it) => ({
      param: it.param,
      grad: it.grad,
      expAvg: it.state.buffers.get('exp_avg') ?? null,
      expAvgSq: it.state.buffers.get('exp_avg_sq') ?? null,
      maxExpAvgSq: this.amsgrad ? (it.state.buffers.get('max_exp_avg_sq') ?? null) : null,
      lr: it.group.lr,
      weightDecay: it.group.weightDecay,
      step: it.state.step,
    }));
    if (!canAdamStep(entries)) return false;
    const out = adamStep(entries, {
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      amsgrad: this.amsgrad,
      decoupled: this.decoupled,
    });
    items.forEach((it, i) => {
      const o = out[i];
      const put = (key: string, value: Tensor | null): void => {
        if (!value) return;
        const buf = it.state.buffers.get(key);
        if (buf) buf.assign(value);
        else this.buffer(it.state, key, value);
      };
      put('exp_avg', o.expAvg);
      put('exp_avg_sq', o.expAvgSq);
      put('max_exp_avg_sq', o.maxExpAvgSq);
      it.param.assign(o.param);
    });
    return true;
  }

  protected update(p: tf.Variable, g: Tensor, group: ParamGroup, s: LiveState): Tensor {
    const [beta1, beta2] = this.betas;
    const { lr, weightDecay } = group;
    let param: Tensor = p;
    let grad = g;
    if (weightDecay !== 0) {
      if (this.decoupled) param = tf.mul(p, 1 - lr * weightDecay);
      else grad = tf.add(g, tf.mul(p, weightDecay));
    }
    const expAvg = s.buffers.get('exp_avg') ?? this.buffer(s, 'exp_avg', tf.zerosLike(p));
    const expAvgSq = s.buffers.get('exp_avg_sq') ?? this.buffer(s, 'exp_avg_sq', tf.zerosLike(p));
    expAvg.assign(tf.add(tf.mul(expAvg, beta1), tf.mul(grad, 1 - beta1)));
    expAvgSq.assign(tf.add(tf.mul(expAvgSq, beta2), tf.mul(tf.mul(grad, 1 - beta2), grad)));
    const biasCorrection1 = 1 - beta1 ** s.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** s.step);
    const stepSize = lr / biasCorrection1;
    let second: Tensor = expAvgSq;
    if (this.amsgrad) {
      const maxSq = s.buffers.get('max_exp_avg_sq') ?? this.buffer(s, 'max_exp_avg_sq', tf.zerosLike(p));
      maxSq.assign(tf.maximum(maxSq, expAvgSq));
      second = maxSq;
    }
    const denom = tf.add(tf.div(tf.sqrt(second), biasCorrection2Sqrt), this.eps);
    return tf.sub(param, tf.mul(tf.div(expAvg, denom), stepSize));
  }
}

/**
 * Adam exactly as `torch.optim.Adam`: weight decay is L2, added to the gradient (`g + weightDecay * p`); bias
 * correction on both moments; `eps` outside the square root:
 *
 * ```
 * m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²          (v̂ = max(v̂, v) with amsgrad)
 * p = p - lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
 * ```
 *
 * @example
 * const opt = new Adam(model, { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  /** PyTorch's name of the algorithm. */
  readonly kind = 'Adam';
  /** Adam: weight decay is added to the gradient. */
  protected readonly decoupled = false;

  /** Builds the optimizer over a Module, named parameters or a `tf.Variable[]`; weight decay defaults to 0. */
  constructor(params: ParamsInput, opts: AdamOptions) {
    super(params, opts, 0);
  }
}

/**
 * AdamW exactly as `torch.optim.AdamW`: decoupled weight decay, `p = p · (1 - lr · weightDecay)` before the Adam
 * update (which then sees the plain gradient). Weight decay defaults to 0.01, as in PyTorch.
 *
 * @example
 * const opt = new AdamW(model, { lr: 1e-3, weightDecay: 0.05, noDecayOn: 'bn_bias' });
 */
export class AdamW extends AdamBase {
  /** PyTorch's name of the algorithm. */
  readonly kind = 'AdamW';
  /** AdamW: weight decay shrinks the parameter directly. */
  protected readonly decoupled = true;

  /** Builds the optimizer over a Module, named parameters or a `tf.Variable[]`; weight decay defaults to 0.01. */
  constructor(params: ParamsInput, opts: AdamOptions) {
    super(params, opts, 0.01);
  }
}

/** What is wrong with Adam's hyperparameters, or null. */
function adamProblem(beta1: unknown, beta2: unknown, eps: unknown, amsgrad: unknown): string | null {
  return (
    numberProblem('betas[0]', beta1, 0, 1) ??
    numberProblem('betas[1]', beta2, 0, 1) ??
    (beta1 === 1 || beta2 === 1 ? `betas must be < 1, got [${String(beta1)}, ${String(beta2)}]` : null) ??
    numberProblem('eps', eps, 0) ??
    booleanProblem('amsgrad', amsgrad)
  );
}
