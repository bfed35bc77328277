// Zero-size tensors on tfjs's 'wasm' backend (4.22.0). Its Transpose kernel traps (`RuntimeError: divide by
// zero`) on an input with no elements, and so do the kernels that call it internally before they reduce
// (Mean and Max over the spatial axes of an empty batch: every network's global pooling) and Cumsum / Cumprod;
// its reductions over an empty axis return uninitialised memory. These wrappers answer every such call from the
// shapes alone, without calling the kernel, with the values tfjs's cpu backend gives (sum 0, mean 0, prod 1,
// max / min NaN, all / any false, argMax / argMin 0); inputs with elements go to tfjs's kernel unchanged.
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

interface WasmBackendOutputs {
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: ArrayLike<number>): TensorInfo;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: NamedAttrMap;
}

/** What a reduction over no values gives, by kernel: the cpu backend's answers. */
const REDUCTIONS: Record<string, { value: number; dtype?: DataType }> = {
  Sum: { value: 0 },
  Mean: { value: 0 },
  Prod: { value: 1 },
  Max: { value: NaN },
  Min: { value: NaN },
  All: { value: 0, dtype: 'bool' },
  Any: { value: 0, dtype: 'bool' },
  ArgMax: { value: 0, dtype: 'int32' },
  ArgMin: { value: 0, dtype: 'int32' },
};

const isEmpty = (t: TensorInfo): boolean => t.shape.some((d) => d === 0);

function filled(dtype: DataType, size: number, value: number): ArrayLike<number> {
  if (dtype === 'int32') return new Int32Array(size).fill(value);
  if (dtype === 'bool') return new Uint8Array(size).fill(value);
  return new Float32Array(size).fill(value);
}

/** The result of a reduction kernel on an input without elements, from shapes alone. */
function emptyReduction(name: string, args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackendOutputs;
  const x = args.inputs.x;
  const attrs = args.attrs ?? {};
  // Max names its axes `reductionIndices`; the others `axis`.
  const axes = util.parseAxisParam(
    (name === 'Max' ? attrs.reductionIndices : attrs.axis) as number | number[],
    x.shape,
  );
  const keep = new Set(axes);
  let shape = x.shape.filter((_, i) => !keep.has(i));
  if (attrs.keepDims) shape = backend_util.expandShapeToKeepDim(shape, axes);
  const { value, dtype } = REDUCTIONS[name];
  const outDtype = dtype ?? x.dtype;
  const size = util.sizeFromShape(shape);
  return size === 0
    ? backend.makeOutput(shape, outDtype)
    : backend.makeOutput(shape, outDtype, undefined, filled(outDtype, size, value));
}

/** The result of a kernel whose output has its input's shape, or a permutation of it (no elements either way). */
function emptyLike(name: string, args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackendOutputs;
  const x = args.inputs.x;
  const perm = name === 'Transpose' ? (args.attrs?.perm as number[]) : null;
  return backend.makeOutput(perm ? perm.map((p) => x.shape[p]) : x.shape.slice(), x.dtype);
}

const WRAPPED = new WeakSet<KernelFunc>();

function wrap(
  name: string,
  original: KernelConfig,
  empty: (name: string, args: KernelArgs) => TensorInfo,
): KernelConfig {
  const kernelFunc = ((args: KernelArgs) => {
    const x = args.inputs.x;
    return x && isEmpty(x)
      ? empty(name, args)
      : (original.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)(args);
  }) as unknown as KernelFunc;
  WRAPPED.add(kernelFunc);
  return { ...original, kernelFunc };
}

/**
 * Puts the zero-size guards in front of tfjs's wasm kernels that trap or return garbage on inputs without
 * elements (Transpose, Cumsum, Cumprod and the reductions). Idempotent; keeps each kernel's setup function.
 */
export function registerEmptyInputGuards(): void {
  const targets: Array<[string, (name: string, args: KernelArgs) => TensorInfo]> = [
    ...Object.keys(REDUCTIONS).map((n): [string, typeof emptyReduction] => [n, emptyReduction]),
    ['Transpose', emptyLike],
    ['Cumsum', emptyLike],
    ['Cumprod', emptyLike],
  ];
  for (const [name, empty] of targets) {
    const original = getKernel(name, 'wasm');
    if (!original || WRAPPED.has(original.kernelFunc)) continue;
    unregisterKernel(name, 'wasm');
    registerKernel(wrap(name, original, empty));
  }
}
