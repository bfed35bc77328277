// Winograd F(2x2, 3x3) and F(4x4, 3x3) for tfjs's Conv2D and FusedConv2D on the 'wasm' backend: stride-1,
// undilated 3x3 convolutions with a linear, ReLU or ReLU6 activation, where the rule below says Winograd beats
// XNNPACK's direct convolution. Every other call goes to tfjs's own kernel, unchanged.
import { backend_util, engine, env, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import {
  addressOf,
  convGeometry,
  kernelThreads,
  memoryOf,
  packConvFilter,
  plainGeometry,
  runConvKernel,
  THREAD_MIN_WORK,
  type ConvExtras,
  type ConvGeometry,
  type WasmBackendLike,
} from './module';

/**
 * The tfjs environment flag that chooses when Winograd runs: `'auto'` (the default: by the rule of
 * {@link winogradTile}), `'on'` (every 3x3 stride-1 convolution the kernel can take, with the tile the rule
 * picks, F(2x2, 3x3) where it picks none), `'f2'` / `'f4'` (every such convolution with F(2x2, 3x3) /
 * F(4x4, 3x3)) or `'off'` (never: XNNPACK's direct convolution, as stock tfjs). For benchmarks and tests:
 * `tf.env().set('CNN_WINOGRAD', 'off')`.
 */
export const WINOGRAD_FLAG = 'CNN_WINOGRAD';
let flagRegistered = false;

export function registerWinogradFlag(): void {
  registerIgemmFlag();
  if (flagRegistered) return;
  flagRegistered = true;
  let good: unknown = 'auto';
  env().registerFlag(
    WINOGRAD_FLAG,
    () => 'auto',
    (v) => {
      if (v !== 'auto' && v !== 'on' && v !== 'off' && v !== 'f2' && v !== 'f4') {
        // tfjs stores the value before calling this hook: put the last good one back, then refuse.
        (env() as unknown as { flags: Record<string, unknown> }).flags[WINOGRAD_FLAG] = good;
        throw new Error(`${WINOGRAD_FLAG} must be 'auto', 'on', 'off', 'f2' or 'f4', got ${JSON.stringify(v)}`);
      }
      good = v;
    },
  );
}

/** Activations the Winograd kernel applies to its output (ACT_ of kernels.c). */
export const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

/** Fewest input and output channels for which `'auto'` picks Winograd. */
export const WINOGRAD_MIN_CHANNELS = 16;
/** Fewest multiply-adds of the direct convolution (batch included) for which `'auto'` picks Winograd. */
export const WINOGRAD_MIN_MACS = 1 << 20;

/**
 * Whether Winograd F(2x2, 3x3) runs a 3x3 stride-1 convolution of a batch of `n`, `c` input and `co`
 * output channels and `oh` x `ow` outputs per image, under `'auto'`: at least {@link WINOGRAD_MIN_CHANNELS}
 * channels in and out, and at least {@link WINOGRAD_MIN_MACS} multiply-adds. Decided by measurement
 * (bench/winograd.mjs; the table is in packages/tensor/README.md): with 3 input channels (VGG's first
 * layer) the input transform costs as much as it saves (0.86x of XNNPACK's direct convolution's speed),
 * and below about a million multiply-adds (7x7x32, 14x14x16, 8x8x8: 0.5-0.9x) the transforms and the
 * call cost dominate; every ResNet and VGG shape above it ran 1.9-3.3x faster on one thread.
 */
export function useWinograd(n: number, c: number, co: number, oh: number, ow: number): boolean {
  return c >= WINOGRAD_MIN_CHANNELS && co >= WINOGRAD_MIN_CHANNELS && n * oh * ow * c * co * 9 >= WINOGRAD_MIN_MACS;
}

/** Fewest input and output channels for which `'auto'` picks F(4x4, 3x3) over F(2x2, 3x3). */
export const WINOGRAD_F4_MIN_CHANNELS = 32;

/**
 * The Winograd tile `'auto'` runs a 3x3 stride-1 convolution with (arguments as {@link useWinograd}): 0 for none
 * (XNNPACK's direct convolution), 2 for F(2x2, 3x3), 4 for F(4x4, 3x3). F(4x4, 3x3) takes 36 multiplications per 16
 * outputs and input channel against F(2x2, 3x3)'s 64. Measured (bench/kernel-ops.mjs on one thread; per layer on one
 * and two threads, batch 1 and 64): with at least {@link WINOGRAD_F4_MIN_CHANNELS} channels in and out F(4x4, 3x3)
 * was faster on every shape, 7x7 to 224x224 (16x16x32: 1.4x on one thread, 1.7x at batch 64 on two; 7x7x512 at
 * batch 1: 2.29 against 4.42 ms on one thread, 1.56 against 2.20 ms on two), while with 16 channels it went either
 * way (32x32x16 at batch 1: 0.165 against 0.138 ms on one thread). The same rule holds on any number of threads:
 * until session 11 layers with few tiles (14x14x256 and 7x7x512 at batch 1) took F(2x2, 3x3) on two threads,
 * because F(4x4)'s kernel then split its output channels into eight chunks, each redoing the input transform
 * (7x7x512: 2.9 ms on two threads against 2.65 ms on one); see the work split in kernels.c.
 */
export function winogradTile(n: number, c: number, co: number, oh: number, ow: number): 0 | 2 | 4 {
  if (!useWinograd(n, c, co, oh, ow)) return 0;
  return c < WINOGRAD_F4_MIN_CHANNELS || co < WINOGRAD_F4_MIN_CHANNELS ? 2 : 4;
}

/**
 * A block of the backend's memory derived from a tensor's values (a transformed or packed filter), and for which
 * geometry: 'wino' (c, co, tile), 'pack' (kh, kw, c, co, groups). Numbers, not a key string: a batch-1 forward
 * looks a packed filter up on every call, and building the string cost more than the lookup.
 */
interface Derived {
  kind: 'wino' | 'pack';
  g: readonly [number, number, number, number, number];
  /** Its address in the backend's memory. */
  ptr: number;
}

/** Derived blocks, per backend, by the tensor's dataId. */
const caches = new WeakMap<object, Map<object, Derived[]>>();

function countDerived(backend: unknown, kind: Derived['kind']): number {
  let n = 0;
  for (const list of caches.get(backend as object)?.values() ?? []) {
    for (const d of list) if (d.kind === kind) n++;
  }
  return n;
}

/** The transformed filters of a backend (its cache of derived state): for tests and the README's memory note. */
export function winogradCacheSize(backend: unknown): number {
  return countDerived(backend, 'wino');
}

/** The filters a backend keeps packed for cnn's forward convolution ({@link PACKED_FILTER_MAX_VALUES}): for tests. */
export function packedFilterCacheSize(backend: unknown): number {
  return countDerived(backend, 'pack');
}

/**
 * The cache of a backend, hooking its `disposeData` the first time: when tfjs frees a filter's data
 * (the tensor is disposed, a `Variable.assign` dropped the old value, the data moved to another
 * backend), every block derived from it is freed with it. A backend that is disposed frees its whole memory.
 */
function cacheOf(backend: WasmBackendLike): Map<object, Derived[]> {
  let cache = caches.get(backend);
  if (cache) return cache;
  const map = new Map<object, Derived[]>();
  cache = map;
  caches.set(backend, map);
  const b = backend as unknown as { disposeData(dataId: object, force?: boolean): boolean };
  const dispose = b.disposeData.bind(b);
  b.disposeData = (dataId: object, force?: boolean): boolean => {
    const freed = dispose(dataId, force);
    const list = map.get(dataId);
    // has(), not get(): tfjs's DataStorage.get of a missing id asks the engine to move the data back.
    if (list && !(backend.dataIdMap as unknown as { has(id: object): boolean }).has(dataId)) {
      map.delete(dataId);
      for (const d of list) backend.wasm._free(d.ptr);
    }
    return freed;
  };
  return map;
}

/**
 * The address of the block of `kind` for geometry (a, b, c, d, e) derived from tensor `t`'s values, or 0 when there
 * is none yet ({@link keepDerived} adds it). A reshape shares its data, so one dataId may have blocks for several
 * geometries; each is kept until the data goes.
 */
function findDerived(
  backend: WasmBackendLike,
  t: TensorInfo,
  kind: Derived['kind'],
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
): number {
  const list = cacheOf(backend).get(t.dataId);
  if (!list) return 0;
  for (const x of list) {
    const g = x.g;
    if (x.kind === kind && g[0] === a && g[1] === b && g[2] === c && g[3] === d && g[4] === e) return x.ptr;
  }
  return 0;
}

/** Keeps block `entry` derived from `t`'s values (freed with them); returns its address. */
function keepDerived(backend: WasmBackendLike, t: TensorInfo, entry: Derived): number {
  const cache = cacheOf(backend);
  let list = cache.get(t.dataId);
  if (!list) {
    list = [];
    cache.set(t.dataId, list);
  }
  list.push(entry);
  return entry.ptr;
}

/**
 * Transforms the 3x3 filter at address `f` for Winograd F(m x m, 3x3) with `c` input and `co` output channels into a
 * new block of the backend's memory and returns its address (the caller frees it). flip: `f` is the filter of the
 * convolution whose input gradient this one computes ([3][3][co][c]: 'wino_filter_t', kernels.c).
 */
function transformFilter(backend: WasmBackendLike, f: number, c: number, co: number, m: 2 | 4, flip: boolean): number {
  const ptr = backend.wasm._malloc((m + 2) * (m + 2) * Math.ceil(co / 8) * 8 * c * 4) >>> 0;
  if (!ptr) throw new Error(`cnn wasm kernels: out of memory transforming a ${c}x${co} 3x3 filter for Winograd`);
  const op = `wino${m === 4 ? '4' : ''}_filter${flip ? '_t' : ''}` as const;
  try {
    runConvKernel(backend, op, plainGeometry({ n: 1, h: 3, w: 3, c, oh: 1, ow: 1, co, kh: 3, kw: 3 }), 0, f, ptr);
  } catch (err) {
    backend.wasm._free(ptr);
    throw err;
  }
  return ptr;
}

function transformedFilter(backend: WasmBackendLike, filter: TensorInfo, c: number, co: number, m: 2 | 4): number {
  const hit = findDerived(backend, filter, 'wino', c, co, m, 0, 0);
  if (hit) return hit;
  const ptr = transformFilter(backend, addressOf(backend, filter), c, co, m, false);
  return keepDerived(backend, filter, { kind: 'wino', g: [c, co, m, 0, 0], ptr });
}

/**
 * The tile a call runs with under Winograd mode `mode` (the value of {@link WINOGRAD_FLAG}), given the rule's tile
 * `rule` ({@link winogradTile}) for a call Winograd can take: 0 for none.
 */
function tileFor(mode: unknown, rule: 0 | 2 | 4): 0 | 2 | 4 {
  if (mode === 'off') return 0;
  if (mode === 'f2') return 2;
  if (mode === 'f4') return 4;
  return mode === 'on' && rule === 0 ? 2 : rule;
}

/**
 * Runs the input gradient of a stride-1, undilated, ungrouped 3x3 convolution (tfjs's Conv2DBackpropInput, as
 * register.ts receives it) with Winograd when the rule of {@link winogradTile} picks it for the convolution that
 * computes it: dx = dy convolved with the filter flipped and transposed (dy's channels in, x's out), padded by
 * 2 - the forward padding. `g` is the forward convolution's geometry; `out` receives dx. Returns false, having done
 * nothing, when Winograd does not take the call (the caller runs cnn's igemm input gradient). The filter changes at
 * every optimizer step, so its transform is made for the call and freed after it (no cache).
 */
export function tryWinogradInputGrad(
  backend: WasmBackendLike,
  g: ConvGeometry,
  dy: TensorInfo,
  filter: TensorInfo,
  out: TensorInfo,
): boolean {
  registerWinogradFlag();
  const wmode = env().get(WINOGRAD_FLAG);
  if (g.kh !== 3 || g.kw !== 3 || g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1 || g.groups !== 1) return false;
  if (g.pt < 0 || g.pt > 2 || g.pl < 0 || g.pl > 2) return false;
  // The convolution that computes dx: dy (n, oh, ow, co) in, dx (n, h, w, c) out.
  const b = plainGeometry({
    n: g.n,
    h: g.oh,
    w: g.ow,
    c: g.co,
    oh: g.h,
    ow: g.w,
    co: g.c,
    kh: 3,
    kw: 3,
    pt: 2 - g.pt,
    pl: 2 - g.pl,
  });
  const m = tileFor(wmode, winogradTile(b.n, b.c, b.co, b.oh, b.ow));
  if (m === 0) return false;
  const u = transformFilter(backend, addressOf(backend, filter), b.c, b.co, m, true);
  try {
    runConvKernel(backend, m === 4 ? 'wino4_fwd' : 'wino_fwd', b, addressOf(backend, dy), u, addressOf(backend, out));
  } finally {
    backend.wasm._free(u);
  }
  return true;
}

/**
 * Filters of at most this many values are packed once for cnn's forward convolution and kept (derived state, freed
 * with the filter's data, like Winograd's transformed filters); larger ones are packed on every call, so that a
 * large classifier (VGG's 25088x4096) is never held twice.
 */
export const PACKED_FILTER_MAX_VALUES = 1 << 20;

/**
 * Runs cnn's forward convolution ('conv_fwd') of geometry `g` on tensors `x`, `filter` into `out`: on the filter
 * packed once and kept when it has at most {@link PACKED_FILTER_MAX_VALUES} values, else packing it in the call.
 */
export function runConvForward(
  backend: WasmBackendLike,
  g: ConvGeometry,
  x: TensorInfo,
  filter: TensorInfo,
  out: TensorInfo,
  extras: ConvExtras,
): void {
  const values = g.kh * g.kw * (g.c / g.groups) * g.co;
  const xa = addressOf(backend, x);
  const fa = addressOf(backend, filter);
  const ya = addressOf(backend, out);
  if (values > PACKED_FILTER_MAX_VALUES) {
    runConvKernel(backend, 'conv_fwd', g, xa, fa, ya, extras);
    return;
  }
  let packed = findDerived(backend, filter, 'pack', g.kh, g.kw, g.c, g.co, g.groups);
  if (!packed) {
    const ptr = packConvFilter(backend, g, fa);
    packed = keepDerived(backend, filter, { kind: 'pack', g: [g.kh, g.kw, g.c, g.co, g.groups], ptr });
  }
  runConvKernel(backend, 'conv_fwd_packed', g, xa, fa, ya, { bias: extras.bias, act: extras.act, scratch: packed });
}

interface ConvArgs {
  inputs: Record<string, TensorInfo | null | undefined>;
  backend: unknown;
  attrs?: NamedAttrMap;
}

/**
 * The tfjs environment flag that chooses whether cnn's kernels take, on the wasm backend, the work tfjs would give
 * XNNPACK's thread pool: the convolutions Winograd does not take (cnn's igemm), depthwise convolutions and the
 * element-wise Add / Multiply / Sub / Relu / Relu6, with the bias and activation fused where there is one.
 * `'small'` (the default, {@link IGEMM_DEFAULT}): on more than one thread, the calls too small to split
 * ({@link useSmallCall}), which then run on the calling thread, and XNNPACK's pool the rest, the faster choice for
 * large calls when the cores are free (MobileNetV2 batch 1 on 2 threads of an idle 2-core machine: 13.3 ms against
 * 18.8 ms with `'auto'`); `'off'`: never (stock tfjs); `'auto'`: every call when cnn's kernels have more than one
 * thread ({@link useIgemm}), the better choice when other processes compete for the cores; `'on'`: always. While a
 * gradient is recorded, `'small'` acts as `'on'` ({@link recordingGradient}). Set with
 * `tf.env().set('CNN_IGEMM', 'auto')`.
 */
export const IGEMM_FLAG = 'CNN_IGEMM';

/** The values {@link IGEMM_FLAG} takes. */
export type IgemmMode = 'small' | 'off' | 'auto' | 'on';

/** The default value of {@link IGEMM_FLAG}. */
export const IGEMM_DEFAULT: IgemmMode = 'small';

/**
 * Whether `'auto'` runs a non-Winograd convolution on cnn's igemm kernel: when cnn's kernels run on more than
 * one thread. XNNPACK's thread pool makes the calling thread wait until every worker has woken and checked in,
 * even one that took no work, so on a loaded machine a 1x1 convolution on 2 threads took 2-4x its one-thread
 * time (MobileNetV2 batch 1: 30 ms on one thread, 89 ms on two); cnn's pool waits only for work a worker
 * actually took, and its igemm ran 1x1 convolutions as fast as XNNPACK on one thread (packages/tensor/README.md).
 */
export function useIgemm(threads: number): boolean {
  return threads > 1;
}

/** Values below which `'small'` gives an element-wise call to cnn's kernel (which then runs it on one thread). */
export const SMALL_ELTWISE_VALUES = 1 << 16;

/**
 * Multiply-adds below which `'small'` gives a matrix product to cnn's igemm kernel. Lower than a convolution's
 * threshold: for one row of input (a classifier head at batch 1) the kernel's 4-row tile does a quarter of useful
 * work, so even with its filter packed once ({@link PACKED_FILTER_MAX_VALUES}) a 1024 x 1000 head took 0.43 ms on one
 * thread against XNNPACK's 0.25 ms.
 */
export const SMALL_MATMUL_MACS = 1 << 18;

/**
 * Multiply-adds below which `'small'` gives a convolution that Winograd does not take to cnn's igemm kernel (which
 * splits it on cnn's pool from {@link THREAD_MIN_WORK} up). Twice cnn's own threshold: in the CIFAR ResNets at batch 1
 * the two stride-2 3x3 convolutions (1.18 M multiply-adds) were the only calls left on XNNPACK's pool, and waking its
 * sleeping worker made each take 0.23 ms on two threads against 0.07 ms on one (`profile-models.mjs --per-call`).
 * With this threshold, on two threads, best of 90 in alternating processes: resnet56_cifar 3.19-3.28 ms against
 * 3.81-3.85 ms, resnet20_cifar 1.20-1.23 against 1.42-1.62 ms; mobilenet_v3_small, shufflenet_v2_x0_5 and x1_0,
 * googlenet and resnet18_cifar (which also have convolutions of this size) within the noise.
 */
export const SMALL_CONV_MACS = 1 << 21;

/**
 * Multiply-adds below which `'small'` gives a depthwise convolution to cnn's kernel. Lower than a convolution's
 * threshold: in MobileNetV2 each depthwise layer sits between two 1x1 convolutions on XNNPACK's pool, whose worker is
 * still awake when it comes, so XNNPACK's pool took even the 0.4-0.7 M multiply-add layers (14x14x384, 7x7x960)
 * faster than cnn's kernel on the calling thread: MobileNetV2 at batch 1 on two threads, best of 30 in alternating
 * processes, 13.3-13.9 ms against 14.0-14.7 ms with 2^20 (`profile-models.mjs --models mobilenet_v2 --threads 2`;
 * MobileNetV1 and V3, ShuffleNetV1 and V2 within the noise).
 */
export const SMALL_DEPTHWISE_MACS = 1 << 18;

/**
 * Whether `'small'` runs a call on cnn's kernel, on the calling thread: on more than one thread, when its work is
 * below `limit`, what is worth splitting: by default THREAD_MIN_WORK (2^20 multiply-adds, or window reads of a pool),
 * cnn's own threshold for staying on one thread; {@link SMALL_CONV_MACS} multiply-adds of a convolution (split on
 * cnn's pool above THREAD_MIN_WORK); {@link SMALL_ELTWISE_VALUES} values of an element-wise op;
 * {@link SMALL_MATMUL_MACS} multiply-adds of a matrix product; {@link SMALL_DEPTHWISE_MACS} of a depthwise
 * convolution.
 * XNNPACK's pool would wake every worker and wait for each to check in, which costs more than such a call saves by
 * splitting: small-input models (LeNet-5, the CIFAR ResNets) ran no faster on two threads than on one.
 */
export function useSmallCall(threads: number, work: number, limit = THREAD_MIN_WORK): boolean {
  return threads > 1 && work < limit;
}

/**
 * Whether a gradient is being recorded (`tf.grad`, `variableGrads`, an optimizer's `minimize`): a training step,
 * whose BatchNorm passes and gradients all run on cnn's kernels. `'small'` then gives cnn's kernels every call it
 * can take, as `'on'` does, so one pool of threads runs the whole step: with XNNPACK's pool taking the large
 * forward convolutions, the two pools' threads competed for the cores (MobileNetV2 training at batch 32 on two
 * threads: 384-441 ms a step against 490-494 ms with `--flag CNN_IGEMM=auto`, which is `'on'` there; on one thread
 * 552-566 against 572-579 ms with `--flag CNN_IGEMM=on`; `profile-step.mjs --model mobilenet_v2 --batch 32`).
 */
export function recordingGradient(): boolean {
  return engine().state.gradientDepth > 0;
}

/** Whether cnn's kernel takes a call of `work` under the flag's `mode`. */
function cnnTakes(mode: unknown, backend: WasmBackendLike, work: number, limit = THREAD_MIN_WORK): boolean {
  if (mode === 'on') return true;
  if (mode === 'auto') return useIgemm(kernelThreads(backend));
  if (mode === 'small') return recordingGradient() || useSmallCall(kernelThreads(backend), work, limit);
  return false;
}

/**
 * The opening of every cnn route: registers {@link IGEMM_FLAG}, reads it, and gives the route its mode and the wasm
 * backend, or undefined when the mode is `'off'` (tfjs's kernel takes the call).
 */
function igemmRoute(args: ConvArgs): { mode: IgemmMode; backend: WasmBackendLike } | undefined {
  registerIgemmFlag();
  const mode = env().get(IGEMM_FLAG) as IgemmMode;
  return mode === 'off' ? undefined : { mode, backend: args.backend as WasmBackendLike };
}

let igemmRegistered = false;

function registerIgemmFlag(): void {
  if (igemmRegistered) return;
  igemmRegistered = true;
  let good: unknown = IGEMM_DEFAULT;
  env().registerFlag(
    IGEMM_FLAG,
    () => IGEMM_DEFAULT,
    (v) => {
      if (v !== 'small' && v !== 'auto' && v !== 'on' && v !== 'off') {
        (env() as unknown as { flags: Record<string, unknown> }).flags[IGEMM_FLAG] = good;
        throw new Error(`${IGEMM_FLAG} must be 'small', 'auto', 'on' or 'off', got ${JSON.stringify(v)}`);
      }
      good = v;
    },
  );
}

/**
 * Runs a Conv2D / FusedConv2D call on cnn's kernels when it can and should (Winograd for 3x3 stride-1
 * convolutions by {@link useWinograd}, else the igemm kernel by {@link useIgemm}), and returns its output;
 * or returns undefined, and the caller runs tfjs's kernel.
 */
export function tryWinograd(args: ConvArgs): TensorInfo | undefined {
  registerIgemmFlag();
  const wmode = env().get(WINOGRAD_FLAG);
  const imode = env().get(IGEMM_FLAG);
  if (wmode === 'off' && imode === 'off') return undefined;
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const a = (args.attrs ?? {}) as Record<string, unknown>;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  if (preluActivationWeights) return undefined;
  const act = ACTIVATIONS[(a.activation as string | undefined) ?? 'linear'];
  if (act === undefined) return undefined;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const [kh, kw, fc, co] = filter.shape;
  if (fc !== x.shape[3]) return undefined;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== co)) return undefined;
  let info: backend_util.Conv2DInfo;
  try {
    info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides as number,
      (a.dilations ?? 1) as number,
      a.pad as 'valid',
      a.dimRoundingMode as 'floor' | undefined,
    );
  } catch {
    return undefined; // tfjs's kernel reports the bad attributes
  }
  const [n, h, w, c] = x.shape;
  const { outHeight: oh, outWidth: ow } = info;
  if (n === 0 || h === 0 || w === 0 || c === 0 || co === 0 || oh <= 0 || ow <= 0) return undefined;
  const backend = args.backend as WasmBackendLike;
  const g = convGeometry(info, 1);
  const extras = { bias: bias ? addressOf(backend, bias) : 0, act };
  const wino = kh === 3 && kw === 3 && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1;
  const m = wino ? tileFor(wmode, winogradTile(n, c, co, oh, ow)) : 0;
  if (m !== 0) {
    const u = transformedFilter(backend, filter, c, co, m);
    const out = backend.makeOutput(info.outShape, 'float32');
    runConvKernel(
      backend,
      m === 4 ? 'wino4_fwd' : 'wino_fwd',
      g,
      addressOf(backend, x),
      u,
      addressOf(backend, out),
      extras,
    );
    return out;
  }
  if (!cnnTakes(imode, backend, n * oh * ow * co * kh * kw * c, SMALL_CONV_MACS)) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  runConvForward(backend, g, x, filter, out, extras);
  return out;
}

/**
 * Runs a DepthwiseConv2dNative / FusedDepthwiseConv2D call on cnn's depthwise kernel (bias and activation
 * fused) when the rule of {@link IGEMM_FLAG} says so, for the same reason: on more than one thread
 * XNNPACK's pool waits for every worker. Returns undefined for tfjs's kernel otherwise.
 */
export function tryDepthwise(args: ConvArgs): TensorInfo | undefined {
  const route = igemmRoute(args);
  if (!route) return undefined;
  const { mode: imode, backend } = route;
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const a = (args.attrs ?? {}) as Record<string, unknown>;
  if (!x || !filter || x.dtype !== 'float32' || filter.dtype !== 'float32' || preluActivationWeights) return undefined;
  const act = ACTIVATIONS[(a.activation as string | undefined) ?? 'linear'];
  if (act === undefined) return undefined;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const [kh, kw, fc, mult] = filter.shape;
  const co = fc * mult;
  if (fc !== x.shape[3]) return undefined;
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== co)) return undefined;
  let info: backend_util.Conv2DInfo;
  try {
    info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides as number,
      (a.dilations ?? 1) as number,
      a.pad as 'valid',
      a.dimRoundingMode as 'floor' | undefined,
      true,
    );
  } catch {
    return undefined;
  }
  const [n, h, w, c] = x.shape;
  const { outHeight: oh, outWidth: ow } = info;
  if (n === 0 || h === 0 || w === 0 || c === 0 || co === 0 || oh <= 0 || ow <= 0) return undefined;
  if (!cnnTakes(imode, backend, n * oh * ow * co * kh * kw, SMALL_DEPTHWISE_MACS)) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  runConvKernel(
    backend,
    'dw_fwd',
    convGeometry(info, c),
    addressOf(backend, x),
    addressOf(backend, filter),
    addressOf(backend, out),
    { bias: bias ? addressOf(backend, bias) : 0, act },
  );
  return out;
}

/**
 * Runs a BatchMatMul / _FusedMatMul call of one matrix pair (`a` [1, m, k] times `b` [1, k, n], no transposes; bias
 * [n] and a linear, ReLU or ReLU6 activation) on cnn's igemm kernel as a 1x1 convolution of m pixels, when the rule
 * of {@link IGEMM_FLAG} says so for its m * k * n multiply-adds (with `'small'`: a classifier head at batch 1, on more
 * than one thread); returns undefined for tfjs's kernel otherwise.
 */
export function tryMatMul(args: ConvArgs): TensorInfo | undefined {
  const route = igemmRoute(args);
  if (!route) return undefined;
  const { mode: imode, backend } = route;
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const at = (args.attrs ?? {}) as Record<string, unknown>;
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || preluActivationWeights) return undefined;
  if (at.transposeA || at.transposeB || a.shape.length !== 3 || b.shape.length !== 3) return undefined;
  const act = ACTIVATIONS[(at.activation as string | undefined) ?? 'linear'];
  if (act === undefined) return undefined;
  const [ba, m, k] = a.shape;
  const [bb, kb, n] = b.shape;
  if (ba !== 1 || bb !== 1 || k !== kb || m === 0 || k === 0 || n === 0) return undefined;
  if (bias && (bias.dtype !== 'float32' || bias.shape.reduce((p, d) => p * d, 1) !== n)) return undefined;
  if (bias && bias.shape[bias.shape.length - 1] !== n) return undefined;
  if (!cnnTakes(imode, backend, m * k * n, SMALL_MATMUL_MACS)) return undefined;
  const out = backend.makeOutput([1, m, n], 'float32');
  runConvForward(backend, plainGeometry({ n: 1, h: 1, w: m, c: k, oh: 1, ow: m, co: n, kh: 1, kw: 1 }), a, b, out, {
    bias: bias ? addressOf(backend, bias) : 0,
    act,
  });
  return out;
}

/**
 * Runs an AvgPool call whose windows need no padding (pad 'valid', or 'same' where it adds none) on cnn's depthwise
 * kernel, as a depthwise convolution with every filter value 1 / (window size), when the rule of {@link IGEMM_FLAG}
 * says so for its reads (with `'small'`: LeNet-5's pools, on more than one thread); returns undefined for tfjs's
 * kernel otherwise.
 */
export function tryAvgPool(args: ConvArgs): TensorInfo | undefined {
  const route = igemmRoute(args);
  if (!route) return undefined;
  const { mode: imode, backend } = route;
  const { x } = args.inputs;
  if (x?.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = poolInfo(x, args.attrs);
  if (!info) return undefined;
  const p = info.padInfo;
  if (p.top !== 0 || p.left !== 0 || p.bottom !== 0 || p.right !== 0) return undefined;
  const [n, h, w, c] = x.shape;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  if (n === 0 || h === 0 || w === 0 || c === 0 || oh <= 0 || ow <= 0) return undefined;
  if (kh * kw * c > WINDOW_FILTER_MAX_VALUES) return undefined;
  if (!cnnTakes(imode, backend, n * oh * ow * c * kh * kw)) return undefined;
  const out = backend.makeOutput(info.outShape, 'float32');
  runConvKernel(
    backend,
    'dw_fwd',
    convGeometry(info, c), // a pool's info: c in and out, dilation 1, no padding (checked above)
    addressOf(backend, x),
    windowFilter(backend, kh * kw, c),
    addressOf(backend, out),
  );
  return out;
}

/**
 * The geometry of a pooling kernel call (AvgPool, MaxPool: `filterSize`, `strides`, `pad`, `dimRoundingMode`) on an
 * NHWC input, or undefined for attributes tfjs's own kernel should refuse (it reports them).
 */
export function poolInfo(x: TensorInfo, attrs: unknown): backend_util.Conv2DInfo | undefined {
  const at = (attrs ?? {}) as Record<string, unknown>;
  try {
    return backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      at.filterSize as number,
      at.strides as number,
      1,
      at.pad as 'valid',
      at.dimRoundingMode as 'floor' | undefined,
    );
  } catch {
    return undefined;
  }
}

/** Per backend, the 1 / window filters of average pools and means, by `${taps} ${channels}`. */
const windowFilters = new WeakMap<object, Map<string, number>>();

/** Most values of one kept 1 / window filter (a window of taps x channels); larger windows go to tfjs's kernels. */
export const WINDOW_FILTER_MAX_VALUES = 1 << 18;

/**
 * The address of a depthwise filter of `taps` x `c` values, all 1 / taps, made once per backend and kept (it depends
 * on nothing but its size; it goes with the backend's memory when the backend is disposed).
 */
function windowFilter(backend: WasmBackendLike, taps: number, c: number): number {
  let filters = windowFilters.get(backend);
  if (!filters) {
    filters = new Map();
    windowFilters.set(backend, filters);
  }
  const key = `${taps} ${c}`;
  const kept = filters.get(key);
  if (kept) return kept;
  const ptr = backend.wasm._malloc(taps * c * 4) >>> 0;
  if (!ptr) throw new Error(`cnn wasm kernels: out of memory for a ${taps}-tap window filter of ${c} channels`);
  new Float32Array(memoryOf(backend).buffer, ptr, taps * c).fill(1 / taps);
  filters.set(key, ptr);
  return ptr;
}

/** The 1 / window filters a backend keeps: for tests. */
export function windowFilterCount(backend: unknown): number {
  return windowFilters.get(backend as object)?.size ?? 0;
}

/**
 * Runs a Mean over the two spatial axes of an NHWC float32 tensor (a global average pool: `tf.mean(x, [1, 2])`, with
 * or without keepDims) on cnn's depthwise kernel with a kept 1 / (h * w) filter, in one pass, where tfjs's wasm Mean
 * first transposes the input (ShuffleNetV2's 7x7x1024 head: 0.23 ms, the same on one and two threads). Taken
 * whenever {@link IGEMM_FLAG} is not `'off'`, on any number of threads (the kernel is faster on one too), for windows
 * of at most {@link WINDOW_FILTER_MAX_VALUES} filter values; returns undefined for tfjs's kernel otherwise.
 */
export function tryMean(args: ConvArgs): TensorInfo | undefined {
  const route = igemmRoute(args);
  if (!route) return undefined;
  const { backend } = route;
  const { x } = args.inputs;
  const at = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
  if (x?.dtype !== 'float32' || x.shape.length !== 4 || at.axis === undefined) return undefined;
  const axes = (Array.isArray(at.axis) ? at.axis : [at.axis]).map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2) return undefined;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (n === 0 || h === 0 || w === 0 || c === 0 || h * w * c > WINDOW_FILTER_MAX_VALUES) return undefined;
  const out = backend.makeOutput(at.keepDims ? [n, 1, 1, c] : [n, c], 'float32');
  const g = plainGeometry({ n, h, w, c, oh: 1, ow: 1, co: c, kh: h, kw: w, groups: c });
  runConvKernel(backend, 'dw_fwd', g, addressOf(backend, x), windowFilter(backend, h * w, c), addressOf(backend, out));
  return out;
}

/**
 * Runs a Concat of float32 tensors along their last axis (rank 2 or more: the channels of NHWC feature maps, as
 * GoogLeNet's inception blocks and ShuffleNetV1's stride-2 units join their branches) as one call of cnn's copy kernel
 * per input, each writing its rows into its columns of the output, unless {@link IGEMM_FLAG} is `'off'`. tfjs's wasm
 * Concat copies every row of every input from JavaScript through a new typed-array view. Returns undefined for tfjs's
 * kernel otherwise (another axis or dtype, fewer than two inputs, an empty one, shapes that do not agree: tfjs's kernel
 * reports those).
 */
export function tryConcat(args: { inputs: unknown; backend: unknown; attrs?: unknown }): TensorInfo | undefined {
  const route = igemmRoute(args as ConvArgs);
  if (!route) return undefined;
  const { backend } = route;
  const inputs = args.inputs as TensorInfo[];
  if (!Array.isArray(inputs) || inputs.length < 2) return undefined;
  const shape = inputs[0]!.shape;
  const rank = shape.length;
  const a = (args.attrs ?? {}) as { axis?: number | number[] };
  const axis0 = Array.isArray(a.axis) ? a.axis[0] : a.axis;
  if (rank < 2 || axis0 === undefined || (axis0 < 0 ? axis0 + rank : axis0) !== rank - 1) return undefined;
  for (const t of inputs) {
    if (t.dtype !== 'float32' || t.shape.length !== rank || t.shape[rank - 1] === 0) return undefined;
    for (let d = 0; d < rank - 1; d++) if (t.shape[d] !== shape[d]) return undefined;
  }
  const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const total = inputs.reduce((p, t) => p + t.shape[rank - 1]!, 0);
  if (rows === 0) return undefined;
  const out = backend.makeOutput([...shape.slice(0, -1), total], 'float32');
  let off = 0;
  for (const t of inputs) {
    const c = t.shape[rank - 1]!;
    const g = plainGeometry({ n: rows, h: 1, w: 1, c, oh: 1, ow: 1, co: total, kh: 1, kw: 1, pl: off });
    runConvKernel(backend, 'copy_cols', g, addressOf(backend, t), 0, addressOf(backend, out));
    off += c;
  }
  return out;
}

/** Element-wise operations of OP_ELTWISE (EW_ of kernels.c). */
const EW = { add: 1, mul: 2, sub: 3, none: 4 } as const;

/**
 * Runs Add / Multiply / Sub (same shapes, a per-channel vector along the last axis, or a scalar) and Relu /
 * Relu6 on cnn's element-wise kernel under the rule of {@link IGEMM_FLAG}, or returns undefined
 * for tfjs's kernel: on more than one thread tfjs runs them on XNNPACK's pool, which waits for every worker
 * (an unfused MobileNetV2's batch-norm and ReLU6 ops: 7 ms on one thread, 96 ms on two on a loaded machine).
 * On one thread (unless the flag is `'off'`) it also takes a bias added along the last axis (a [c] vector to a
 * tensor of rank 2 or more: every conv2d's and linear's bias add in a training step), which tfjs's wasm Add
 * broadcasts in a scalar loop (LeNet-5's first bias, [64, 28, 28, 6] + [6]: 0.70 ms against 0.27 ms, the same sums).
 */
export function tryEltwise(op: keyof typeof EW, act: number, args: ConvArgs): TensorInfo | undefined {
  const route = igemmRoute(args);
  if (!route) return undefined;
  const { mode: imode, backend } = route;
  const a = op === 'none' ? args.inputs.x : args.inputs.a;
  const size = (t: TensorInfo | null | undefined) => t?.shape.reduce((p, d) => p * d, 1) ?? 0;
  const b = op === 'none' ? a : args.inputs.b;
  const bias =
    op === 'add' && kernelThreads(backend) === 1 && !!a && !!b && (lastAxisVector(a, b) || lastAxisVector(b, a));
  if (!bias && !cnnTakes(imode, backend, Math.max(size(a), size(b)), SMALL_ELTWISE_VALUES)) return undefined;
  return runEltwise(backend, op, act, a, b);
}

/** Output values up to which {@link takesPad} gives a pad to cnn's side (1 MB of float32). */
export const SMALL_PAD_VALUES = 1 << 18;
/** Contiguous runs up to which {@link takesPad} gives a pad to cnn's side: one `copyWithin` each. */
export const SMALL_PAD_RUNS = 1 << 12;

/**
 * Whether cnn's side takes a pad (unless {@link IGEMM_FLAG} is `'off'`): a small one ({@link SMALL_PAD_VALUES} output
 * values and {@link SMALL_PAD_RUNS} contiguous runs to copy at most) on more than one thread, where tfjs's wasm PadV2
 * runs on XNNPACK's pool and waking that pool's worker cost more than the copy (`profile-models.mjs --per-call`, batch
 * 1, two threads against one: resnet20_cifar's option-A shortcut, [1, 16, 16, 16] padded along the channels, 0.07
 * against 0.015 ms; ShuffleNetV1's average-pool shortcuts, [1, 56, 56, 12] and [1, 28, 28, 120] padded along the rows,
 * 0.144 against 0.054 ms and 0.096 against 0.027 ms); and every pad with a NaN constant, on any number of threads:
 * tfjs's wasm PadV2 keeps its XNNPACK pad operators in a map ordered by the constant, where NaN compares equal to any
 * key, so it padded with the constant of an earlier call (-2 where NaN was asked for).
 */
export function takesPad(args: ConvArgs, values: number, runs: number, constant: number): boolean {
  const route = igemmRoute(args);
  if (!route) return false;
  if (Number.isNaN(constant)) return true;
  return kernelThreads(route.backend) > 1 && values <= SMALL_PAD_VALUES && runs <= SMALL_PAD_RUNS;
}

/** Whether `small` is a [c] vector along the last axis of `big`, of rank 2 or more. */
function lastAxisVector(big: TensorInfo, small: TensorInfo): boolean {
  return small.shape.length === 1 && big.shape.length >= 2 && small.shape[0] === big.shape[big.shape.length - 1];
}

/**
 * `act(a (op) b)` on cnn's element-wise kernel (b: same shape as a, a vector along a's last axis, or a scalar;
 * op 'none': act(a), b = a), act an ACT_ code of kernels.c (3: hard-swish); undefined when the kernel cannot take
 * these inputs.
 */
export function runEltwise(
  backend: WasmBackendLike,
  op: keyof typeof EW,
  act: number,
  a0: TensorInfo | null | undefined,
  b0: TensorInfo | null | undefined,
): TensorInfo | undefined {
  let a = a0;
  let b = b0;
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const size = (t: TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
  // The per-channel or scalar operand second (Add and Multiply commute; Sub does not).
  if (size(a) < size(b) && op !== 'sub') [a, b] = [b, a];
  const n = size(a);
  if (n === 0 || a.shape.length === 0) return undefined;
  const last = a.shape[a.shape.length - 1];
  const same = b.shape.length === a.shape.length && b.shape.every((d, i) => d === a.shape[i]);
  const channel =
    b.shape.length <= a.shape.length &&
    b.shape.length > 0 &&
    b.shape[b.shape.length - 1] === last &&
    b.shape.slice(0, -1).every((d) => d === 1);
  const scalar = size(b) === 1 && b.shape.length <= a.shape.length;
  if (!(same || channel || scalar)) return undefined;
  const c = op === 'none' || same ? n : channel ? last : 1;
  const out = backend.makeOutput(a.shape.slice(), 'float32');
  runConvKernel(
    backend,
    'eltwise',
    plainGeometry({ n, h: 1, w: 1, c, oh: 1, ow: 1, co: c, kh: 1, kw: 1, groups: EW[op] }),
    addressOf(backend, a),
    addressOf(backend, b),
    addressOf(backend, out),
    { bias: 0, act },
  );
  return out;
}
