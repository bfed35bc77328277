// Registers cnn's training kernels on tfjs's 'wasm' backend (issue 15): BatchNorm in training mode as one pass per
// kernel (kernels.c, "Training: BatchNorm"). The ops that run them, with a tfjs fallback for other backends, are in
// ../batch-norm-train.ts.
import { getKernel, registerKernel, unregisterKernel, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { Tanh } from '@tensorflow/tfjs-core';
import { BN_AFFINE, BN_BACKWARD_INPUT, BN_BACKWARD_SUMS, BN_STATS, TANH_GRAD } from '../kernel-names';
import { addressOf, runConvKernel, type ConvGeometry, type WasmBackendLike } from './module';

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
}

/** Rows of c channels: every dimension but the last, and the last. */
function rowsOf(op: string, t: TensorInfo): { n: number; c: number } {
  if (t.dtype !== 'float32') throw new Error(`${op}: expected float32 tensors, got ${t.dtype}`);
  const c = t.shape[t.shape.length - 1] ?? 1;
  const n = t.shape.reduce((a, b) => a * b, 1) / Math.max(c, 1);
  if (!(t.shape.length >= 1 && c > 0 && n > 0)) throw new Error(`${op}: needs a non-empty input, got [${t.shape}]`);
  return { n, c };
}

/** The parameter block of a pass over n rows of c channels (the other sizes are 1: the kernels ignore them). */
function rows(n: number, c: number): ConvGeometry {
  return { n, h: 1, w: 1, c, oh: 1, ow: 1, co: c, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, groups: 1 };
}

function checkChannels(op: string, c: number, t: TensorInfo, per: number): void {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype !== 'float32' || size !== per * c)
    throw new Error(`${op}: expected ${per * c} float32 values per-channel, got [${t.shape}] ${t.dtype}`);
}

const stats = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { n, c } = rowsOf(BN_STATS, inputs.x);
  const out = b.makeOutput([2, c], 'float32');
  runConvKernel(b, 'bn_stats', rows(n, c), addressOf(b, inputs.x), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

const affine = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { n, c } = rowsOf(BN_AFFINE, inputs.x);
  checkChannels(BN_AFFINE, c, inputs.table, 3);
  const out = b.makeOutput(inputs.x.shape.slice(), 'float32');
  runConvKernel(b, 'bn_affine', rows(n, c), addressOf(b, inputs.x), addressOf(b, inputs.table), addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

const backwardSums = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { n, c } = rowsOf(BN_BACKWARD_SUMS, inputs.x);
  checkChannels(BN_BACKWARD_SUMS, c, inputs.dy, n);
  checkChannels(BN_BACKWARD_SUMS, c, inputs.table, 2);
  const out = b.makeOutput([2, c], 'float32');
  runConvKernel(
    b,
    'bn_bwd_sums',
    rows(n, c),
    addressOf(b, inputs.x),
    addressOf(b, inputs.table),
    addressOf(b, inputs.dy),
    { bias: addressOf(b, out), act: 0 },
  );
  return out;
}) as unknown as KernelFunc;

const backwardInput = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { n, c } = rowsOf(BN_BACKWARD_INPUT, inputs.x);
  checkChannels(BN_BACKWARD_INPUT, c, inputs.dy, n);
  checkChannels(BN_BACKWARD_INPUT, c, inputs.table, 4);
  const out = b.makeOutput(inputs.x.shape.slice(), 'float32');
  runConvKernel(
    b,
    'bn_bwd_input',
    rows(n, c),
    addressOf(b, inputs.x),
    addressOf(b, inputs.table),
    addressOf(b, inputs.dy),
    { bias: addressOf(b, out), act: 0 },
  );
  return out;
}) as unknown as KernelFunc;

const tanh = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { x } = inputs;
  if (x.dtype !== 'float32') throw new Error(`Tanh: expected a float32 tensor, got ${x.dtype}`);
  const out = b.makeOutput(x.shape.slice(), 'float32');
  const size = x.shape.reduce((a, d) => a * d, 1);
  if (size > 0) runConvKernel(b, 'tanh', rows(size, 1), addressOf(b, x), 0, addressOf(b, out));
  return out;
}) as unknown as KernelFunc;

const tanhGrad = (({ inputs, backend }: KernelArgs): TensorInfo => {
  const b = backend as WasmBackendLike;
  const { dy, y } = inputs;
  const size = y.shape.reduce((a, d) => a * d, 1);
  checkChannels(TANH_GRAD, 1, dy, size);
  checkChannels(TANH_GRAD, 1, y, size);
  const out = b.makeOutput(y.shape.slice(), 'float32');
  if (size > 0)
    runConvKernel(b, 'tanh_grad', rows(size, 1), addressOf(b, y), 0, addressOf(b, dy), {
      bias: addressOf(b, out),
      act: 0,
    });
  return out;
}) as unknown as KernelFunc;

/** Registers the training kernels on 'wasm' (again after a re-registration of the backend: idempotent). */
export function registerTrainKernels(): void {
  const configs: Array<[string, KernelFunc]> = [
    [BN_STATS, stats],
    [BN_AFFINE, affine],
    [BN_BACKWARD_SUMS, backwardSums],
    [BN_BACKWARD_INPUT, backwardInput],
    [Tanh, tanh],
    [TANH_GRAD, tanhGrad],
  ];
  for (const [kernelName, kernelFunc] of configs) {
    if (getKernel(kernelName, 'wasm')) unregisterKernel(kernelName, 'wasm');
    registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
