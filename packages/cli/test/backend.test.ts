/**
 * `--backend webgpu` of predict, eval, bench and train, through the built bin in child processes, with the real
 * `webgpu` package (Dawn). Where Dawn finds no adapter (this machine and CI: no GPU), every command stops with
 * WebGpuBackendError's whole message (no stack), exit code 1, before it writes anything; where it finds one, bench runs
 * on it. An unknown --backend is a usage error that lists webgpu among the choices.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cnn-cli-backend-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cnn(...args: string[]) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: work, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - started };
}

/** Asks Dawn directly, without cnn, whether it finds an adapter here. */
async function dawnFindsAdapter(): Promise<boolean> {
  const { create } = (await import('webgpu')) as unknown as {
    create(o: string[]): { requestAdapter(o?: object): Promise<object | null> };
  };
  return (await create([]).requestAdapter({ powerPreference: 'high-performance' })) !== null;
}

describe('cnn --backend webgpu (built bin, real Dawn)', () => {
  it('predict, eval, bench and train stop with the WebGpuBackendError message, exit code 1 and no stack, before writing anything (where Dawn finds no adapter); bench runs where it finds one', async () => {
    const out = join(work, 'run');
    const commands = [
      ['predict', '--pretrained', 'lenet5', '--backend', 'webgpu', join(work, 'missing.png')],
      ['eval', '--pretrained', 'lenet5', '--dataset', 'fashion-mnist-sample', '--backend', 'webgpu'],
      ['bench', '--model', 'lenet5', '--iters', '1', '--batch-size', '2', '--backend', 'webgpu'],
      [
        'train',
        '--model',
        'lenet5',
        '--dataset',
        'fashion-mnist-sample',
        '--epochs',
        '1',
        '--backend',
        'webgpu',
        '--out',
        out,
      ],
    ];
    if (await dawnFindsAdapter()) {
      const r = cnn(...commands[2]!);
      console.log(`cnn bench --backend webgpu on a Dawn adapter: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
      expect(r.err).not.toMatch(/WebGpuBackendError|no-adapter/);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/backend webgpu/);
      return;
    }
    for (const args of commands) {
      const r = cnn(...args);
      console.log(`cnn ${args[0]} --backend webgpu (no adapter): exit ${r.code} in ${r.ms.toFixed(0)} ms`);
      expect(r.code, r.err).toBe(1);
      expect(r.out).toBe('');
      // Dawn writes its own lines on stderr (which adapter it refused, and why); cnn's message is one block of them.
      expect(r.err).toMatch(
        /^cnn: --backend cannot start: WebGPU backend \(no-adapter\): Dawn \(the 'webgpu' package\) found no GPU adapter/m,
      );
      expect(r.err).toMatch(
        /^Found here: Vulkan loader libvulkan\.so\.1: (yes|no|unknown)[^;]*; Vulkan drivers \(ICD files\): /m,
      );
      expect(r.err).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    }
    expect(existsSync(out)).toBe(false);
  }, 300_000);

  it('an unknown --backend is a usage error (exit code 2) that lists webgpu', () => {
    for (const command of ['predict', 'eval', 'bench', 'train']) {
      const extra =
        command === 'train'
          ? ['--model', 'lenet5', '--dataset', 'fashion-mnist-sample']
          : command === 'bench'
            ? []
            : ['--pretrained', 'lenet5', ...(command === 'predict' ? ['x.png'] : [])];
      const r = cnn(command, ...extra, '--backend', 'metal');
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim()).toBe("cnn: --backend must be one of wasm, webgpu, cuda, cpu, auto, got 'metal'");
    }
  }, 120_000);
});
