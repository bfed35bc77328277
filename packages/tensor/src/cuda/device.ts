// Device queries for the 'cuda' backend: which NVIDIA GPUs this process may use (the driver's /proc files or
// `nvidia-smi -L`, filtered by CUDA_VISIBLE_DEVICES), and which CUDA libraries the dynamic linker cannot find.
import { CUDA_REQUIRED_LIBRARIES } from './constants';
import type { CudaEnvironment } from './load';
import { dynamicImport, isNode } from './runtime';

/** The process's CUDA_VISIBLE_DEVICES (`undefined` when not set, or not in Node.js). */
export function cudaVisibleDevices(): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.CUDA_VISIBLE_DEVICES;
}

/** One GPU as the NVIDIA driver lists it. */
interface GpuRecord {
  name: string;
  uuid?: string;
}

/** Parses CUDA_VISIBLE_DEVICES as CUDA does: a comma-separated list, read up to the first invalid entry. */
export function parseVisibleDevices(value: string): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (/^\d+$/.test(entry) || /^(GPU|MIG)-[0-9a-fA-F-]+/.test(entry)) out.push(entry);
    else break;
  }
  return out;
}

function selectVisible(gpus: GpuRecord[], value: string | undefined): GpuRecord[] {
  if (value === undefined) return gpus;
  const chosen: GpuRecord[] = [];
  for (const entry of parseVisibleDevices(value)) {
    if (entry.startsWith('MIG-')) {
      // A MIG instance of one of the GPUs; its parent cannot be told from the driver's list, so name them all.
      return gpus;
    }
    const gpu = /^\d+$/.test(entry)
      ? gpus[Number(entry)]
      : gpus.find((g) => g.uuid?.toLowerCase().startsWith(entry.toLowerCase()));
    if (!gpu) break; // CUDA stops at the first entry that names no device
    if (!chosen.includes(gpu)) chosen.push(gpu);
  }
  return chosen;
}

/** Where {@link listNvidiaGpus} looks; every member has a default. */
export interface ListGpusOptions {
  /** The driver's per-GPU folder. Default `/proc/driver/nvidia/gpus`. */
  procDir?: string;
  /** The `nvidia-smi` executable, asked when `procDir` lists no GPU. Default `nvidia-smi` (found on the PATH). */
  nvidiaSmi?: string;
  /** How long `nvidia-smi` may run, in ms. Default 5000. */
  timeoutMs?: number;
  /** The value of CUDA_VISIBLE_DEVICES to honour. Default: the process's environment (`undefined` = not set). */
  cudaVisibleDevices?: string | undefined;
}

/**
 * The default {@link CudaEnvironment.listGpus}: names of the NVIDIA GPUs this process may use. Reads the `Model:` line
 * of `/proc/driver/nvidia/gpus/<bus id>/information` where the driver provides it, else runs `nvidia-smi -L` (a missing
 * binary or a failing driver means no GPUs). Honours CUDA_VISIBLE_DEVICES: `''` or `'-1'` hide every GPU, indices and
 * `GPU-` UUIDs select GPUs (indices follow the driver's PCI order, which can differ from CUDA's on mixed machines).
 */
export async function listNvidiaGpus(options: ListGpusOptions = {}): Promise<string[]> {
  if (!isNode()) return [];
  const visible = 'cudaVisibleDevices' in options ? options.cudaVisibleDevices : cudaVisibleDevices();
  if (visible !== undefined && parseVisibleDevices(visible).length === 0) return [];
  let gpus = await readProcGpus(options.procDir ?? '/proc/driver/nvidia/gpus');
  if (gpus.length === 0) gpus = await runNvidiaSmi(options.nvidiaSmi ?? 'nvidia-smi', options.timeoutMs ?? 5000);
  return selectVisible(gpus, visible).map((g) => g.name);
}

async function readProcGpus(dir: string): Promise<GpuRecord[]> {
  try {
    const fs = await dynamicImport<typeof import('node:fs/promises')>('node:fs/promises');
    const entries = (await fs.readdir(dir)).sort();
    const gpus: GpuRecord[] = [];
    for (const entry of entries) {
      let text: string;
      try {
        text = await fs.readFile(`${dir}/${entry}/information`, 'utf8');
      } catch {
        continue;
      }
      const name = /^Model:\s*(.+?)\s*$/m.exec(text)?.[1];
      if (!name) continue;
      const uuid = /^GPU UUID:\s*(\S+)/m.exec(text)?.[1];
      gpus.push(uuid ? { name, uuid } : { name });
    }
    return gpus;
  } catch {
    return [];
  }
}

async function runNvidiaSmi(command: string, timeoutMs: number): Promise<GpuRecord[]> {
  const stdout = await run(command, ['-L'], timeoutMs);
  if (stdout === null) return [];
  const gpus: GpuRecord[] = [];
  for (const line of stdout.split('\n')) {
    // "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)"; MIG instances follow, indented, and are skipped.
    const m = /^GPU \d+: (.+?)(?: \(UUID: ([^)]+)\))?\s*$/.exec(line);
    if (m) gpus.push(m[2] ? { name: m[1], uuid: m[2] } : { name: m[1] });
  }
  return gpus;
}

/** Runs a program; resolves its stdout, or null when it is missing, fails or times out. */
export async function run(command: string, args: string[], timeoutMs: number): Promise<string | null> {
  try {
    const cp = await dynamicImport<typeof import('node:child_process')>('node:child_process');
    return await new Promise<string | null>((resolve) => {
      cp.execFile(command, args, { timeout: timeoutMs, encoding: 'utf8', windowsHide: true }, (error, stdout) => {
        resolve(error ? null : stdout);
      });
    });
  } catch {
    return null;
  }
}

/**
 * The default {@link CudaEnvironment.missingCudaLibraries}: which of {@link CUDA_REQUIRED_LIBRARIES} are neither in
 * the dynamic linker's cache (`ldconfig -p`) nor in a folder of LD_LIBRARY_PATH. Linux only; elsewhere, or when the
 * cache cannot be read, it returns only what it could check.
 */
export async function findMissingCudaLibraries(): Promise<string[]> {
  if (!isNode()) return [];
  const proc = (globalThis as { process?: { platform?: string; env?: Record<string, string | undefined> } }).process;
  if (proc?.platform !== 'linux') return [];
  const found = new Set<string>();
  const cache = (await run('ldconfig', ['-p'], 5000)) ?? (await run('/sbin/ldconfig', ['-p'], 5000));
  if (cache === null) return [];
  for (const line of cache.split('\n')) {
    const m = /^\s*(\S+)\s+\(/.exec(line);
    if (m) found.add(m[1]);
  }
  const fs = await dynamicImport<typeof import('node:fs/promises')>('node:fs/promises');
  for (const dir of (proc.env?.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    try {
      for (const name of await fs.readdir(dir)) found.add(name);
    } catch {
      // not a readable folder
    }
  }
  return CUDA_REQUIRED_LIBRARIES.filter((lib) => !found.has(lib));
}
