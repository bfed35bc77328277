import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { KERNEL_OPS, PARAM_FIELDS, PARAM_WORDS, type ConvParams, type KernelOp } from './kernel-abi';
import { KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels-binary';
import { CONTROL_BYTES, KernelPool, type KernelExports } from './pool';
import { getPlatform } from './platform';

/** The parts of tfjs's wasm backend (and of its Emscripten module) that our kernels use. */
export interface WasmBackendLike {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** The module's raw exports (Emscripten's `Module.asm`). */
    asm?: { memory?: WebAssembly.Memory; malloc?: (bytes: number) => number; free?: (ptr: number) => void };
    tfjs?: { getThreadsCount?(): number };
    wasmMemory?: WebAssembly.Memory;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
}

/**
 * Geometry of one convolution (or pooling window): the size fields of the kernels' parameter block. The
 * addresses and the thread count are filled in by {@link runConvKernel}.
 */
export type ConvGeometry = Omit<ConvParams, 'x' | 'f' | 'y' | 'scratch' | 'slots' | 'bias' | 'act'>;

/** A convolution's geometry for kernels.c, from tfjs's Conv2DInfo and the group count. */
export function convGeometry(info: backend_util.Conv2DInfo, groups: number): ConvGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
    groups,
  };
}

/**
 * A geometry with stride 1, dilation 1, no padding and one group unless `g` says otherwise: the shape of the kernels'
 * calls that are not a convolution layer (a filter transform, a matrix product, a pool over a whole image, rows of
 * an element-wise pass). Written out field by field in {@link convGeometry}'s order, so every geometry has one
 * shape (a spread of `g`, whose shape varies by caller, cost a batch-1 call microseconds in V8's slow paths).
 */
export function plainGeometry(
  g: Pick<ConvGeometry, 'n' | 'h' | 'w' | 'c' | 'oh' | 'ow' | 'co' | 'kh' | 'kw'> & Partial<ConvGeometry>,
): ConvGeometry {
  return {
    n: g.n,
    h: g.h,
    w: g.w,
    c: g.c,
    oh: g.oh,
    ow: g.ow,
    co: g.co,
    kh: g.kh,
    kw: g.kw,
    sh: g.sh ?? 1,
    sw: g.sw ?? 1,
    dh: g.dh ?? 1,
    dw: g.dw ?? 1,
    pt: g.pt ?? 0,
    pl: g.pl ?? 0,
    groups: g.groups ?? 1,
  };
}

export interface ConvExtras {
  bias: number;
  act: number;
  /**
   * Scratch the caller keeps ('conv_fwd_packed': the block {@link packConvFilter} returned); runConvKernel then
   * allocates none.
   */
  scratch?: number;
}

/**
 * Writes a parameter block field by field: word i of `view` gets the field that is i-th in struct conv
 * ({@link PARAM_FIELDS}, generated from kernels.c). Addresses above 2 GiB wrap to negative words, which
 * the kernels read back as the same unsigned 32-bit pointer.
 */
export function writeParams(view: Int32Array, params: ConvParams): void {
  if (view.length !== PARAM_WORDS) {
    throw new Error(`cnn wasm kernels: a parameter block is ${PARAM_WORDS} words, got a view of ${view.length}`);
  }
  for (let i = 0; i < PARAM_WORDS; i++) view[i] = params[PARAM_FIELDS[i]];
}

const instances = new WeakMap<object, KernelExports>();
const pools = new WeakMap<object, KernelPool>();
const compiled = new Map<boolean, WebAssembly.Module>();

function decode(base64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(base64, 'base64'));
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The backend's WebAssembly memory (take `.buffer` after any allocation: growing the memory replaces it). */
export function memoryOf(backend: WasmBackendLike): WebAssembly.Memory {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      'cnn wasm kernels: cannot find the WebAssembly.Memory of the tfjs wasm backend (is @tensorflow/tfjs-backend-wasm 4.22.0 installed?)',
    );
  }
  return memory;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

function imports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory } };
}

/** Alignment of the blocks the backend's `_malloc` returns once {@link alignAllocations} has run: a cache line. */
export const TENSOR_ALIGNMENT = 64;
const aligned = new WeakSet<object>();

/**
 * Makes the backend's `_malloc` return {@link TENSOR_ALIGNMENT}-byte-aligned blocks (its `_free` taking
 * them back), so that every tensor the backend allocates from then on starts on a cache line.
 *
 * Emscripten's allocator aligns to 8 bytes only, so a tensor's 16-byte SIMD loads may straddle two
 * cache lines, and how fast a kernel runs then depends on where its tensors happened to land: the
 * depthwise filter gradient of MobileNetV2's stride-2 layer took 4 ms with its input at 8 bytes past a
 * line and 2.3 ms at 16 bytes past (1.3-2 ms at 32). Each block costs 64 bytes more. tfjs allocates
 * every tensor through `backend.wasm._malloc` and frees it through `backend.wasm._free`, from
 * JavaScript (its C++ side never frees tensor memory); a pointer `_free` did not hand out (one that
 * C++ allocated, such as a non-max-suppression result) goes to the allocator unchanged. The module's
 * own `_malloc` / `_free` are lazy stubs that replace themselves with the raw exports on first use, so
 * the wrappers call the raw exports (`Module.asm`) directly; without them nothing is changed.
 */
export function alignAllocations(backend: unknown): void {
  const wasm = (backend as WasmBackendLike).wasm;
  const malloc = wasm.asm?.malloc;
  const free = wasm.asm?.free;
  if (aligned.has(wasm) || typeof malloc !== 'function' || typeof free !== 'function') return;
  aligned.add(wasm);
  const blocks = new Map<number, number>();
  wasm._malloc = (bytes: number): number => {
    const block = malloc(bytes + TENSOR_ALIGNMENT) >>> 0;
    if (!block) return 0;
    const start = Math.ceil(block / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
    blocks.set(start, block);
    return start;
  };
  wasm._free = (ptr: number): void => {
    const start = ptr >>> 0;
    const block = blocks.get(start);
    if (block === undefined) {
      free(ptr);
      return;
    }
    blocks.delete(start);
    free(block);
  };
}

/**
 * Compiles and instantiates cnn's kernels against the backend's memory, asynchronously (browsers
 * refuse to compile large modules synchronously on the main thread). `setBackend('wasm')` calls it;
 * a kernel that runs before it compiles synchronously instead.
 */
export async function prepareWasmKernels(backend: unknown): Promise<void> {
  const b = backend as WasmBackendLike;
  if (instances.has(b)) return;
  const memory = memoryOf(b);
  const shared = isShared(memory);
  let mod = compiled.get(shared);
  if (!mod) {
    mod = await WebAssembly.compile(decode(shared ? KERNELS_SHARED_WASM_BASE64 : KERNELS_WASM_BASE64) as BufferSource);
    compiled.set(shared, mod);
  }
  const instance = await WebAssembly.instantiate(mod, imports(memory));
  instances.set(b, instance.exports as unknown as KernelExports);
  // With shared memory, the kernels run on as many threads as tfjs's own pool.
  const threads = shared ? (b.wasm.tfjs?.getThreadsCount?.() ?? 1) : 1;
  if (threads > 1) {
    const control = b.wasm._malloc(CONTROL_BYTES) >>> 0; // an address above 2 GiB comes back negative
    if (!control) throw new Error('cnn wasm kernels: out of memory allocating the thread pool');
    pools.set(b, new KernelPool(await getPlatform(), mod, memory, control, threads));
  }
}

/** Threads cnn's kernels run on for this backend (1 without a pool). */
export function kernelThreads(backend: object): number {
  return pools.get(backend)?.threads ?? 1;
}

/** Stops the kernel threads of a backend that is being disposed. */
export function disposeWasmKernels(backend: object): void {
  pools.get(backend)?.dispose();
  pools.delete(backend);
  instances.delete(backend);
  callStates.delete(backend); // its blocks live in the backend's memory, which goes with it
}

function kernelsFor(backend: WasmBackendLike): KernelExports {
  let k = instances.get(backend);
  if (!k) {
    const memory = memoryOf(backend);
    const shared = isShared(memory);
    let mod = compiled.get(shared);
    if (!mod) {
      mod = new WebAssembly.Module(decode(shared ? KERNELS_SHARED_WASM_BASE64 : KERNELS_WASM_BASE64) as BufferSource);
      compiled.set(shared, mod);
    }
    k = new WebAssembly.Instance(mod, imports(memory)).exports as unknown as KernelExports;
    instances.set(backend, k);
  }
  return k;
}

/** The address of a tensor's data inside the backend's memory. */
export function addressOf(backend: WasmBackendLike, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('cnn wasm kernels: tensor is not on the wasm backend (was it disposed?)');
  return data.memoryOffset;
}

/**
 * Multiply-adds (or, for pooling, window reads) below which a kernel runs on the calling thread alone:
 * waking the pool's workers and waiting for the last one costs tens of microseconds on an idle machine
 * and up to a scheduler time slice (milliseconds) on a loaded one, more than such a kernel saves by
 * splitting (MobileNetV2's smallest depthwise layers are about 0.4 M). Results do not change: every
 * kernel computes each output element the same way whatever the number of slots.
 */
export const THREAD_MIN_WORK = 1 << 20;

/**
 * Kernels whose geometry is a convolution's or a pooling window's (its forward, its gradients, its patches): each does
 * one multiply-add per (output value, tap, input channel of its group), whichever way it loops. The input gradients
 * visit only the taps that reach an output pixel (kernels.c's stride phases; the depthwise kernel gathers), so a
 * stride-2 gradient does what its forward does, not four times as much.
 */
export const CONV_OPS: ReadonlySet<KernelOp> = new Set([
  'conv_fwd',
  'conv_fwd_packed',
  'conv_bwd_input',
  'conv_bwd_filter',
  'dw_fwd',
  'dw_bwd_input',
  'dw_bwd_filter',
  'wino_fwd',
  'wino4_fwd',
  'maxpool_fwd',
  'maxpool_bwd',
  'avgpool_bwd',
  'filter_c1',
  'patches_t',
]);

/**
 * Multiply-adds of a kernel call, as the thread threshold counts them. A convolution's or a pool's ({@link CONV_OPS}):
 * n * oh * ow * co output values, each kh * kw taps of c / groups channels. ShuffleNetV1's grouped 1x1 layers (28x28x120
 * to 30 channels in 3 groups, 0.94 M) had been counted as c = 120 channels each and split at 3.8 M, taking 0.095 ms on
 * two threads against 0.083 on one; a stride-2 kernel had been counted from its input side, four times over. Any other
 * kernel (its geometry describes rows, a filter transform, a transpose): the larger side times its taps and depth, as
 * before.
 */
export function workOf(name: KernelOp, g: ConvGeometry): number {
  const taps = g.n * g.kh * g.kw;
  const depth = Math.max(1, g.c / g.groups);
  if (CONV_OPS.has(name)) return taps * g.oh * g.ow * g.co * depth;
  return taps * Math.max(g.oh * g.ow * g.co, g.h * g.w * g.c) * depth;
}

let kernelRuns = 0;

/** How many kernels {@link runConvKernel} has run in this process: tests tell by it whether cnn's kernel took a call. */
export function kernelRunCount(): number {
  return kernelRuns;
}

/**
 * Runs one kernel on tensors that live in the backend's memory. `x`, `f` and `y` are the addresses
 * of the input (or its gradient), the filter (or its gradient) and the output (or its gradient).
 */
export function runConvKernel(
  backend: WasmBackendLike,
  name: KernelOp,
  g: ConvGeometry,
  x: number,
  f: number,
  y: number,
  extras: ConvExtras = { bias: 0, act: 0 },
): void {
  // The kernels divide by these sizes: callers answer zero-size calls from the shapes (register.ts) and never get here.
  if (!positiveSizes(g)) {
    throw new Error(
      `cnn wasm kernels: ${name} needs positive sizes, got n=${g.n} h=${g.h} w=${g.w} c=${g.c} oh=${g.oh} ow=${g.ow} co=${g.co} kernel ${g.kh}x${g.kw}`,
    );
  }
  const k = kernelsFor(backend);
  kernelRuns++;
  // Element-wise passes, tanh, the shuffle, a concatenation's copies and the squeeze-and-excitation decide their own
  // split (kernels.c, ew_prepare, tanh_prepare, shuffle2_prepare, copy_cols_prepare, se_prepare): their work per value
  // is not a convolution's.
  const selfSplit =
    name === 'eltwise' || name === 'tanh' || name === 'shuffle2' || name === 'copy_cols' || name === 'se_gate';
  const pool = selfSplit || workOf(name, g) >= THREAD_MIN_WORK ? pools.get(backend) : undefined;
  const wasm = backend.wasm;
  const op = KERNEL_OPS[name];
  const state = callStateOf(backend);
  const block = state.block;
  fillBlock(paramView(backend, state), g, x, f, y, pool?.threads ?? 1, extras);
  let own = 0; // scratch allocated for this call only
  try {
    let scratch = extras.scratch ?? 0;
    if (!scratch) {
      const bytes = k.scratch_bytes(op, block);
      if (bytes <= KEPT_SCRATCH_BYTES) {
        if (bytes > state.scratchBytes || !state.scratch) {
          if (state.scratch) wasm._free(state.scratch);
          state.scratch = 0;
          state.scratchBytes = 0;
          const size = Math.max(bytes, 4096);
          const ptr = wasm._malloc(size) >>> 0;
          if (!ptr) throw new Error(`cnn wasm kernels: out of memory allocating scratch for ${name}`);
          state.scratch = ptr;
          state.scratchBytes = size;
        }
        scratch = state.scratch;
      } else {
        own = wasm._malloc(bytes) >>> 0;
        if (!own) throw new Error(`cnn wasm kernels: out of memory allocating scratch for ${name}`);
        scratch = own;
      }
    }
    // Allocating may have grown the memory (and, unshared, replaced its buffer): take the view again.
    paramView(backend, state)[W_SCRATCH] = scratch;
    const units = k.prepare(op, block);
    if (pool) pool.run(k, op, block, units);
    else for (let u = 0; u < units; u++) k.run(op, block, u, 0);
    k.finish(op, block);
  } finally {
    if (own) wasm._free(own);
  }
}

/**
 * Packs a forward convolution's filter (at address `f`, geometry `g`) once, as 'conv_fwd' packs it on every call,
 * into a new block of the backend's memory sized for as many threads as cnn's kernels have; returns its address.
 * 'conv_fwd_packed' with `extras.scratch` set to it then runs the convolution without packing. The caller owns the
 * block (frees it with `backend.wasm._free` when the filter's values go).
 */
export function packConvFilter(backend: WasmBackendLike, g: ConvGeometry, f: number): number {
  const k = kernelsFor(backend);
  const state = callStateOf(backend);
  fillBlock(paramView(backend, state), g, 0, f, 0, kernelThreads(backend), { bias: 0, act: 0 });
  const bytes = k.scratch_bytes(KERNEL_OPS.conv_pack, state.block);
  const ptr = backend.wasm._malloc(bytes) >>> 0;
  if (!ptr) throw new Error(`cnn wasm kernels: out of memory packing a ${g.kh}x${g.kw}x${g.c}x${g.co} filter`);
  paramView(backend, state)[W_SCRATCH] = ptr;
  k.prepare(KERNEL_OPS.conv_pack, state.block);
  return ptr;
}

/** A positive integer below 2^31 (a size the kernels divide by). */
const posInt = (v: number): boolean => v > 0 && (v | 0) === v;

/**
 * Whether every size the kernels divide by is a positive integer (the geometry but the paddings, which may be 0),
 * checked field by field in code: a loop over the names cost a kernel call a microsecond in property lookups.
 */
function positiveSizes(g: ConvGeometry): boolean {
  return (
    posInt(g.n) &&
    posInt(g.h) &&
    posInt(g.w) &&
    posInt(g.c) &&
    posInt(g.oh) &&
    posInt(g.ow) &&
    posInt(g.co) &&
    posInt(g.kh) &&
    posInt(g.kw) &&
    posInt(g.sh) &&
    posInt(g.sw) &&
    posInt(g.dh) &&
    posInt(g.dw) &&
    posInt(g.groups)
  );
}

/** Writes a kernel call's parameters into the block, field by field in code (see {@link positiveSizes}). */
function fillBlock(
  view: Int32Array,
  g: ConvGeometry,
  x: number,
  f: number,
  y: number,
  slots: number,
  extras: ConvExtras,
): void {
  // Words 0-15 are the geometry in this order (checked when the module loads, below).
  view[0] = g.n;
  view[1] = g.h;
  view[2] = g.w;
  view[3] = g.c;
  view[4] = g.oh;
  view[5] = g.ow;
  view[6] = g.co;
  view[7] = g.kh;
  view[8] = g.kw;
  view[9] = g.sh;
  view[10] = g.sw;
  view[11] = g.dh;
  view[12] = g.dw;
  view[13] = g.pt;
  view[14] = g.pl;
  view[15] = g.groups;
  view[W_X] = x;
  view[W_F] = f;
  view[W_Y] = y;
  view[W_SCRATCH] = 0;
  view[W_SLOTS] = slots;
  view[W_BIAS] = extras.bias;
  view[W_ACT] = extras.act;
}

/**
 * Scratch of at most this many bytes is kept per backend from one kernel call to the next, so that the many small
 * calls of a batch-1 forward do not each allocate and free it; a call that needs more allocates its own and frees it.
 */
export const KEPT_SCRATCH_BYTES = 1 << 20;

/** A backend's parameter block (one: kernel calls never overlap) and kept scratch, allocated on first use. */
interface CallState {
  block: number;
  view: Int32Array;
  scratch: number;
  scratchBytes: number;
}
const callStates = new WeakMap<object, CallState>();

function callStateOf(backend: WasmBackendLike): CallState {
  let s = callStates.get(backend);
  if (!s) {
    const block = backend.wasm._malloc(PARAM_WORDS * 4) >>> 0; // addresses above 2 GiB come back negative
    if (!block) throw new Error('cnn wasm kernels: out of memory allocating a kernel parameter block');
    s = { block, view: new Int32Array(memoryOf(backend).buffer, block, PARAM_WORDS), scratch: 0, scratchBytes: 0 };
    callStates.set(backend, s);
  }
  return s;
}

/**
 * The view of the parameter block, taken again when growing the memory replaced an unshared buffer (the old one is
 * then detached, and a view of it has length 0); a shared buffer is never replaced for its view's range.
 */
function paramView(backend: WasmBackendLike, s: CallState): Int32Array {
  if (s.view.length === 0) s.view = new Int32Array(memoryOf(backend).buffer, s.block, PARAM_WORDS);
  return s.view;
}

/** Word index of each field of struct conv. */
const FIELD = Object.fromEntries(PARAM_FIELDS.map((key, i) => [key, i])) as Record<keyof ConvParams, number>;
/**
 * The geometry fillBlock writes to words 0-15 and positiveSizes checks, named in code: a struct conv whose geometry
 * changes must change them too (this fails when the module loads otherwise).
 */
const WRITTEN = 'n h w c oh ow co kh kw sh sw dh dw pt pl groups';
if (PARAM_FIELDS.slice(0, 16).join(' ') !== WRITTEN || FIELD.x !== 16)
  throw new Error(`cnn wasm kernels: struct conv's fields are [${PARAM_FIELDS}], fillBlock writes [${WRITTEN}] first`);
/** Word indices of the other fields. */
const W_X = FIELD.x;
const W_F = FIELD.f;
const W_Y = FIELD.y;
const W_SCRATCH = FIELD.scratch;
const W_SLOTS = FIELD.slots;
const W_BIAS = FIELD.bias;
const W_ACT = FIELD.act;
