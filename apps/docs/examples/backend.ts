// Getting started: choose where the math runs, and see what you got.
import { setBackend, backendInfo } from '@cnn/models-efficient';

export async function run(log: (line: string) => void): Promise<void> {
  // 'auto' takes CUDA in Node when @tensorflow/tfjs-node-gpu loads and sees a GPU, and WebGPU in a browser
  // with a hardware GPU; otherwise it prints one warning line saying why, and uses WebAssembly SIMD.
  // 'wasm', 'cuda' and 'webgpu' ask for one directly.
  const active = await setBackend('auto');
  log(`active backend: ${active}`);

  const info = backendInfo();
  log(`device: ${info.device}`);
  log(`SIMD: ${info.simd}, threads: ${info.threads}`);
}
