// The 'cuda' backend cannot run here (@tensorflow/tfjs-node-gpu downloads libtensorflow at install time and there is
// no GPU), so these tests drive src/cuda/ through an injected environment: every failure it knows, with error
// objects shaped like the ones users report, and the success path with a stand-in 'tensorflow' backend.
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../src/tf';
import {
  CUDA_PACKAGE,
  CUDA_REQUIRED_LIBRARIES,
  CUDA_TFJS_BACKEND,
  CudaBackendError,
  findMissingCudaLibraries,
  listNvidiaGpus,
  loadCuda,
  setCudaEnvironment,
  type CudaFailure,
} from '../src/cuda';
import { backendInfo, getBackend, setBackend } from '../src/backend';
import { build } from 'esbuild';

const INSTALL = 'npm install @tensorflow/tfjs-node-gpu@4.22.0';
const REBUILD = 'npm rebuild @tensorflow/tfjs-node-gpu';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function removeStandIn(): void {
  try {
    if (tf.findBackendFactory(CUDA_TFJS_BACKEND)) tf.removeBackend(CUDA_TFJS_BACKEND);
  } catch {
    // not registered
  }
}

/** Registers a stand-in for tfjs-node-gpu's backend under its name, as importing the real package would. */
function registerStandIn(make: () => MathBackendCPU = () => new MathBackendCPU()): void {
  removeStandIn();
  tf.registerBackend(CUDA_TFJS_BACKEND, make);
}

/** Runs loadCuda and returns what it threw. */
async function loadError(): Promise<CudaBackendError> {
  const err = await loadCuda().then(
    () => {
      throw new Error('loadCuda resolved; expected it to throw');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CudaBackendError);
  return err as CudaBackendError;
}

function failImport(error: unknown): void {
  setCudaEnvironment({
    importModule: () => Promise.reject(error),
    listGpus: () => Promise.resolve(['NVIDIA H100']),
  });
}

afterEach(() => {
  setCudaEnvironment(null);
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

afterAll(() => {
  removeStandIn();
  setCudaEnvironment(null);
});

describe('CudaBackendError', () => {
  it('is an Error carrying its reason and cause', () => {
    const cause = new Error('inner');
    const err = new CudaBackendError('no-gpu', 'CUDA backend (no-gpu): none', cause);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CudaBackendError');
    expect(err.reason).toBe('no-gpu');
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('CUDA backend (no-gpu): none');
    expect(new CudaBackendError('no-gpu', 'x').cause).toBeUndefined();
  });

  it("uses tfjs-node-gpu's backend name", () => {
    expect(CUDA_TFJS_BACKEND).toBe('tensorflow');
  });
});

describe('loadCuda: package not installed', () => {
  it('classifies ESM ERR_MODULE_NOT_FOUND and says what to install', async () => {
    const original = withCode(
      "Cannot find package '@tensorflow/tfjs-node-gpu' imported from /app/node_modules/@cnn/tensor/dist/index.js",
      'ERR_MODULE_NOT_FOUND',
    );
    failImport(original);
    const err = await loadError();
    expect(err.reason).toBe<CudaFailure>('not-installed');
    expect(err.cause).toBe(original);
    const first = err.message.split('\n')[0];
    expect(first).toContain('not-installed');
    expect(first).toContain(INSTALL);
    expect(first).toMatch(/libtensorflow 2\.9\.1/);
    expect(first).toMatch(/network/);
  });

  it('classifies CJS MODULE_NOT_FOUND', async () => {
    failImport(
      withCode(
        "Cannot find module '@tensorflow/tfjs-node-gpu'\nRequire stack:\n- /app/node_modules/@cnn/tensor/dist/index.cjs",
        'MODULE_NOT_FOUND',
      ),
    );
    const err = await loadError();
    expect(err.reason).toBe('not-installed');
    expect(err.message).toContain(INSTALL);
    expect(err.message).toContain(`${CUDA_PACKAGE} is not installed`);
  });

  it("classifies the code-less error of Vite's (and so Vitest's) module runner", async () => {
    failImport(new Error('Could not resolve "@tensorflow/tfjs-node-gpu" imported by "@cnn/tensor".'));
    const err = await loadError();
    expect(err.reason).toBe('not-installed');
    expect(err.message).toContain(INSTALL);
  });

  it('names the missing dependency when the package is installed incompletely', async () => {
    failImport(
      withCode(
        "Cannot find module '@mapbox/node-pre-gyp'\nRequire stack:\n- /app/node_modules/@tensorflow/tfjs-node-gpu/dist/index.js",
        'MODULE_NOT_FOUND',
      ),
    );
    const err = await loadError();
    expect(err.reason).toBe('not-installed');
    expect(err.message).toContain("'@mapbox/node-pre-gyp'");
    expect(err.message).toContain(INSTALL);
  });

  it('does not call a missing module of some other package "not installed"', async () => {
    const original = withCode("Cannot find module 'left-pad'", 'MODULE_NOT_FOUND');
    failImport(original);
    await expect(loadCuda()).rejects.toBe(original);
  });
});

describe('loadCuda: native addon missing', () => {
  it('classifies the Windows load failure that names tfjs_binding.node', async () => {
    const original = new Error(
      'The specified module could not be found.\n\\\\?\\C:\\app\\node_modules\\@tensorflow\\tfjs-node-gpu\\lib\\napi-v8\\tfjs_binding.node',
    );
    failImport(original);
    const err = await loadError();
    expect(err.reason).toBe<CudaFailure>('addon-missing');
    expect(err.cause).toBe(original);
    const first = err.message.split('\n')[0];
    expect(first).toContain('addon-missing');
    expect(first).toContain(REBUILD);
    expect(first).toMatch(/network/);
    expect(err.message).toContain('--ignore-scripts');
    expect(err.message).toContain('tfjs_binding.node');
  });

  it('prefers addon-missing over not-installed when the missing module is the addon itself', async () => {
    // After `npm install --ignore-scripts`, the package's own require of its addon fails with MODULE_NOT_FOUND,
    // and the require stack names the package.
    failImport(
      withCode(
        "Cannot find module '/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node'\n" +
          'Require stack:\n- /app/node_modules/@tensorflow/tfjs-node-gpu/dist/index.js',
        'MODULE_NOT_FOUND',
      ),
    );
    const err = await loadError();
    expect(err.reason).toBe('addon-missing');
    expect(err.message).toContain(REBUILD);
  });

  it('treats other native load failures (libtensorflow missing, dlopen) as addon-missing', async () => {
    failImport(new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'));
    expect((await loadError()).reason).toBe('addon-missing');
    failImport(new Error('dlopen(/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/x.node, 1): image not found'));
    expect((await loadError()).reason).toBe('addon-missing');
  });

  it('reports a package that registers no tensorflow backend (two copies of tfjs-core)', async () => {
    removeStandIn();
    setCudaEnvironment({ importModule: async () => ({}), listGpus: async () => ['NVIDIA H100'] });
    const err = await loadError();
    expect(err.reason).toBe('addon-missing');
    expect(err.message).toContain("'tensorflow'");
    expect(err.message).toMatch(/two incompatible copies of @tensorflow\/tfjs-core/);
    expect(err.message).toContain('npm ls @tensorflow/tfjs-core');
  });
});

describe('loadCuda: CUDA library missing or of the wrong version', () => {
  it('names libcudart.so.11.0 and the versions to install', async () => {
    const original = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    failImport(original);
    const err = await loadError();
    expect(err.reason).toBe<CudaFailure>('cuda-library');
    expect(err.cause).toBe(original);
    const first = err.message.split('\n')[0];
    expect(first).toContain('cuda-library');
    expect(first).toContain('libcudart.so.11.0');
    expect(first).toContain('CUDA 11.2');
    expect(first).toContain('cuDNN 8.1');
    expect(first).toContain('driver > 450');
    expect(first).toContain('LD_LIBRARY_PATH');
    expect(err.message).toMatch(/CUDA 12/);
  });

  it.each([
    'libcudnn.so.8',
    'libcublas.so.11',
    'libcublasLt.so.11',
    'libcufft.so.10',
    'libcurand.so.10',
    'libcusolver.so.11',
    'libcusparse.so.11',
  ])('names %s', async (lib) => {
    failImport(new Error(`${lib}: cannot open shared object file: No such file or directory`));
    const err = await loadError();
    expect(err.reason).toBe('cuda-library');
    expect(err.message.split('\n')[0]).toContain(`${lib} could not be loaded`);
    if (lib.startsWith('libcudnn')) expect(err.message.split('\n')[0]).toContain('cuDNN 8.1 (for CUDA 11)');
  });

  it('points at the NVIDIA driver when libcuda.so.1 is missing', async () => {
    failImport(new Error('libcuda.so.1: cannot open shared object file: No such file or directory'));
    const err = await loadError();
    expect(err.reason).toBe('cuda-library');
    expect(err.message.split('\n')[0]).toMatch(/libcuda\.so\.1 could not be loaded.*NVIDIA driver/);
  });

  it('catches TensorFlow falling back to its CPU kernels when it cannot open the CUDA libraries', async () => {
    // The real package only logs "Could not load dynamic library 'libcudart.so.11.0'" and runs on the CPU; its
    // backend then says isUsingGpuDevice === false. Simulate that, including the package activating its backend.
    class CpuOnlyTensorflow extends MathBackendCPU {
      readonly isUsingGpuDevice = false;
    }
    await tf.setBackend('cpu');
    setCudaEnvironment({
      importModule: async () => {
        registerStandIn(() => new CpuOnlyTensorflow());
        await tf.setBackend(CUDA_TFJS_BACKEND);
      },
      listGpus: async () => ['NVIDIA H100 80GB HBM3'],
      missingCudaLibraries: async () => ['libcudart.so.11.0', 'libcudnn.so.8'],
    });
    try {
      const err = await loadError();
      expect(err.reason).toBe('cuda-library');
      expect(err.message.split('\n')[0]).toContain('libcudart.so.11.0, libcudnn.so.8 could not be loaded');
      // The backend that was active before is active again.
      expect(tf.getBackend()).toBe('cpu');
    } finally {
      removeStandIn();
    }
  });
});

describe('loadCuda: no GPU visible', () => {
  beforeEach(() => registerStandIn());
  afterEach(() => removeStandIn());

  it('says to load the driver when the driver lists no GPU', async () => {
    vi.stubEnv('CUDA_VISIBLE_DEVICES', undefined);
    setCudaEnvironment({ importModule: async () => ({}), listGpus: async () => [] });
    const err = await loadError();
    expect(err.reason).toBe<CudaFailure>('no-gpu');
    const first = err.message.split('\n')[0];
    expect(first).toContain('no-gpu');
    expect(first).toContain('NVIDIA driver');
    expect(first).toContain('nvidia-smi -L');
    expect(first).toContain('CUDA_VISIBLE_DEVICES');
  });

  it('says when CUDA_VISIBLE_DEVICES hides every GPU', async () => {
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '-1');
    setCudaEnvironment({ importModule: async () => ({}), listGpus: async () => [] });
    const err = await loadError();
    expect(err.reason).toBe('no-gpu');
    expect(err.message.split('\n')[0]).toContain("CUDA_VISIBLE_DEVICES='-1' hides every GPU");
  });
});

describe('loadCuda: other errors', () => {
  it('rethrows an unrelated error unchanged', async () => {
    const original = new TypeError("Cannot read properties of undefined (reading 'shape')");
    failImport(original);
    await expect(loadCuda()).rejects.toBe(original);
  });

  it('rethrows a non-Error value unchanged', async () => {
    failImport('boom');
    await expect(loadCuda()).rejects.toBe('boom');
  });

  it('fails cleanly with the real loader where the package is absent', async () => {
    let installed = true;
    try {
      createRequire(import.meta.url).resolve(CUDA_PACKAGE);
    } catch {
      installed = false;
    }
    if (installed) return; // a machine with the package: nothing to check here
    setCudaEnvironment(null);
    const err = await loadError();
    expect(err.reason).toBe('not-installed');
    expect(err.message).toContain(INSTALL);
  });
});

describe('listNvidiaGpus', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cnn-cuda-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function procGpu(busId: string, model: string, uuid: string): Promise<void> {
    await mkdir(join(dir, 'gpus', busId), { recursive: true });
    await writeFile(
      join(dir, 'gpus', busId, 'information'),
      `Model: \t\t ${model}\nIRQ:   \t\t 42\nGPU UUID: \t ${uuid}\nVideo BIOS: \t 96.00.30.00.01\nBus Type: \t PCIe\n`,
    );
  }

  async function fakeSmi(body: string): Promise<string> {
    const path = join(dir, 'nvidia-smi');
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  it("reads the Model lines of the driver's /proc files, in bus order", async () => {
    await procGpu('0000:c1:00.0', 'NVIDIA A100-SXM4-40GB', 'GPU-bbbb2222-0000-0000-0000-000000000000');
    await procGpu('0000:41:00.0', 'NVIDIA H100 80GB HBM3', 'GPU-aaaa1111-0000-0000-0000-000000000000');
    const procDir = join(dir, 'gpus');
    const missing = join(dir, 'no-such-smi');
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: missing, cudaVisibleDevices: undefined })).toEqual([
      'NVIDIA H100 80GB HBM3',
      'NVIDIA A100-SXM4-40GB',
    ]);
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: missing, cudaVisibleDevices: '1' })).toEqual([
      'NVIDIA A100-SXM4-40GB',
    ]);
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: missing, cudaVisibleDevices: 'GPU-aaaa1111' })).toEqual([
      'NVIDIA H100 80GB HBM3',
    ]);
    // CUDA reads the list up to its first invalid entry.
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: missing, cudaVisibleDevices: '1,-1,0' })).toEqual([
      'NVIDIA A100-SXM4-40GB',
    ]);
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: missing, cudaVisibleDevices: '7' })).toEqual([]);
  });

  it('honours CUDA_VISIBLE_DEVICES="" and "-1" (none visible), also from the environment', async () => {
    await procGpu('0000:41:00.0', 'NVIDIA H100 80GB HBM3', 'GPU-aaaa1111-0000-0000-0000-000000000000');
    const procDir = join(dir, 'gpus');
    expect(await listNvidiaGpus({ procDir, cudaVisibleDevices: '' })).toEqual([]);
    expect(await listNvidiaGpus({ procDir, cudaVisibleDevices: '-1' })).toEqual([]);
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '-1');
    expect(await listNvidiaGpus({ procDir })).toEqual([]);
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '0');
    expect(await listNvidiaGpus({ procDir })).toEqual(['NVIDIA H100 80GB HBM3']);
  });

  it('falls back to `nvidia-smi -L` when there are no /proc files', async () => {
    const smi = await fakeSmi(
      '[ "$1" = "-L" ] || exit 3\n' +
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa1111-0000-0000-0000-000000000000)'\n" +
        "echo '  MIG 1g.10gb     Device  0: (UUID: MIG-cccc3333-0000-0000-0000-000000000000)'\n" +
        "echo 'GPU 1: NVIDIA H200 (UUID: GPU-dddd4444-0000-0000-0000-000000000000)'",
    );
    const procDir = join(dir, 'absent');
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: smi, cudaVisibleDevices: undefined })).toEqual([
      'NVIDIA H100 80GB HBM3',
      'NVIDIA H200',
    ]);
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: smi, cudaVisibleDevices: 'GPU-dddd' })).toEqual(['NVIDIA H200']);
  });

  it('finds no GPUs when nvidia-smi is missing, fails or hangs', async () => {
    const procDir = join(dir, 'absent');
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: join(dir, 'missing'), cudaVisibleDevices: undefined })).toEqual(
      [],
    );
    const failing = await fakeSmi(
      "echo 'NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.'; exit 9",
    );
    expect(await listNvidiaGpus({ procDir, nvidiaSmi: failing, cudaVisibleDevices: undefined })).toEqual([]);
    const hanging = await fakeSmi('sleep 10');
    const started = Date.now();
    expect(
      await listNvidiaGpus({ procDir, nvidiaSmi: hanging, timeoutMs: 200, cudaVisibleDevices: undefined }),
    ).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('findMissingCudaLibraries', () => {
  it('reports only libraries TensorFlow 2.9.1 needs', async () => {
    const missing = await findMissingCudaLibraries();
    expect(CUDA_REQUIRED_LIBRARIES).toEqual(expect.arrayContaining(missing));
    expect(CUDA_REQUIRED_LIBRARIES).toContain('libcudart.so.11.0');
    expect(CUDA_REQUIRED_LIBRARIES).toContain('libcudnn.so.8');
  });
});

describe('setBackend with the cuda backend', () => {
  afterAll(() => removeStandIn());

  it("activates 'cuda' through the stand-in 'tensorflow' backend", async () => {
    setCudaEnvironment({
      importModule: async () => registerStandIn(),
      listGpus: async () => ['NVIDIA H100'],
    });
    await expect(setBackend('cuda')).resolves.toBe('cuda');
    expect(getBackend()).toBe('cuda');
    expect(tf.getBackend()).toBe('tensorflow');
    const info = backendInfo();
    expect(info.backend).toBe('cuda');
    expect(info.tfjsBackend).toBe('tensorflow');
    expect(info.device).toContain('H100');
    expect(info.device).toBe('CUDA: NVIDIA H100');
  });

  it('joins several GPUs in the device description', async () => {
    setCudaEnvironment({
      importModule: async () => registerStandIn(),
      listGpus: async () => ['NVIDIA H100', 'NVIDIA H200'],
    });
    await expect(loadCuda()).resolves.toBe('CUDA: NVIDIA H100, NVIDIA H200');
  });

  it("'auto' uses cuda where it works, without a warning", async () => {
    setCudaEnvironment({
      importModule: async () => registerStandIn(),
      listGpus: async () => ['NVIDIA H100'],
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await expect(setBackend('auto')).resolves.toBe('cuda');
    expect(warn).not.toHaveBeenCalled();
  });

  it("'auto' falls back to wasm with exactly one warning naming the reason", async () => {
    removeStandIn();
    failImport(
      withCode(
        "Cannot find package '@tensorflow/tfjs-node-gpu' imported from /app/node_modules/@cnn/tensor/dist/index.js",
        'ERR_MODULE_NOT_FOUND',
      ),
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await expect(setBackend('auto')).resolves.toBe('wasm');
    expect(getBackend()).toBe('wasm');
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0][0]);
    expect(line).not.toContain('\n');
    expect(line).toContain('not-installed');
    expect(line).toContain(INSTALL);
    expect(line).toMatch(/using wasm/);
  });

  it('rejects an unknown backend name, naming it', async () => {
    await expect(setBackend('nope' as never)).rejects.toThrow(/'nope'/);
    expect(getBackend()).toBe('wasm');
  });
});

describe('bundling src/cuda', () => {
  const entry = fileURLToPath(new URL('../src/cuda/index.ts', import.meta.url));
  const bundle = async (platform: 'node' | 'browser', format: 'esm' | 'cjs'): Promise<string> => {
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform,
      format,
      target: platform === 'node' ? 'node20' : 'es2020',
      external: ['@tensorflow/*'],
      logLevel: 'silent',
    });
    return out.outputFiles[0].text;
  };

  it.each([
    ['browser', 'esm'],
    ['node', 'esm'],
    ['node', 'cjs'],
  ] as const)('leaves the package and Node modules to run time (%s, %s)', async (platform, format) => {
    const code = await bundle(platform, format);
    expect(code).not.toMatch(/(import|require)\(\s*["']@tensorflow\/tfjs-node-gpu["']/);
    expect(code).not.toMatch(/from\s*["']node:|require\(\s*["']node:/);
    // The CJS build must still load the ESM-or-CJS package with import(), not require().
    expect(code).toMatch(/import\(\s*(\/\*[^*]*\*\/\s*)*specifier\s*\)/);
  });
});
