// Layout conversion of host tensors: PyTorch's OIHW / [out, in] weights to and from this library's HWIO / [in, out].
import type { HostTensor } from '../module';

/** Transposes a host tensor: `perm[i]` is the source dimension of output dimension i. */
export function permute(t: HostTensor, perm: number[]): HostTensor {
  const shape = perm.map((p) => t.shape[p]);
  const rank = shape.length;
  const srcStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    srcStrides[i] = s;
    s *= t.shape[i];
  }
  const strides = perm.map((p) => srcStrides[p]);
  const out = new Float32Array(t.data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let n = 0; n < out.length; n++) {
    out[n] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return { shape, data: out };
}
