import { test, expect } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '../src/tf';
import { registerWasmKernels } from '../src/wasm/register';
import { registerConvGradients, conv2d } from '../src/conv';
import { prepareWasmKernels } from '../src/wasm/module';
import type { ConvOptions } from '../src/conv-options';

registerWasmKernels();
registerConvGradients();

function rel(a: Float32Array, b: Float32Array) { let m = 0, mb = 0; for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); mb = Math.max(mb, Math.abs(b[i])); } return m / mb; }

async function run(backend: string, xs: number[], fs: number[], o: ConvOptions) {
  await tf.setBackend(backend); await tf.ready();
  if (backend === 'wasm') await prepareWasmKernels(tf.backend());
  const x = tf.tensor(Float32Array.from({ length: xs.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37)), xs) as tf.Tensor4D;
  const f = tf.tensor(Float32Array.from({ length: fs.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11)), fs) as tf.Tensor4D;
  const y = conv2d(x, f, o);
  const dyv = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 0.05 + 1)), y.shape);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, o));
  const [dx, df] = g([x, f], dyv);
  return [y.dataSync().slice(), dx.dataSync().slice(), df.dataSync().slice()] as Float32Array[];
}

const cases: Array<[number[], number[], ConvOptions]> = [
  [[1, 5, 5, 3], [3, 3, 3, 4], {}],
  [[2, 7, 6, 8], [3, 3, 8, 16], { pad: 1 }],
  [[2, 7, 6, 8], [3, 3, 8, 16], { pad: 1, strides: 2 }],
  [[1, 9, 8, 8], [3, 3, 8, 12], { pad: [[1, 2], [0, 1]], dilations: 2 }],
  [[2, 8, 8, 16], [3, 3, 4, 16], { pad: 1, groups: 4 }],
  [[2, 8, 8, 16], [3, 3, 4, 8], { pad: 'same', groups: 4, strides: 2 }],
  [[1, 8, 7, 8], [3, 3, 1, 8], { pad: 1, groups: 8 }],
  [[1, 8, 7, 8], [5, 5, 1, 16], { pad: 'same', groups: 8, strides: 2 }],
  [[1, 10, 10, 6], [3, 3, 6, 6], { pad: 2, dilations: 2 }],
  [[1, 11, 10, 64], [3, 3, 2, 64], { pad: 1, groups: 32 }],
  [[1, 11, 10, 6], [1, 1, 6, 5], { strides: 2 }],
];
for (const [xs, fs, o] of cases) {
  test(`conv ${JSON.stringify([xs, fs, o])}`, async () => {
    const a = await run('wasm', xs, fs, o);
    const b = await run('cpu', xs, fs, o);
    for (let i = 0; i < 3; i++) expect(rel(a[i], b[i]), `part ${i}`).toBeLessThan(1e-4);
  });
}
