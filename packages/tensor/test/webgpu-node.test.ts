/**
 * The Node.js side of the 'webgpu' backend: with the real `webgpu` package (Dawn) installed, setBackend('webgpu')
 * either runs on the adapter Dawn finds or, where Dawn finds none (this machine: no GPU, and Dawn refuses lavapipe's
 * software Vulkan), throws a WebGpuBackendError that says why and leaves the active backend as it was; without the
 * package (a real install of the built package in a temporary folder, run in a child process) the error says what to
 * install; 'auto' in Node never picks WebGPU. The browser side is tested in Chromium (webgpu-browser.test.ts).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { backendInfo, getBackend, setBackend, tf, WebGpuBackendError } from '../src/index';
import { guardSyncReads } from '../src/webgpu/load';

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(join(PKG, 'package.json'));

interface AdapterLike {
  info?: { vendor?: string; architecture?: string };
}

/** Asks Dawn directly, without cnn, whether it finds an adapter here. */
async function dawnAdapter(): Promise<AdapterLike | null> {
  const { create } = (await import('webgpu')) as unknown as {
    create(o: string[]): { requestAdapter(o?: object): Promise<AdapterLike | null> };
  };
  return create([]).requestAdapter({ powerPreference: 'high-performance' });
}

let work: string | undefined;
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  await setBackend('wasm');
});

describe("setBackend('webgpu') in Node.js", () => {
  it("'auto' in Node.js never tries WebGPU: it stays on CUDA or wasm", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const got = await setBackend('auto');
      expect(['wasm', 'cuda']).toContain(got);
      expect(warn.mock.calls.flat().join('\n')).not.toMatch(/WebGPU/);
      expect(tf.findBackendFactory('webgpu')).toBeFalsy();
    } finally {
      warn.mockRestore();
    }
  });

  it('runs on the adapter Dawn finds, or throws a WebGpuBackendError (no-adapter) naming Vulkan and what was found, leaving wasm active', async () => {
    await setBackend('wasm');
    const kept = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const adapter = await dawnAdapter();
    const started = Date.now();
    let err: unknown;
    try {
      await setBackend('webgpu');
    } catch (e) {
      err = e;
    }
    console.log(
      `setBackend('webgpu') in Node.js answered in ${Date.now() - started} ms (Dawn adapter: ${adapter ? 'yes' : 'none'})`,
    );
    if (adapter) {
      // A machine with a GPU that Dawn can use: the backend runs there and names it.
      expect(err).toBeUndefined();
      expect(getBackend()).toBe('webgpu');
      expect(backendInfo().adapter?.vendor).toBe(adapter.info?.vendor ?? '');
      expect(backendInfo().device).toMatch(/^WebGPU: /);
      const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
      expect(Array.from(await y.data())).toEqual([4, 6]);
      y.dispose();
      // A synchronous read of a tensor on the GPU: the named error (no OffscreenCanvas in Node.js), not tfjs's.
      const z = tf.tidy(() => tf.relu(tf.add(tf.ones([64, 64]), tf.ones([64, 64]))));
      expect(() => z.dataSync()).toThrow(/^WebGPU backend \(sync-read\): /);
      expect((await z.data())[0]).toBe(2);
      z.dispose();
      await setBackend('wasm');
    } else {
      expect(err).toBeInstanceOf(WebGpuBackendError);
      const e = err as WebGpuBackendError;
      expect(e.name).toBe('WebGpuBackendError');
      expect(e.reason).toBe('no-adapter');
      const [first, ...rest] = e.message.split('\n');
      expect(first).toMatch(/^WebGPU backend \(no-adapter\): Dawn \(the 'webgpu' package\) found no GPU adapter/);
      expect(first).toMatch(/Vulkan \(Linux\), Metal \(macOS\) or D3D12 \(Windows\)/);
      if (process.platform === 'linux')
        expect(rest.join('\n')).toMatch(/^Found here: Vulkan loader libvulkan\.so\.1: /);
      // Nothing changed: wasm is still active, tfjs has no 'webgpu' backend, and the tensor is intact.
      expect(getBackend()).toBe('wasm');
      expect(tf.findBackendFactory('webgpu')).toBeFalsy();
      expect(backendInfo().adapter).toBeUndefined();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(await kept.data())).toEqual([1, 2, 3]);
    kept.dispose();
  });

  it('rejects an unknown backend name, listing webgpu among the known ones', async () => {
    await expect(setBackend('metal' as never)).rejects.toThrow(
      "setBackend: unknown backend 'metal'; expected one of 'wasm', 'cuda', 'cpu', 'webgpu', 'auto'",
    );
  });

  it("without the 'webgpu' package (a real install without it, in a child process) says to install it, and stays on wasm", async () => {
    // A folder whose node_modules has the built @cnn/tensor and tfjs, but no 'webgpu'.
    work = await mkdtemp(join(tmpdir(), 'cnn-webgpu-missing-'));
    const cnn = join(work, 'node_modules', '@cnn', 'tensor');
    await mkdir(cnn, { recursive: true });
    await cp(join(PKG, 'package.json'), join(cnn, 'package.json'));
    await cp(join(PKG, 'dist'), join(cnn, 'dist'), { recursive: true });
    const tfjsScope = dirname(dirname(requireHere.resolve('@tensorflow/tfjs-core/package.json')));
    await symlink(tfjsScope, join(work, 'node_modules', '@tensorflow'), 'dir');
    const script = `
      import { setBackend, getBackend } from '@cnn/tensor';
      await setBackend('wasm');
      try { await setBackend('webgpu'); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ name: e.name, reason: e.reason, message: e.message, backend: getBackend() })); }
    `;
    await writeFile(join(work, 'main.mjs'), script);
    const started = Date.now();
    const stdout = await new Promise<string>((ok, fail) =>
      execFile(process.execPath, ['main.mjs'], { cwd: work, timeout: 60_000 }, (error, out, err) =>
        error ? fail(new Error(`${error.message}\n${err}`)) : ok(out),
      ),
    );
    console.log(`the child process answered in ${Date.now() - started} ms`);
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(r.name).toBe('WebGpuBackendError');
    expect(r.reason).toBe('not-installed');
    expect(r.message.split('\n')[0]).toBe(
      "WebGPU backend (not-installed): in Node.js it runs on Dawn, from the npm package 'webgpu', which is not installed; install it with `npm install webgpu@0.6.2`.",
    );
    expect(r.message).toMatch(/Original error: Cannot find package 'webgpu'/);
    expect(r.backend).toBe('wasm');
  });

  it("a synchronous read of a GPU tensor is a WebGpuBackendError (sync-read) before tfjs's OffscreenCanvas path; values on the CPU still read", () => {
    // tfjs's real WebGPUBackend.readSync, on a backend object that holds one tensor on the GPU (no values on the CPU,
    // a 24-byte buffer) and one whose values are on the CPU. No device exists here: nothing reaches one.
    const tensors = new Map<
      object,
      { dtype: string; shape: number[]; values: Float32Array | null; resource?: object }
    >();
    const onGpu = {};
    const onCpu = {};
    tensors.set(onGpu, { dtype: 'float32', shape: [2, 3], values: null, resource: { size: 24 } });
    tensors.set(onCpu, { dtype: 'float32', shape: [2], values: Float32Array.of(1, 2) });
    const backend = Object.create(WebGPUBackend.prototype) as { readSync(dataId: object): unknown };
    Object.assign(backend, { tensorMap: tensors, hasReadSyncWarned: true });
    // Without cnn's guard, tfjs itself fails here with a ReferenceError (Node.js has no OffscreenCanvas).
    expect(typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas).toBe('undefined');
    expect(() => backend.readSync(onGpu)).toThrow(ReferenceError);
    expect(() => backend.readSync(onGpu)).toThrow(/OffscreenCanvas/);

    guardSyncReads(backend, 'WebGPU: test adapter');
    let err: unknown;
    try {
      backend.readSync(onGpu);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebGpuBackendError);
    const e = err as WebGpuBackendError;
    expect(e.reason).toBe('sync-read');
    expect(e.message.split('\n')[0]).toBe(
      "WebGPU backend (sync-read): a synchronous read (dataSync, arraySync, bufferSync) of a float32 [2, 3] tensor on WebGPU: test adapter in Node.js; tfjs's WebGPU backend reads synchronously only through OffscreenCanvas, which Node.js does not have. Read it asynchronously (`await t.data()`, `await t.array()`), or use the 'wasm' backend for code that reads synchronously (@cnn/train's Trainer does).",
    );
    // Values already on the CPU come back as tfjs returns them.
    expect(Array.from(backend.readSync(onCpu) as Float32Array)).toEqual([1, 2]);
  });
});
