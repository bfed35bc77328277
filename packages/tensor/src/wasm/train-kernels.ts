// Registers cnn's training kernels on tfjs's 'wasm' backend (issue 15): BatchNorm in training mode as one pass per
// kernel (kernels.c, "Training: BatchNorm"). The ops that run them, with a tfjs fallback for other backends, are in
// ../batch-norm-train.ts.
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  AvgPoolGrad,
  BatchMatMul,
  Identity,
  Sum,
  Tanh,
  type AvgPoolGradAttrs,
  type BatchMatMulAttrs,
  type SumAttrs,
} from '@tensorflow/tfjs-core';
import {
  ADAM_STEP,
  BN_TRAIN_BACKWARD,
  BN_TRAIN_FORWARD,
  FILTER_GRAD_C1,
  PATCHES_T,
  RELU_GRAD,
  SGD_STEP,
  TANH_GRAD,
} from '../kernel-names';
import { attrsFromKernel, convInfo } from '../conv-options';
import {
  addressOf,
  convGeometry,
  memoryOf,
  plainGeometry,
  runConvKernel,
  type ConvGeometry,
  type WasmBackendLike,
} from './module';
import { CONV_ACTIVATIONS, checkActivation } from '../fused-ops';
import { ACTIVATIONS } from './winograd';

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
}

/** Rows of c channels: every dimension but the last, and the last. */
function rowsOf(op: string, t: TensorInfo): { n: number; c: number } {
  if (t.dtype !== 'float32') throw new Error(`${op}: expected float32 tensors, got ${t.dtype}`);
  const c = t.shape[t.shape.length - 1] ?? 1;
  const n = t.shape.reduce((a, b) => a * b, 1) / Math.max(c, 1);
  if (!(t.shape.length >= 1 && c > 0 && n > 0)) throw new Error(`${op}: needs a non-empty input, got [${t.shape}]`);
  return { n, c };
}

/** The parameter block of a pass over n rows of c channels (the other sizes are 1: the kernels ignore them). */
function rows(n: number, c: number): ConvGeometry {
  return plainGeometry({ n, h: 1, w: 1, c, oh: 1, ow: 1, co: c, kh: 1, kw: 1 });
}

function checkChannels(op: string, c: number, t: TensorInfo, per: number): void {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype !== 'float32' || size !== per * c)
    throw new Error(`${op}: expected ${per * c} float32 values per-channel, got [${t.shape}] ${t.dtype}`);
}

/** The BatchNorm kernels' `activation` attribute as kernels.c's ACT_ number: linear (absent), relu or relu6. */
function bnActivation(op: string, attrs: NamedAttrMap | undefined): number {
  return ACTIVATIONS[checkActivation(op, attrs?.activation ?? 'linear', CONV_ACTIVATIONS)]!;
}

/** `length` floats at `address` of the backend's memory (a view: take it again after anything that allocates). */
function floatsAt(b: WasmBackendLike, address: number, length: number): Float32Array {
  return new Float32Array(memoryOf(b).buffer, address, length);
}

/** A per-channel input of a BatchNorm kernel (checked already) as floats, or undefined when absent. */
function channelsOf(b: WasmBackendLike, t: TensorInfo | undefined, c: number): Float32Array | undefined {
  return t ? floatsAt(b, addressOf(b, t), c) : undefined;
}

/**
 * Runs `body` with a block of `floats` floats of the backend's memory (freed afterwards, also on a throw): the
 * per-channel tables that BatchNorm's passes read (kernels.c, "Training: BatchNorm").
 */
function withTable<T>(b: WasmBackendLike, op: string, floats: number, body: (table: number) => T): T {
  const table = b.wasm._malloc(floats * 4) >>> 0;
  if (!table) throw new Error(`${op}: out of memory allocating its per-channel table`);
  try {
    return body(table);
  } finally {
    b.wasm._free(table);
  }
}

/**
 * BN_TRAIN_FORWARD: the statistics pass ('bn_stats'), the per-channel coefficients here in float32 (what tfjs's
 * Add, Rsqrt and Multiply make of them: Math.fround after each double operation is float32's correctly rounded
 * result), then the normalisation pass ('bn_affine') with the activation. Outputs y, mean, variance, invStd,
 * unbiased.
 */
const trainForward = (({ inputs, backend, attrs }: KernelArgs & { attrs?: NamedAttrMap }): TensorInfo[] => {
  const b = backend as WasmBackendLike;
  const op = BN_TRAIN_FORWARD;
  const act = bnActivation(op, attrs);
  const eps = attrs?.eps;
  if (typeof eps !== 'number' || !(eps >= 0)) throw new Error(`${op}: eps must be a number >= 0, got ${eps}`);
  const { x } = inputs;
  const { n, c } = rowsOf(op, x);
  // Checked before anything is allocated; read through views taken after the allocations.
  for (const t of [inputs.weight, inputs.bias]) if (t) checkChannels(op, c, t, 1);
  const y = b.makeOutput(x.shape.slice(), 'float32');
  const outs = [y];
  for (let i = 0; i < 4; i++) outs.push(b.makeOutput([c], 'float32'));
  // [mean; scale; shift] for bn_affine, then bn_stats' [mean; variance].
  withTable(b, op, 5 * c, (table) => {
    runConvKernel(b, 'bn_stats', rows(n, c), addressOf(b, x), 0, table + 12 * c);
    // Views taken after the pass, which may have allocated scratch (and, unshared, replaced the memory's buffer).
    const t = floatsAt(b, table, 5 * c);
    const [mean, variance, invStd, unbiased] = outs.slice(1).map((o) => floatsAt(b, addressOf(b, o), c));
    const w = channelsOf(b, inputs.weight, c);
    const shift = channelsOf(b, inputs.bias, c);
    const e = Math.fround(eps);
    const k = Math.fround(n / (n - 1));
    for (let j = 0; j < c; j++) {
      const mu = t[3 * c + j];
      const v = t[4 * c + j];
      const inv = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v + e))));
      mean[j] = mu;
      variance[j] = v;
      invStd[j] = inv;
      unbiased[j] = Math.fround(v * k);
      t[j] = mu;
      t[c + j] = w ? Math.fround(inv * w[j]) : inv;
      t[2 * c + j] = shift ? shift[j] : 0;
    }
    runConvKernel(b, 'bn_affine', rows(n, c), addressOf(b, x), table, addressOf(b, y), { bias: 0, act });
  });
  return outs;
}) as unknown as KernelFunc;

/**
 * BN_TRAIN_BACKWARD: the sums pass ('bn_bwd_sums'), the input gradient's coefficients here in float32 (as tfjs's
 * RealDiv and Multiply make them), then the input-gradient pass ('bn_bwd_input'). With an activation both passes
 * recompute its input from x with bn_affine's scale and shift and apply its mask to dy. Outputs dx, dweight, dbias.
 */
const trainBackward = (({ inputs, backend, attrs }: KernelArgs & { attrs?: NamedAttrMap }): TensorInfo[] => {
  const b = backend as WasmBackendLike;
  const op = BN_TRAIN_BACKWARD;
  const act = bnActivation(op, attrs);
  const { x, dy } = inputs;
  const { n, c } = rowsOf(op, x);
  if (dy.dtype !== 'float32' || dy.shape.join() !== x.shape.join())
    throw new Error(`${op}: dy must be float32 of x's shape [${x.shape}], got [${dy.shape}] ${dy.dtype}`);
  if (!inputs.mean || !inputs.invStd) throw new Error(`${op}: needs mean and invStd`);
  // Checked before anything is allocated; read through views taken after the allocations.
  for (const t of [inputs.mean, inputs.invStd, inputs.weight, inputs.bias]) if (t) checkChannels(op, c, t, 1);
  const dx = b.makeOutput(x.shape.slice(), 'float32');
  const dweight = b.makeOutput([c], 'float32');
  const dbias = b.makeOutput([c], 'float32');
  // [mean; invStd; scale; shift] for bn_bwd_sums (the last two with an activation), its [Σ dy; Σ dy x̂], then
  // [mean; k1; m1; k2; scale; shift] for bn_bwd_input.
  withTable(b, op, 12 * c, (table) => {
    let t = floatsAt(b, table, 12 * c);
    const mean = floatsAt(b, addressOf(b, inputs.mean), c);
    let inv = floatsAt(b, addressOf(b, inputs.invStd), c);
    const w = channelsOf(b, inputs.weight, c);
    const shift = channelsOf(b, inputs.bias, c);
    for (let j = 0; j < c; j++) {
      // weight * invStd: dx's factor k1, and bn_affine's scale (the same product, so the forward's bits).
      const k1 = w ? Math.fround(inv[j] * w[j]) : inv[j];
      t[j] = mean[j];
      t[c + j] = inv[j];
      t[2 * c + j] = k1;
      t[3 * c + j] = shift ? shift[j] : 0;
      t[6 * c + j] = mean[j];
      t[7 * c + j] = k1;
      t[10 * c + j] = k1;
      t[11 * c + j] = shift ? shift[j] : 0;
    }
    runConvKernel(b, 'bn_bwd_sums', rows(n, c), addressOf(b, x), table, addressOf(b, dy), {
      bias: table + 16 * c,
      act,
    });
    // The pass may have allocated scratch (and, unshared, replaced the memory's buffer): fresh views.
    t = floatsAt(b, table, 12 * c);
    inv = floatsAt(b, addressOf(b, inputs.invStd), c);
    const db = floatsAt(b, addressOf(b, dbias), c);
    const dw = floatsAt(b, addressOf(b, dweight), c);
    const count = Math.fround(n);
    for (let j = 0; j < c; j++) {
      db[j] = t[4 * c + j];
      dw[j] = t[5 * c + j];
      t[8 * c + j] = Math.fround(db[j] / count);
      t[9 * c + j] = Math.fround(inv[j] * Math.fround(dw[j] / count));
    }
    runConvKernel(b, 'bn_bwd_input', rows(n, c), addressOf(b, x), table + 24 * c, addressOf(b, dy), {
      bias: addressOf(b, dx),
      act,
    });
  });
  return [dx, dweight, dbias];
}) as unknown as KernelFunc;

const tanh = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { x } = inputs;
  if (x.dtype !== 'float32') throw new Error(`Tanh: expected a float32 tensor, got ${x.dtype}`);
  const out = b.makeOutput(x.shape.slice(), 'float32');
  const size = x.shape.reduce((a, d) => a * d, 1);
  if (size > 0) runConvKernel(b, 'tanh', rows(size, 1), addressOf(b, x), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

/**
 * One element-wise gradient pass (OP_TANH_GRAD, OP_RELU_GRAD): out = dy times a factor of `value` (tanh's output, or
 * the activation's input), both of `value`'s size.
 */
function gradPass(
  b: WasmBackendLike,
  kernel: string,
  op: 'tanh_grad' | 'relu_grad',
  value: TensorInfo,
  dy: TensorInfo,
  act: number,
): TensorInfo {
  const size = value.shape.reduce((a, d) => a * d, 1);
  checkChannels(kernel, 1, dy, size);
  checkChannels(kernel, 1, value, size);
  const out = b.makeOutput(value.shape.slice(), 'float32');
  if (size > 0)
    runConvKernel(b, op, rows(size, 1), addressOf(b, value), 0, addressOf(b, dy), { bias: addressOf(b, out), act });
  return out;
}

const tanhGrad = (({ inputs, backend }: KernelArgs): TensorInfo =>
  gradPass(backend as WasmBackendLike, TANH_GRAD, 'tanh_grad', inputs.y, inputs.dy, 0)) as unknown as KernelFunc;

const reluGrad = (({ inputs, backend, attrs }: KernelArgs & { attrs: NamedAttrMap }): TensorInfo =>
  gradPass(
    backend as WasmBackendLike,
    RELU_GRAD,
    'relu_grad',
    inputs.x,
    inputs.dy,
    ACTIVATIONS[attrs.relu6 ? 'relu6' : 'relu']!, // which mask OP_RELU_GRAD applies
  )) as unknown as KernelFunc;

/** Words of one parameter's record in OP_SGD_STEP's table (kernels.c, SGD_WORDS). */
const SGD_WORDS = 9;
/** Flags of a record (kernels.c, the SGD_ enum). */
const SGD_DECAY = 1;
const SGD_DAMPEN = 2;
const SGD_NESTEROV = 4;

/** Attributes of {@link SGD_STEP}: the hyperparameters, and per parameter its learning rate and weight decay. */
export interface SgdStepAttrs {
  count: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  lrs: number[];
  weightDecays: number[];
}

const sgdStep = (({ inputs, backend, attrs }: KernelArgs & { attrs: NamedAttrMap }): TensorInfo[] => {
  const b = backend as WasmBackendLike;
  const a = attrs as unknown as SgdStepAttrs;
  const outs: TensorInfo[] = [];
  const words = new Int32Array(a.count * SGD_WORDS + 2);
  const floats = new Float32Array(words.buffer);
  let live = 0;
  for (let i = 0; i < a.count; i++) {
    const p = inputs[`p${i}`];
    const g = inputs[`g${i}`];
    const buf = inputs[`b${i}`];
    const size = p.shape.reduce((s, d) => s * d, 1);
    checkChannels(SGD_STEP, 1, p, size);
    checkChannels(SGD_STEP, 1, g, size);
    if (buf) checkChannels(SGD_STEP, 1, buf, size);
    const np = b.makeOutput(p.shape.slice(), 'float32');
    outs.push(np);
    const nb = a.momentum !== 0 ? b.makeOutput(p.shape.slice(), 'float32') : undefined;
    if (nb) outs.push(nb);
    if (size === 0) continue;
    const r = live * SGD_WORDS;
    live += 1;
    words[r] = addressOf(b, p);
    words[r + 1] = addressOf(b, g);
    words[r + 2] = buf ? addressOf(b, buf) : 0;
    words[r + 3] = addressOf(b, np);
    words[r + 4] = nb ? addressOf(b, nb) : 0;
    words[r + 5] = size;
    floats[r + 6] = a.lrs[i];
    floats[r + 7] = a.weightDecays[i];
    words[r + 8] =
      (a.weightDecays[i] !== 0 ? SGD_DECAY : 0) |
      (a.dampening !== 0 ? SGD_DAMPEN : 0) |
      (a.nesterov ? SGD_NESTEROV : 0);
  }
  if (live === 0) return outs;
  const hyper = live * SGD_WORDS;
  floats[hyper] = a.momentum;
  floats[hyper + 1] = 1 - a.dampening;
  runTable(b, 'sgd_step', SGD_STEP, live, words.subarray(0, hyper + 2), hyper);
  return outs;
}) as unknown as KernelFunc;

/**
 * Copies a table of records (and the hyperparameters after them, from word `hyper`) into the backend's memory and
 * runs an optimizer kernel on it.
 */
function runTable(
  b: WasmBackendLike,
  op: 'sgd_step' | 'adam_step',
  name: string,
  live: number,
  words: Int32Array,
  hyper: number,
): void {
  const table = b.wasm._malloc(words.length * 4) >>> 0;
  if (!table) throw new Error(`${name}: out of memory allocating the table of ${live} parameters`);
  try {
    // A fresh view: _malloc may have grown (and so replaced) the memory's buffer.
    const memory = (b.wasm.asm?.memory ?? b.wasm.wasmMemory) as WebAssembly.Memory;
    new Int32Array(memory.buffer, table, words.length).set(words);
    runConvKernel(b, op, rows(live, 1), table, table + hyper * 4, 0);
  } finally {
    b.wasm._free(table);
  }
}

/** Words of one parameter's record in OP_ADAM_STEP's table (kernels.c, ADAM_WORDS). */
const ADAM_WORDS = 16;
const ADAM_L2 = 1;
const ADAM_DECOUPLED = 2;
const ADAM_AMSGRAD = 4;

/** Attributes of {@link ADAM_STEP}: the hyperparameters, and per parameter its factors. */
export interface AdamStepAttrs {
  count: number;
  beta1: number;
  beta2: number;
  eps: number;
  amsgrad: boolean;
  decoupled: boolean;
  /** Per parameter: weight decay (L2) or 1 - lr * weightDecay (decoupled); 0 / 1: none. */
  decays: number[];
  /** Per parameter: whether weight decay applies. */
  decayOn: boolean[];
  /** Per parameter: lr / (1 - beta1^t). */
  stepSizes: number[];
  /** Per parameter: sqrt(1 - beta2^t). */
  bias2Sqrts: number[];
}

const adamStep = (({ inputs, backend, attrs }: KernelArgs & { attrs: NamedAttrMap }): TensorInfo[] => {
  const b = backend as WasmBackendLike;
  const a = attrs as unknown as AdamStepAttrs;
  const outs: TensorInfo[] = [];
  const words = new Int32Array(a.count * ADAM_WORDS + 5);
  const floats = new Float32Array(words.buffer);
  let live = 0;
  for (let i = 0; i < a.count; i++) {
    const p = inputs[`p${i}`];
    const size = p.shape.reduce((s, d) => s * d, 1);
    const ins = [p, inputs[`g${i}`], inputs[`m${i}`], inputs[`v${i}`], inputs[`vmax${i}`]];
    for (const t of ins) if (t) checkChannels(ADAM_STEP, 1, t, size);
    const made = [p, p, p, ...(a.amsgrad ? [p] : [])].map(() => b.makeOutput(p.shape.slice(), 'float32'));
    outs.push(...made);
    if (size === 0) continue;
    const r = live * ADAM_WORDS;
    live += 1;
    ins.forEach((t, j) => {
      words[r + j] = t ? addressOf(b, t) : 0;
    });
    made.forEach((t, j) => {
      words[r + 5 + j] = addressOf(b, t);
    });
    words[r + 9] = size;
    const decay = a.decayOn[i] ? (a.decoupled ? ADAM_DECOUPLED : ADAM_L2) : 0;
    words[r + 10] = decay | (a.amsgrad ? ADAM_AMSGRAD : 0);
    floats[r + 11] = a.decays[i];
    floats[r + 12] = a.stepSizes[i];
    floats[r + 13] = a.bias2Sqrts[i];
  }
  if (live === 0) return outs;
  const hyper = live * ADAM_WORDS;
  floats[hyper] = a.beta1;
  floats[hyper + 1] = 1 - a.beta1;
  floats[hyper + 2] = a.beta2;
  floats[hyper + 3] = 1 - a.beta2;
  floats[hyper + 4] = a.eps;
  runTable(b, 'adam_step', ADAM_STEP, live, words.subarray(0, hyper + 5), hyper);
  return outs;
}) as unknown as KernelFunc;

const patchesT = (({ inputs, backend, attrs }: KernelArgs & { attrs: NamedAttrMap }): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { x } = inputs;
  const a = attrsFromKernel(PATCHES_T, attrs, 1);
  const fShape = attrs.filterShape as number[];
  if (x.dtype !== 'float32') throw new Error(`${PATCHES_T}: expected a float32 input, got ${x.dtype}`);
  const info = convInfo(PATCHES_T, x.shape, fShape, a);
  const rowsOut = info.batchSize * info.outHeight * info.outWidth;
  const krows = info.filterHeight * info.filterWidth * info.inChannels;
  const out = b.makeOutput([krows, rowsOut], 'float32');
  if (rowsOut === 0 || krows === 0 || x.shape.some((d) => d === 0)) return out;
  const g = { ...convGeometry(info, 1), co: 1 };
  runConvKernel(b, 'patches_t', g, addressOf(b, x), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

// ---------------------------------------------------------------------------------------------
// tfjs kernels that a training step runs many times, replaced on 'wasm' where tfjs's own is slow; each hands any
// case it does not take to tfjs's kernel (kept in `tfjsKernels` when these are registered).

const tfjsKernels = new Map<string, KernelFunc>();

/** The wasm backend's reference counting, which the kernels below use beside {@link WasmBackendLike}. */
type RefCounted = WasmBackendLike & { incRef(dataId: object): void; disposeData(dataId: object): boolean };

function tfjsKernel(name: string, args: unknown): TensorInfo | TensorInfo[] {
  const k = tfjsKernels.get(name);
  if (!k) throw new Error(`${name}: tfjs's wasm kernel is not registered`);
  return k(args as Parameters<KernelFunc>[0]);
}

// Identity (tfjs's engine clones every tensor a gradient saves, tf.clone): tfjs's wasm kernel copies the data; here
// the output shares the input's memory, as tfjs's wasm Reshape already does (no kernel writes into its inputs).
const identity = ((args: KernelArgs) => {
  const { x } = args.inputs;
  if (x.dtype === 'string') return tfjsKernel(Identity, args);
  (args.backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}) as unknown as KernelFunc;

// Average pooling's input gradient, SIMD over channels (kernels.c, OP_AVGPOOL_BWD); the divisor is the whole
// window, as tfjs's kernel has it.
const avgPoolGrad = ((args: KernelArgs & { attrs: NamedAttrMap }) => {
  const b = args.backend as WasmBackendLike;
  const { dy, input } = args.inputs;
  const a = args.attrs as unknown as AvgPoolGradAttrs;
  const empty = [...dy.shape, ...input.shape].some((d) => d === 0);
  if (dy.dtype !== 'float32' || input.dtype !== 'float32' || empty) return tfjsKernel(AvgPoolGrad, args);
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
  );
  if (dy.shape.join() !== [info.batchSize, info.outHeight, info.outWidth, info.outChannels].join())
    throw new Error(`${AvgPoolGrad}: dy [${dy.shape}] does not match the pooling of [${input.shape}]`);
  const out = b.makeOutput(input.shape.slice(), 'float32');
  runConvKernel(b, 'avgpool_bwd', convGeometry(info, info.inChannels), addressOf(b, dy), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

/** The last axis's length and the number of rows before it, when `axes` are every axis but the last. */
function leadingAxes(shape: number[], axis: number | number[]): { n: number; c: number } | undefined {
  const r = shape.length;
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((d) => (d < 0 ? d + r : d)))].sort(
    (p, q) => p - q,
  );
  if (r < 2 || axes.length !== r - 1 || axes.some((d, i) => d !== i)) return undefined;
  const c = shape[r - 1];
  return { n: shape.reduce((p, d) => p * d, 1) / c, c };
}

// A sum over every axis but the last (a bias's gradient: tfjs's Add gradient sums dy so, and tfjs's wasm Sum first
// transposes the whole tensor) as one read (kernels.c, OP_COLUMN_SUM: float32 blocks into double totals, one thread).
const sum = ((args: KernelArgs & { attrs: NamedAttrMap }) => {
  const b = args.backend as WasmBackendLike;
  const { x } = args.inputs;
  const a = args.attrs as unknown as SumAttrs;
  const rc = x.dtype === 'float32' && !x.shape.some((d) => d === 0) ? leadingAxes(x.shape, a.axis) : undefined;
  if (!rc) return tfjsKernel(Sum, args);
  const out = b.makeOutput(a.keepDims ? [...x.shape.slice(0, -1).map(() => 1), rc.c] : [rc.c], 'float32');
  runConvKernel(b, 'column_sum', rows(rc.n, rc.c), addressOf(b, x), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

/** The last two axes of t swapped, in a new output of the backend (OP_TRANSPOSE). */
function transposed(b: WasmBackendLike, t: TensorInfo): TensorInfo {
  const r = t.shape.length;
  const [h, w] = [t.shape[r - 2], t.shape[r - 1]];
  const out = b.makeOutput([...t.shape.slice(0, -2), w, h], 'float32');
  const g = {
    ...rows(
      t.shape.slice(0, -2).reduce((p, d) => p * d, 1),
      1,
    ),
    h,
    w,
    co: 1,
  };
  runConvKernel(b, 'transpose', g, addressOf(b, t), 0, addressOf(b, out));
  return out;
}

/**
 * A product of one matrix pair with one operand transposed, on cnn's 1x1 convolution-gradient kernels, whose loops
 * read the transposed operand in place: A^T . B is a filter gradient (rows of A and B the pixels, A's columns the
 * input channels, B's the output channels), A . B^T an input gradient (rows of A the pixels, B [n, k] the filter of
 * n input and k output channels). Undefined for any other call (batches of pairs, both or neither transposed).
 */
function oneTransposed(
  b: WasmBackendLike,
  lhs: TensorInfo,
  rhs: TensorInfo,
  at: BatchMatMulAttrs,
): TensorInfo | undefined {
  if (!at.transposeA === !at.transposeB) return undefined;
  const count = (t: TensorInfo) => t.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  if (count(lhs) !== 1 || count(rhs) !== 1) return undefined;
  const [r0, r1] = lhs.shape.slice(-2);
  const [s0, s1] = rhs.shape.slice(-2);
  const lead = lhs.shape.length >= rhs.shape.length ? lhs.shape.slice(0, -2) : rhs.shape.slice(0, -2);
  if (at.transposeA) {
    // A [k, m], B [k, n]: out [m, n] = sum over the k rows.
    if (r0 !== s0) return undefined;
    const out = b.makeOutput([...lead, r1, s1], 'float32');
    const g = plainGeometry({ n: 1, h: 1, w: r0, c: r1, oh: 1, ow: r0, co: s1, kh: 1, kw: 1 });
    runConvKernel(b, 'conv_bwd_filter', g, addressOf(b, lhs), addressOf(b, out), addressOf(b, rhs));
    return out;
  }
  // A [m, k], B [n, k]: out [m, n], each row of A times each row of B.
  if (r1 !== s1) return undefined;
  const out = b.makeOutput([...lead, r0, s0], 'float32');
  const g = plainGeometry({ n: 1, h: 1, w: r0, c: s0, oh: 1, ow: r0, co: r1, kh: 1, kw: 1 });
  runConvKernel(b, 'conv_bwd_input', g, addressOf(b, out), addressOf(b, rhs), addressOf(b, lhs));
  return out;
}

// A matrix product with a transposed operand (every matMul gradient: dA = dy . B^T, dB = A^T . dy): one pair with one
// operand transposed on cnn's kernels in place (oneTransposed); otherwise the operand transposed first, then tfjs's
// plain product (XNNPACK), whose transposed-operand path is a plain loop.
const batchMatMul = ((args: KernelArgs & { attrs: NamedAttrMap }) => {
  const b = args.backend as RefCounted;
  const { a: lhs, b: rhs } = args.inputs;
  const at = args.attrs as unknown as BatchMatMulAttrs;
  const empty = [...lhs.shape, ...rhs.shape].some((d) => d === 0);
  const plain = !at.transposeA && !at.transposeB;
  if (
    plain ||
    empty ||
    lhs.dtype !== 'float32' ||
    rhs.dtype !== 'float32' ||
    lhs.shape.length < 2 ||
    rhs.shape.length < 2
  )
    return tfjsKernel(BatchMatMul, args);
  const one = oneTransposed(b, lhs, rhs, at);
  if (one) return one;
  const ta = at.transposeA ? transposed(b, lhs) : lhs;
  const tb = at.transposeB ? transposed(b, rhs) : rhs;
  try {
    const attrs = { ...args.attrs, transposeA: false, transposeB: false };
    return tfjsKernel(BatchMatMul, { ...args, inputs: { a: ta, b: tb }, attrs });
  } finally {
    if (ta !== lhs) b.disposeData(ta.dataId);
    if (tb !== rhs) b.disposeData(tb.dataId);
  }
}) as unknown as KernelFunc;

// The filter gradient of a one-input-channel, stride-1, undilated convolution (kernels.c, OP_FILTER_C1); the op
// (conv-grad-matmul.ts) has checked the case and the size of the kernel's scratch.
const filterGradC1 = (({ inputs, backend, attrs }: KernelArgs & { attrs: NamedAttrMap }): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { x, dy } = inputs;
  const a = attrsFromKernel(FILTER_GRAD_C1, attrs, 1);
  const fShape = attrs.filterShape as number[];
  if (x.dtype !== 'float32' || dy.dtype !== 'float32')
    throw new Error(`${FILTER_GRAD_C1}: expected float32 tensors, got ${x.dtype} and ${dy.dtype}`);
  const info = convInfo(FILTER_GRAD_C1, x.shape, fShape, a);
  const g = convGeometry(info, 1);
  const ok = g.c === 1 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1;
  if (!ok || dy.shape.join() !== [g.n, g.oh, g.ow, g.co].join())
    throw new Error(
      `${FILTER_GRAD_C1}: needs one input channel, stride 1, no dilation and dy [${[g.n, g.oh, g.ow, g.co]}]`,
    );
  const out = b.makeOutput(fShape.slice(), 'float32');
  runConvKernel(b, 'filter_c1', g, addressOf(b, x), addressOf(b, out), addressOf(b, dy));
  return out;
}) as unknown as KernelFunc;

/** Registers the training kernels on 'wasm' (again after a re-registration of the backend: idempotent). */
export function registerTrainKernels(): void {
  const wrapped: Array<[string, KernelFunc]> = [
    [Identity, identity],
    [AvgPoolGrad, avgPoolGrad],
    [Sum, sum],
    [BatchMatMul, batchMatMul],
  ];
  for (const [kernelName, kernelFunc] of wrapped) {
    const old = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
    if (!old) continue;
    if (old.kernelFunc !== kernelFunc) tfjsKernels.set(kernelName, old.kernelFunc);
    unregisterKernel(kernelName, 'wasm');
    registerKernel({ ...old, kernelFunc });
  }
  const configs: Array<[string, KernelFunc]> = [
    [BN_TRAIN_FORWARD, trainForward],
    [BN_TRAIN_BACKWARD, trainBackward],
    [Tanh, tanh],
    [TANH_GRAD, tanhGrad],
    [RELU_GRAD, reluGrad],
    [SGD_STEP, sgdStep],
    [ADAM_STEP, adamStep],
    [PATCHES_T, patchesT],
    [FILTER_GRAD_C1, filterGradC1],
  ];
  for (const [kernelName, kernelFunc] of configs) {
    if (getKernel(kernelName, 'wasm')) unregisterKernel(kernelName, 'wasm');
    registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
