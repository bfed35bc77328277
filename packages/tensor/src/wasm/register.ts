// Registers cnn's kernels on tfjs's 'wasm' backend: the three training kernels it lacks
// (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter / BackpropInput), a faster
// Conv2DBackpropInput in place of its own, and the grouped convolution with its two gradients.
import {
  _FusedMatMul,
  Add,
  AvgPool,
  BatchMatMul,
  backend_util,
  Concat,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropInput,
  FusedConv2D,
  FusedDepthwiseConv2D,
  getKernel,
  MaxPool,
  MaxPoolGrad,
  Mean,
  Multiply,
  PadV2,
  registerKernel,
  Relu,
  Relu6,
  Slice,
  slice_util,
  Sub,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type PadV2Attrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { attrsFromKernel, convInfo } from '../conv-options';
import {
  FUSED_ELTWISE,
  FUSED_GROUPED_CONV,
  GROUPED_CONV,
  GROUPED_CONV_BACKPROP_FILTER,
  GROUPED_CONV_BACKPROP_INPUT,
  PADDED_MAX_POOL,
  SHUFFLE_CONCAT,
  SQUEEZE_EXCITE,
  type FusedEltwiseAttrs,
  type GroupedConvBackpropFilterAttrs,
  type GroupedConvBackpropInputAttrs,
  type PaddedMaxPoolAttrs,
} from '../kernel-names';
import { registerEmptyInputGuards } from './empty';
import { addressOf, convGeometry, memoryOf, plainGeometry, runConvKernel, type WasmBackendLike } from './module';
import {
  ACTIVATIONS,
  poolInfo,
  registerWinogradFlag,
  runConvForward,
  takesPad,
  runEltwise,
  tryDepthwise,
  tryAvgPool,
  tryConcat,
  tryEltwise,
  tryMatMul,
  tryMean,
  tryWinograd,
  tryWinogradInputGrad,
} from './winograd';

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: NamedAttrMap;
}

const isEmpty = (shape: readonly number[]): boolean => shape.some((d) => d === 0);

/** A float32 output of zeros (or of no elements), made without running a kernel. */
function zeros(backend: WasmBackendLike, shape: number[]): TensorInfo {
  const size = shape.reduce((a, b) => a * b, 1);
  return size === 0
    ? backend.makeOutput(shape, 'float32')
    : backend.makeOutput(shape, 'float32', undefined, new Float32Array(size));
}

function checkFloat(op: string, ...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`${op}: expected float32 tensors, got ${t.dtype}`);
}

/** One convolution kernel of either kind: `depthwise` filters are [kh, kw, c, mult]. */
type Role = 'forward' | 'input' | 'filter';

function convKernel(op: string, role: Role, depthwise: boolean): KernelFunc {
  return ((args: KernelArgs) => {
    const backend = args.backend as WasmBackendLike;
    const a = args.attrs ?? {};
    const { x, dy, filter } = args.inputs;
    // tfjs's gradient kernels name these attributes as cnn's do (Conv2DBackpropInputAttrs.inputShape, ...).
    const xShape = role === 'input' ? (a as unknown as GroupedConvBackpropInputAttrs).inputShape : x.shape;
    const fShape = role === 'filter' ? (a as unknown as GroupedConvBackpropFilterAttrs).filterShape : filter.shape;
    checkFloat(op, ...Object.values(args.inputs));
    const attrs = attrsFromKernel(`${op} (cnn wasm kernel)`, a, depthwise ? xShape[3] : undefined);
    // Depthwise filters [kh, kw, c, mult] have the same memory layout as grouped filters
    // [kh, kw, 1, c * mult]: describe both the grouped way.
    const gShape = depthwise ? [fShape[0], fShape[1], 1, fShape[2] * fShape[3]] : fShape;
    const info = convInfo(op, xShape, gShape, attrs);
    const g = convGeometry(info, attrs.groups);
    const dwise = g.c === g.groups; // one input channel per group: the depthwise kernels
    if (role === 'forward') {
      // FUSED_GROUPED_CONV's bias and activation (GROUPED_CONV has neither), applied as each output is written.
      const { bias } = args.inputs;
      const act = ACTIVATIONS[((a as { activation?: string }).activation ?? 'linear') as string];
      if (act === undefined) throw new Error(`${op}: unknown activation ${JSON.stringify(a.activation)}`);
      if (bias && (bias.shape.length !== 1 || bias.shape[0] !== g.co))
        throw new Error(`${op}: the bias must have shape [${g.co}], got [${bias.shape}]`);
      const out = backend.makeOutput(info.outShape, 'float32');
      if (out.shape.some((d) => d === 0) || x.shape.some((d) => d === 0)) return out;
      const extras = { bias: bias ? addressOf(backend, bias) : 0, act };
      // The filter packed once and kept (derived state, freed with its data), as tfjs's Conv2D routes keep theirs.
      if (!dwise) runConvForward(backend, g, x, filter, out, extras);
      else
        runConvKernel(
          backend,
          'dw_fwd',
          g,
          addressOf(backend, x),
          addressOf(backend, filter),
          addressOf(backend, out),
          extras,
        );
      return out;
    }
    if (role === 'input') {
      // An empty batch (or an empty dy): the kernels divide by the sizes, so answer from the shapes.
      if (isEmpty(xShape) || isEmpty(dy.shape) || isEmpty(fShape)) return zeros(backend, xShape);
      const out = backend.makeOutput(xShape, 'float32');
      if (!dwise && tryWinogradInputGrad(backend, g, dy, filter, out)) return out;
      runConvKernel(
        backend,
        dwise ? 'dw_bwd_input' : 'conv_bwd_input',
        g,
        addressOf(backend, out),
        addressOf(backend, filter),
        addressOf(backend, dy),
      );
      return out;
    }
    // No values in the batch: nothing reaches the filter, whose gradient is zero (PyTorch's answer too).
    if (isEmpty(x.shape) || isEmpty(dy.shape) || isEmpty(fShape)) return zeros(backend, fShape);
    const out = backend.makeOutput(fShape, 'float32');
    runConvKernel(
      backend,
      dwise ? 'dw_bwd_filter' : 'conv_bwd_filter',
      g,
      addressOf(backend, x),
      addressOf(backend, out),
      addressOf(backend, dy),
    );
    return out;
  }) as unknown as KernelFunc;
}

const KERNELS: Array<[string, Role, boolean]> = [
  [Conv2DBackpropInput, 'input', false],
  [Conv2DBackpropFilter, 'filter', false],
  [DepthwiseConv2dNativeBackpropInput, 'input', true],
  [DepthwiseConv2dNativeBackpropFilter, 'filter', true],
  [GROUPED_CONV, 'forward', false],
  [FUSED_GROUPED_CONV, 'forward', false],
  [GROUPED_CONV_BACKPROP_INPUT, 'input', false],
  [GROUPED_CONV_BACKPROP_FILTER, 'filter', false],
];

// Max pooling's input gradient: tfjs's wasm kernel sends the gradient of a window whose maximum is negative to
// the wrong pixel (4.22.0), so cnn replaces it.
const maxPoolGrad = ((args: KernelArgs) => {
  const backend = args.backend as WasmBackendLike;
  const { dy, input } = args.inputs;
  const a = (args.attrs ?? {}) as unknown as MaxPoolGradAttrs;
  checkFloat(MaxPoolGrad, dy, input);
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  if (isEmpty(input.shape) || isEmpty(dy.shape)) return zeros(backend, input.shape);
  const out = backend.makeOutput(input.shape, 'float32');
  const g = convGeometry(info, input.shape[3]);
  runConvKernel(backend, 'maxpool_bwd', g, addressOf(backend, input), addressOf(backend, out), addressOf(backend, dy));
  return out;
}) as unknown as KernelFunc;

/** ACT_ codes of kernels.c's element-wise pass, by activation name. */
const ELTWISE_ACTS: Record<FusedEltwiseAttrs['activation'], number> = { linear: 0, relu: 1, relu6: 2, hardswish: 3 };

// act(a + b) or act(a) in one pass; the op (fused-ops.ts) has checked the dtypes and shapes.
const fusedEltwise = ((args: KernelArgs) => {
  const backend = args.backend as WasmBackendLike;
  const { op, activation } = (args.attrs ?? {}) as unknown as FusedEltwiseAttrs;
  const { a, b } = args.inputs;
  const act = ELTWISE_ACTS[activation];
  if (act === undefined) throw new Error(`${FUSED_ELTWISE}: unknown activation ${JSON.stringify(activation)}`);
  if (a?.shape.some((d) => d === 0)) return backend.makeOutput(a.shape.slice(), 'float32');
  const out = runEltwise(backend, op === 'add' ? 'add' : 'none', act, a, op === 'add' ? b : a);
  if (!out) throw new Error(`${FUSED_ELTWISE}: cannot take inputs of shapes ${JSON.stringify([a?.shape, b?.shape])}`);
  return out;
}) as unknown as KernelFunc;

// The two-group shuffle of a concatenation; the op (fused-ops.ts) has checked the dtypes and shapes.
const shuffleConcat = ((args: KernelArgs) => {
  const backend = args.backend as WasmBackendLike;
  const { a, b } = args.inputs;
  checkFloat(SHUFFLE_CONCAT, a, b);
  const [n, h, w, half] = b.shape;
  const out = backend.makeOutput([n, h, w, 2 * half], 'float32');
  const rows = n * h * w;
  if (rows === 0 || half === 0) return out;
  runConvKernel(
    backend,
    'shuffle2',
    plainGeometry({ n: rows, h: a.shape[3], w: 1, c: half, oh: 1, ow: 1, co: 2 * half, kh: 1, kw: 1 }),
    addressOf(backend, a),
    addressOf(backend, b),
    addressOf(backend, out),
  );
  return out;
}) as unknown as KernelFunc;

/**
 * A float32 slice along the last axis only (every leading axis whole; ShuffleNetV2's channel split), or undefined for
 * tfjs's kernel. tfjs's wasm Slice copies such a slice one row at a time through a new typed-array view per row
 * (at batch 32, 13 channel splits took 190 ms of ShuffleNetV2's 1.2 s); here each row is one `copyWithin` inside the
 * backend's memory.
 */
function trySliceLastAxis(args: KernelArgs): TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  if (x?.dtype !== 'float32' || x.shape.length < 2) return undefined;
  const { begin, size } = (args.attrs ?? {}) as unknown as { begin: number | number[]; size?: number | number[] };
  const [b, s] = slice_util.parseSliceParams(x as never, begin, size);
  const last = x.shape.length - 1;
  for (let i = 0; i < last; i++) if (b[i] !== 0 || s[i] !== x.shape[i]) return undefined;
  const c = x.shape[last]!;
  const k = s[last]!;
  if (k === c) return undefined; // contiguous: tfjs copies it in one call
  const out = backend.makeOutput(s, 'float32');
  const rows = s.slice(0, last).reduce((p, d) => p * d, 1);
  if (rows === 0 || k === 0) return out;
  // The view after makeOutput: allocating may have grown the memory and replaced its buffer.
  const heap = new Float32Array(memoryOf(backend).buffer);
  let src = addressOf(backend, x) / 4 + b[last]!;
  let dst = addressOf(backend, out) / 4;
  for (let r = 0; r < rows; r++, src += c, dst += k) heap.copyWithin(dst, src, src + k);
  return out;
}

/**
 * A float32 pad that {@link takesPad} gives to cnn's side (a small one, or one with a NaN constant), or undefined for
 * tfjs's kernel: the output is filled with the constant, then the input is copied in contiguous runs, one `copyWithin`
 * each inside the backend's memory. A run is the input's extent along the last padded axis times every axis after it
 * (unpadded, so contiguous in both): a row of channels for the CIFAR ResNets' option-A shortcut, which appends zero
 * channels; an image row of pixels for ShuffleNetV1's average-pool shortcut, which pads the rows and columns.
 */
function trySmallPad(args: KernelArgs): TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  if (x?.dtype !== 'float32' || x.shape.length < 1) return undefined;
  const { paddings, constantValue } = (args.attrs ?? {}) as unknown as PadV2Attrs;
  const rank = x.shape.length;
  if (!Array.isArray(paddings) || paddings.length !== rank) return undefined;
  let last = -1; // the last padded axis
  for (let d = 0; d < rank; d++) {
    const [b, a] = paddings[d]!;
    if (!(Number.isInteger(b) && Number.isInteger(a) && b >= 0 && a >= 0)) return undefined;
    if (b > 0 || a > 0) last = d;
  }
  if (last < 0) return undefined; // nothing to pad: tfjs's copy
  const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  const values = shape.reduce((p, d) => p * d, 1);
  const run = x.shape.slice(last).reduce((p, d) => p * d, 1);
  const runs = x.shape.slice(0, last).reduce((p, d) => p * d, 1);
  if (run * runs === 0 || !takesPad(args as never, values, runs, constantValue ?? 0)) return undefined;
  // Output strides; the offset of the first run, then the index of the run along each axis before `last`.
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const out = backend.makeOutput(shape, 'float32');
  // The view after makeOutput: allocating may have grown the memory and replaced its buffer.
  const heap = new Float32Array(memoryOf(backend).buffer);
  const base = addressOf(backend, out) / 4;
  heap.fill(constantValue ?? 0, base, base + values);
  const index = new Array<number>(last).fill(0);
  let src = addressOf(backend, x) / 4;
  for (let r = 0; r < runs; r++, src += run) {
    let dst = base + paddings[last]![0] * stride[last]!;
    for (let d = 0; d < last; d++) dst += (index[d]! + paddings[d]![0]) * stride[d]!;
    heap.copyWithin(dst, src, src + run);
    for (let d = last - 1; d >= 0 && ++index[d]! === x.shape[d]; d--) index[d] = 0;
  }
  return out;
}

// Squeeze-and-excitation with a hard-sigmoid gate (kernels.c, OP_SE_GATE); the op (fused-ops.ts) has checked the
// dtypes and shapes. The kernel finds the four weight tensors through a table of their addresses.
const squeezeExcite = ((args: KernelArgs) => {
  const backend = args.backend as WasmBackendLike;
  const { x, w1, b1, w2, b2 } = args.inputs;
  checkFloat(SQUEEZE_EXCITE, x, w1, b1, w2, b2);
  const [n, h, w, c] = x.shape;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  if (n * h * w * c === 0) return out;
  const table = backend.wasm._malloc(16) >>> 0;
  if (!table) throw new Error(`${SQUEEZE_EXCITE}: out of memory allocating its weight table`);
  try {
    const words = [w1, b1, w2, b2].map((t) => addressOf(backend, t));
    new Int32Array(memoryOf(backend).buffer, table, 4).set(words);
    runConvKernel(
      backend,
      'se_gate',
      plainGeometry({ n, h: h * w, w: 1, c, oh: 1, ow: 1, co: w1.shape[3], kh: 1, kw: 1 }),
      addressOf(backend, x),
      table,
      addressOf(backend, out),
    );
  } finally {
    backend.wasm._free(table);
  }
  return out;
}) as unknown as KernelFunc;

// Max pooling with -infinity padding in one pass (kernels.c, OP_MAXPOOL_FWD); the op (fused-ops.ts) has checked the
// shapes and attributes.
const paddedMaxPool = ((args: KernelArgs) => {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  checkFloat(PADDED_MAX_POOL, x);
  const { filterSize, strides, pads } = (args.attrs ?? {}) as unknown as PaddedMaxPoolAttrs;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw] = filterSize;
  const [sh, sw] = strides;
  const oh = Math.floor((h + pads[0] + pads[1] - kh) / sh) + 1;
  const ow = Math.floor((w + pads[2] + pads[3] - kw) / sw) + 1;
  const out = backend.makeOutput([n, oh, ow, c], 'float32');
  if (n * c === 0 || oh <= 0 || ow <= 0 || h === 0 || w === 0) return out;
  const g = { n, h, w, c, oh, ow, co: c, kh, kw, sh, sw, dh: 1, dw: 1, pt: pads[0], pl: pads[2], groups: c };
  runConvKernel(backend, 'maxpool_fwd', g, addressOf(backend, x), 0, addressOf(backend, out));
  return out;
}) as unknown as KernelFunc;

/**
 * tfjs's MaxPool on cnn's max pooling kernel (kernels.c, OP_MAXPOOL_FWD; 'same' padding counts as -infinity there as in
 * tfjs), for every float32 NHWC call whatever CNN_IGEMM says, as cnn's MaxPoolGrad: tfjs's wasm kernel
 * (XNNPACK's) gave -infinity for a window whose first tap is NaN and the largest number for one whose NaN came later;
 * cnn's kernel makes a window with a NaN give NaN, as PyTorch does, and its gradient goes where PyTorch sends it.
 * Returns undefined (tfjs's kernel) for any other dtype and for an empty tensor.
 */
function tryMaxPool(args: KernelArgs): TensorInfo | undefined {
  const backend = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  if (x?.dtype !== 'float32' || x.shape.length !== 4 || isEmpty(x.shape)) return undefined;
  const info = poolInfo(x, args.attrs);
  if (!info || info.outHeight <= 0 || info.outWidth <= 0) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  runConvKernel(
    backend,
    'maxpool_fwd',
    convGeometry(info, x.shape[3]),
    addressOf(backend, x),
    0,
    addressOf(backend, out),
  );
  return out;
}

/** cnn's replacements of tfjs's forward convolutions, and tfjs's kernels they fall back to. */
const ours = new WeakSet<KernelFunc>();
const originals = new Map<string, KernelConfig>();

/**
 * Replaces tfjs's Conv2D, FusedConv2D, the two depthwise forward kernels, the element-wise ops, the matrix
 * products (BatchMatMul, _FusedMatMul), AvgPool and the spatial Mean (a global average pool) on 'wasm' with kernels
 * that run cnn's (Winograd F(2x2, 3x3), igemm, depthwise; winograd.ts) where they can and should, and call tfjs's own
 * kernel (with its set-up, which the backend runs at start) for every other call; also Slice (last-axis slices,
 * {@link trySliceLastAxis}), PadV2 (small pads, {@link trySmallPad}), MaxPool (every float32 call, {@link tryMaxPool})
 * and Concat along the last axis ({@link tryConcat}).
 */
function registerWinograd(): void {
  registerWinogradFlag();
  const routes: Array<[string, typeof tryWinograd]> = [
    [Conv2D, tryWinograd],
    [FusedConv2D, tryWinograd],
    [DepthwiseConv2dNative, tryDepthwise],
    [FusedDepthwiseConv2D, tryDepthwise],
    [Add, (args) => tryEltwise('add', 0, args)],
    [Multiply, (args) => tryEltwise('mul', 0, args)],
    [Sub, (args) => tryEltwise('sub', 0, args)],
    [Relu, (args) => tryEltwise('none', 1, args)],
    [Relu6, (args) => tryEltwise('none', 2, args)],
    [Slice, (args) => trySliceLastAxis(args as unknown as KernelArgs)],
    [PadV2, (args) => trySmallPad(args as unknown as KernelArgs)],
    [BatchMatMul, tryMatMul],
    [_FusedMatMul, tryMatMul],
    [AvgPool, tryAvgPool],
    [Mean, tryMean],
    [MaxPool, (args) => tryMaxPool(args as unknown as KernelArgs)],
    [Concat, tryConcat],
  ];
  for (const [name, route] of routes) {
    const current = getKernel(name, 'wasm');
    if (current && !ours.has(current.kernelFunc)) originals.set(name, current);
    const original = originals.get(name);
    if (!original) continue; // tfjs's wasm backend is not loaded: nothing to wrap
    const kernelFunc = ((args: Parameters<KernelFunc>[0]) =>
      route(args as unknown as Parameters<typeof tryWinograd>[0]) ??
      original.kernelFunc(args)) as unknown as KernelFunc;
    ours.add(kernelFunc);
    if (current) unregisterKernel(name, 'wasm');
    registerKernel({ ...original, kernelFunc });
  }
}

/** Registers cnn's kernels for the 'wasm' backend, replacing tfjs's where it has one. Idempotent. */
export function registerWasmKernels(): void {
  const configs: KernelConfig[] = KERNELS.map(([kernelName, role, depthwise]) => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: convKernel(kernelName, role, depthwise),
  }));
  configs.push({ kernelName: MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad });
  configs.push({ kernelName: FUSED_ELTWISE, backendName: 'wasm', kernelFunc: fusedEltwise });
  configs.push({ kernelName: SHUFFLE_CONCAT, backendName: 'wasm', kernelFunc: shuffleConcat });
  configs.push({ kernelName: SQUEEZE_EXCITE, backendName: 'wasm', kernelFunc: squeezeExcite });
  configs.push({ kernelName: PADDED_MAX_POOL, backendName: 'wasm', kernelFunc: paddedMaxPool });
  for (const config of configs) {
    if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  registerWinograd();
  registerEmptyInputGuards();
}
