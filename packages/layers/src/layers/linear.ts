// Fully connected layers, and Identity (as in torch/nn/modules/linear.py).
import { tf, type Tensor, type Tensor2D } from '@cnn/tensor';
import * as F from '../functional';
import { Module, runsFused, type HostTensor } from '../module';
import { defaultInit, positiveInt } from './common';
import { permute } from './permute';

/**
 * Fully connected layer, as `torch.nn.Linear(in, out)`; the weight is stored [in, out].
 * When it follows a flatten of an NHWC feature map, pass `flattenedFrom: [h, w, c]` so that PyTorch weights
 * (which expect the C-H-W flatten order) are reordered on import.
 */
export class Linear extends Module {
  /** [in, out] (PyTorch's [out, in] is transposed on import); key `weight`. */
  readonly weight: tf.Variable;
  /** One value per output feature (key `bias`), or null when built with `bias: false`. */
  readonly bias: tf.Variable | null;

  constructor(
    /** Features each input row must have. */
    readonly inFeatures: number,
    /** Features of each output row. */
    readonly outFeatures: number,
    opts: { bias?: boolean; flattenedFrom?: [number, number, number] } = {},
  ) {
    super();
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    this.flattenedFrom = opts.flattenedFrom ?? null;
    if (this.flattenedFrom && this.flattenedFrom.reduce((a, b) => a * b, 1) !== inFeatures) {
      throw new Error(
        `Linear: flattenedFrom [${this.flattenedFrom.join(', ')}] has ${this.flattenedFrom.reduce((a, b) => a * b, 1)} values, not inFeatures=${inFeatures}`,
      );
    }
    this.weight = this.registerParameter('weight', defaultInit([inFeatures, outFeatures], inFeatures));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', defaultInit([outFeatures], inFeatures));
  }

  /** [h, w, c] of the NHWC map this layer's input was flattened from, if any. */
  readonly flattenedFrom: [number, number, number] | null;

  forward(x: Tensor): Tensor {
    // Fused inference: the bias in the same op (tfjs's fused matMul); anything unusual goes through F.linear's checks.
    if (runsFused(this) && x.rank === 2 && x.shape[1] === this.inFeatures && x.size > 0)
      return tf.fused.matMul({ a: x as Tensor2D, b: this.weight as Tensor2D, bias: this.bias ?? undefined });
    return F.linear(x, this.weight, this.bias ?? undefined);
  }

  /** Multiply-accumulates of a call whose output has shape `outShape` (read by `summary`). */
  macs(outShape: number[]): number {
    return outShape.reduce((a, b) => a * b, 1) * this.inFeatures;
  }

  override fromTorchLayout(name: string, t: HostTensor): HostTensor {
    if (name !== 'weight') return t;
    const w = permute(t, [1, 0]); // [out, in] -> [in, out], rows in PyTorch's C-H-W order
    if (!this.flattenedFrom) return w;
    const [h, wd, c] = this.flattenedFrom;
    const out = new Float32Array(w.data.length);
    const o = this.outFeatures;
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++) {
          const src = (ci * h + i) * wd + j;
          const dst = (i * wd + j) * c + ci;
          out.set(w.data.subarray(src * o, src * o + o), dst * o);
        }
    return { shape: w.shape, data: out };
  }

  override toTorchLayout(name: string, t: HostTensor): HostTensor {
    if (name !== 'weight') return t;
    let rows = t;
    if (this.flattenedFrom) {
      const [h, wd, c] = this.flattenedFrom;
      const o = this.outFeatures;
      const out = new Float32Array(t.data.length);
      for (let ci = 0; ci < c; ci++)
        for (let i = 0; i < h; i++)
          for (let j = 0; j < wd; j++) {
            const dst = (ci * h + i) * wd + j;
            const src = (i * wd + j) * c + ci;
            out.set(t.data.subarray(src * o, src * o + o), dst * o);
          }
      rows = { shape: t.shape, data: out };
    }
    return permute(rows, [1, 0]);
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.clone();
  }
}
