// Starting the 'webgpu' backend: find WebGPU (navigator.gpu in a browser, Dawn from the `webgpu` package in Node.js),
// ask it for an adapter and a device, and only then load tfjs's WebGPU backend (a separate chunk for bundlers: an app
// that never calls setBackend('webgpu') never fetches it) and register it over that device. Every failure is a
// WebGpuBackendError thrown before any tfjs state changes.
import { tf } from '../tf';
import { dynamicImport, isNode } from '../cuda/runtime';
import { run } from '../cuda/device';
import { WEBGPU_NODE_PACKAGE, WEBGPU_TFJS_BACKEND } from './constants';
import { deviceError, noAdapterError, noWebGpuError, nodeImportError, syncReadError } from './errors';

/** The adapter the 'webgpu' backend runs on, as WebGPU describes it (`GPUAdapterInfo`). */
export interface WebGpuAdapterInfo {
  /** The vendor, e.g. `'nvidia'`, `'intel'`, `'apple'`, `'google'` (empty when the browser hides it). */
  vendor: string;
  /** The GPU family, e.g. `'ampere'`, `'gen-12lp'`, `'swiftshader'` (may be empty). */
  architecture: string;
  /** The device, where the browser tells it (often empty). */
  device: string;
  /** A description, where the browser tells it (often empty). */
  description: string;
  /** Whether the browser calls it a fallback adapter (`isFallbackAdapter`): slow, maybe software. */
  fallback: boolean;
  /** Whether it computes on the CPU: a fallback adapter, SwiftShader, llvmpipe / lavapipe or WARP. */
  software: boolean;
}

// The parts of the WebGPU API used here (TypeScript's DOM library has no WebGPU types).
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuDeviceLike {
  destroy?(): void;
  lost?: Promise<{ message?: string; reason?: string }>;
  addEventListener?(type: 'uncapturederror', listener: (event: { error?: { message?: string } }) => void): void;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<GpuDeviceLike>;
  requestAdapterInfo?(): Promise<GpuAdapterInfoLike>;
}
interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: string;
    forceFallbackAdapter?: boolean;
  }): Promise<GpuAdapterLike | null>;
}
interface TfjsWebGpuModule {
  WebGPUBackend: new (device: GpuDeviceLike, adapterInfo?: GpuAdapterInfoLike) => tf.KernelBackend;
}

/** The device limits tfjs's WebGPU backend asks for (the adapter's own maximums), as tfjs's factory does. */
const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
];

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render/i;

let nodeGpu: Promise<GpuLike> | undefined;
/** The factory cnn registered for 'webgpu', and the adapter under it. */
let ours: { factory: () => tf.KernelBackend; info: WebGpuAdapterInfo } | undefined;

/** The adapter the registered 'webgpu' backend runs on (undefined before `setBackend('webgpu')` succeeded). */
export function webGpuAdapter(): WebGpuAdapterInfo | undefined {
  return ours && tf.findBackendFactory(WEBGPU_TFJS_BACKEND) === ours.factory ? ours.info : undefined;
}

/** One line naming the adapter, e.g. `'WebGPU: nvidia ampere'` or `'WebGPU: google swiftshader (software)'`. */
export function describeAdapter(a: WebGpuAdapterInfo): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  const more = a.description && !name.includes(a.description) ? `, ${a.description}` : '';
  return `WebGPU: ${name}${more}${a.software ? ' (software)' : ''}`;
}

async function adapterInfo(adapter: GpuAdapterLike): Promise<WebGpuAdapterInfo> {
  let info = adapter.info;
  if (!info && typeof adapter.requestAdapterInfo === 'function') info = await adapter.requestAdapterInfo();
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const out = {
    vendor: text(info?.vendor),
    architecture: text(info?.architecture),
    device: text(info?.device),
    description: text(info?.description),
    fallback: Boolean(info?.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
  const software = out.fallback || SOFTWARE.test(`${out.vendor} ${out.architecture} ${out.device} ${out.description}`);
  return { ...out, software };
}

/** navigator.gpu in a browser; Dawn's GPU object in Node.js, made once (and set as navigator.gpu for tfjs). */
async function findGpu(): Promise<GpuLike> {
  if (!isNode()) {
    const g = globalThis as { navigator?: { gpu?: GpuLike }; isSecureContext?: boolean };
    if (!g.navigator?.gpu) throw noWebGpuError(g.isSecureContext);
    return g.navigator.gpu;
  }
  nodeGpu ??= startDawn();
  try {
    return await nodeGpu;
  } catch (err) {
    nodeGpu = undefined;
    throw err;
  }
}

async function startDawn(): Promise<GpuLike> {
  let mod: { create(options: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    mod = await dynamicImport(WEBGPU_NODE_PACKAGE);
  } catch (err) {
    throw nodeImportError(err);
  }
  const gpu = mod.create([]);
  // tfjs's WebGPU backend reads the WebGPU constants (GPUBufferUsage, GPUMapMode, ...) as globals and checks for
  // navigator.gpu, as in a browser: provide those that are missing, and nothing else.
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(mod.globals)) if (!(key in g)) g[key] = value;
  const nav = g.navigator as { gpu?: unknown } | undefined;
  if (nav === undefined) Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  return gpu;
}

/** What was found of Vulkan on Linux: its loader and its drivers (ICD files), for the no-adapter error. */
async function describeVulkan(): Promise<string | undefined> {
  const proc = (globalThis as { process?: { platform?: string } }).process;
  if (proc?.platform !== 'linux') return undefined;
  const cache = (await run('ldconfig', ['-p'], 5000)) ?? (await run('/sbin/ldconfig', ['-p'], 5000));
  const loader = cache === null ? 'unknown (no ldconfig)' : /\blibvulkan\.so\.1\b/.test(cache) ? 'yes' : 'no';
  const icds: string[] = [];
  const fs = await dynamicImport<typeof import('node:fs/promises')>('node:fs/promises');
  for (const dir of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']) {
    try {
      for (const name of await fs.readdir(dir)) if (name.endsWith('.json')) icds.push(name);
    } catch {
      // no such folder
    }
  }
  return `Vulkan loader libvulkan.so.1: ${loader}; Vulkan drivers (ICD files): ${icds.length ? icds.join(', ') : 'none'}`;
}

/**
 * Asks WebGPU for its high-performance adapter. Throws a WebGpuBackendError when there is no WebGPU or no adapter.
 */
async function requestAdapter(): Promise<{ adapter: GpuAdapterLike; info: WebGpuAdapterInfo }> {
  const gpu = await findGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw noAdapterError(isNode(), isNode() ? await describeVulkan() : undefined);
  return { adapter, info: await adapterInfo(adapter) };
}

/**
 * The adapter 'auto' would use in a browser: a hardware one, or a reason why not. Never throws.
 */
export async function probeHardwareAdapter(): Promise<{ info?: WebGpuAdapterInfo; why?: string }> {
  try {
    const { info } = await requestAdapter();
    if (info.software) return { why: `the only adapter, ${describeAdapter(info)}, computes on the CPU` };
    return { info };
  } catch (err) {
    return { why: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  }
}

/**
 * Makes sure a 'webgpu' backend over a real device is registered with tfjs (it does not activate it).
 *
 * @returns the adapter it runs on.
 * @throws WebGpuBackendError naming what is missing; the registered backends are then unchanged.
 */
export async function loadWebGpu(): Promise<WebGpuAdapterInfo> {
  const current = webGpuAdapter();
  if (current) return current;
  const { adapter, info } = await requestAdapter();
  const requiredLimits: Record<string, number> = {};
  for (const key of LIMITS) if (typeof adapter.limits[key] === 'number') requiredLimits[key] = adapter.limits[key];
  let backend: tf.KernelBackend;
  let device: GpuDeviceLike | undefined;
  try {
    device = await adapter.requestDevice({ requiredLimits });
    const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as TfjsWebGpuModule;
    backend = new WebGPUBackend(device, adapter.info ?? info);
  } catch (err) {
    device?.destroy?.();
    throw deviceError(describeAdapter(info), err);
  }
  watch(device, describeAdapter(info));
  guardSyncReads(backend, describeAdapter(info));
  // Importing tfjs's package registers its own factory where navigator.gpu exists (priority 3, so that tfjs would pick
  // it unasked); cnn's, below wasm's priority, hands tfjs the backend made above.
  if (tf.findBackendFactory(WEBGPU_TFJS_BACKEND)) tf.removeBackend(WEBGPU_TFJS_BACKEND);
  const factory = () => backend;
  tf.registerBackend(WEBGPU_TFJS_BACKEND, factory, 1);
  ours = { factory, info };
  return info;
}

/** The parts of tfjs's WebGPU backend that a synchronous read goes through. */
interface SyncReader {
  readSync(dataId: object): unknown;
  tensorMap?: { get(dataId: object): { values?: unknown; dtype?: string; shape?: number[] } | undefined };
}

/**
 * Where there is no `OffscreenCanvas` (Node.js), tfjs's WebGPU `readSync` (under `dataSync`, `arraySync`,
 * `bufferSync`) of a tensor held on the GPU fails deep inside tfjs with a ReferenceError, after ending its compute
 * pass. Make that read a WebGpuBackendError ('sync-read') thrown before tfjs starts it; a tensor whose values are on
 * the CPU (not yet uploaded, or read before) still reads synchronously. Elsewhere the backend is left as it is.
 */
export function guardSyncReads(backend: object, adapter: string): void {
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined') return;
  const reader = backend as SyncReader;
  const readSync = reader.readSync;
  if (typeof readSync !== 'function') return;
  reader.readSync = function (dataId: object) {
    const data = reader.tensorMap?.get(dataId);
    // tfjs's own early returns (values on the CPU, strings) and complex64 (two reads, each guarded) pass through.
    if (data && data.values == null && data.dtype !== 'string' && data.dtype !== 'complex64')
      throw syncReadError(adapter, `${data.dtype ?? ''} [${(data.shape ?? []).join(', ')}]`.trim());
    return readSync.call(this, dataId);
  };
}

/**
 * WebGPU reports a failed kernel (a shader that does not compile, a buffer too large) as an event, not an exception,
 * and tfjs's backend ignores it: the output is then wrong, often zeros. Say so on the console, once per device,
 * and say when the device is lost.
 */
function watch(device: GpuDeviceLike, adapter: string): void {
  let told = false;
  device.addEventListener?.('uncapturederror', (event) => {
    if (told) return;
    told = true;
    console.error(
      `cnn: a WebGPU kernel failed on ${adapter}; its output, and anything computed from it, is wrong: ${event.error?.message ?? 'unknown error'}`,
    );
  });
  device.lost?.then(
    (info) => {
      if (info.reason !== 'destroyed')
        console.error(`cnn: the WebGPU device on ${adapter} was lost: ${info.message ?? ''}`);
    },
    () => {},
  );
}
