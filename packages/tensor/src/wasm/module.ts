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

/** The Winograd kernel's extra fields: the bias address (0: none) and the activation (ACT_ of kernels.c). */
export interface ConvExtras {
  bias: number;
  act: number;
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

/** Multiply-adds of a kernel call, as the thread threshold counts them. */
function workOf(g: ConvGeometry): number {
  return g.n * Math.max(g.oh * g.ow * g.co, g.h * g.w * g.c) * g.kh * g.kw * Math.max(1, g.c / g.groups);
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
  if (
    ![g.n, g.h, g.w, g.c, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups].every(
      (d) => Number.isInteger(d) && d > 0,
    )
  ) {
    throw new Error(
      `cnn wasm kernels: ${name} needs positive sizes, got n=${g.n} h=${g.h} w=${g.w} c=${g.c} oh=${g.oh} ow=${g.ow} co=${g.co} kernel ${g.kh}x${g.kw}`,
    );
  }
  const k = kernelsFor(backend);
  // Element-wise passes, the shuffle and the squeeze-and-excitation decide their own split (kernels.c, ew_prepare,
  // shuffle2_prepare, se_prepare).
  const selfSplit = name === 'eltwise' || name === 'shuffle2' || name === 'se_gate';
  const pool = selfSplit || workOf(g) >= THREAD_MIN_WORK ? pools.get(backend) : undefined;
  const wasm = backend.wasm;
  const op = KERNEL_OPS[name];
  const block = wasm._malloc(PARAM_WORDS * 4) >>> 0; // addresses above 2 GiB come back negative
  if (!block) throw new Error(`cnn wasm kernels: out of memory allocating the parameters of ${name}`);
  let scratch = 0;
  try {
    const write = () => {
      // A fresh view each time: _malloc may have grown (and so replaced) the memory's buffer.
      const view = new Int32Array(memoryOf(backend).buffer, block, PARAM_WORDS);
      writeParams(view, { ...g, ...extras, x, f, y, scratch, slots: pool?.threads ?? 1 });
    };
    write();
    scratch = wasm._malloc(k.scratch_bytes(op, block)) >>> 0;
    if (!scratch) throw new Error(`cnn wasm kernels: out of memory allocating scratch for ${name}`);
    write();
    const units = k.prepare(op, block);
    if (pool) pool.run(k, op, block, units);
    else for (let u = 0; u < units; u++) k.run(op, block, u, 0);
  } finally {
    if (scratch) wasm._free(scratch);
    wasm._free(block);
  }
}
