// Winograd F(2x2, 3x3) and F(4x4, 3x3) on the wasm backend (cnn's Conv2D / FusedConv2D): their values against a float64
// direct convolution, against XNNPACK's direct path and the cpu backend; its determinism on 1 and 2
// threads; the cache of transformed filters (a new value after Variable.assign, freed with the filter's
// data, rebuilt after a backend switch); and that every call it does not take still runs tfjs's kernel.
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend, setThreads, tf, type Tensor4D } from '../src/index';
import {
  IGEMM_DEFAULT,
  IGEMM_FLAG,
  WINOGRAD_FLAG,
  WINOGRAD_MIN_CHANNELS,
  SMALL_CONV_MACS,
  SMALL_DEPTHWISE_MACS,
  SMALL_ELTWISE_VALUES,
  SMALL_PAD_RUNS,
  SMALL_PAD_VALUES,
  useIgemm,
  useSmallCall,
  useWinograd,
  WINOGRAD_F4_MIN_CHANNELS,
  winogradCacheSize,
  winogradTile,
  packedFilterCacheSize,
  PACKED_FILTER_MAX_VALUES,
  WINDOW_FILTER_MAX_VALUES,
  windowFilterCount,
} from '../src/wasm/winograd';
import { relErr } from '../../../test-support/fixtures';
import { naiveConv, type PadSpec, type Shape4 } from './naive-conv';
import { cnnKernelRuns, heapBytes } from './wasm-internals';

/** fn's result with CNN_IGEMM set to mode, the default put back after. */
function underIgemm<T>(mode: string, fn: () => T): T {
  tf.env().set(IGEMM_FLAG, mode);
  try {
    return fn();
  } finally {
    tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
  }
}

/**
 * The error bounds the README states: max |winograd - float64| <= bound * max |float64| over the output, for
 * F(2x2, 3x3) (measured: at most 7.6e-7 for the shapes below, at 512 input channels; XNNPACK's direct
 * convolution: 2.3e-6 there) and F(4x4, 3x3), whose larger transform points multiply the rounding error
 * (measured: at most 1.5e-5, at 512 input channels).
 */
const WINOGRAD_REL_ERROR = { f2: 2e-6, f4: 2.5e-5 };
/** The same bound for XNNPACK's direct convolution, which the test also measures. */
const DIRECT_REL_ERROR = 1e-5;

type Act = 'linear' | 'relu' | 'relu6';

/** Deterministic values in [-1, 1) (a linear congruential generator), `scale` times. */
function values(n: number, seed: number, scale = 1): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 31 - 1) * scale;
  }
  return v;
}

/** Paddings written as 'before after' per axis, axes separated by commas: '0 0, 1 1'. */
function paddingsOf(spec: string): Array<[number, number]> {
  return spec.split(',').map((p) => p.trim().split(' ').map(Number) as [number, number]);
}

/** `compute` on the cpu backend, then on wasm with `threads` threads; each must leave the tensor count as it was. */
async function onCpuThenWasm<T>(threads: number, compute: () => T): Promise<[T, T]> {
  const out: T[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    if (backend === 'wasm') await setThreads(threads);
    await setBackend(backend);
    const before = tf.memory().numTensors;
    out.push(compute());
    expect(tf.memory().numTensors).toBe(before);
  }
  return [out[0]!, out[1]!];
}

/** float64 reference: direct convolution, then bias and activation. */
function reference(
  x: Float32Array,
  xs: Shape4,
  f: Float32Array,
  fs: Shape4,
  pad: PadSpec,
  bias: Float32Array | undefined,
  act: Act,
): Float64Array {
  const { y } = naiveConv(x, xs, f, fs, { pad });
  const co = fs[3];
  for (let i = 0; i < y.length; i++) {
    let v = y[i] + (bias ? bias[i % co] : 0);
    if (act !== 'linear') v = Math.max(v, 0);
    if (act === 'relu6') v = Math.min(v, 6);
    y[i] = v;
  }
  return y;
}

/** tfjs's pad attribute for a torchvision-style padding number, or the string. */
const tfPad = (
  pad: PadSpec,
): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] =>
  typeof pad === 'number'
    ? [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]
    : (pad as 'same' | 'valid');

function fusedConv(
  x: Float32Array,
  xs: Shape4,
  f: Float32Array,
  fs: Shape4,
  pad: PadSpec,
  bias: Float32Array | undefined,
  act: Act,
  mode: 'on' | 'off' | 'auto' | 'f2' | 'f4',
): Float32Array {
  tf.env().set(WINOGRAD_FLAG, mode);
  try {
    return tf.tidy(() =>
      tf.fused
        .conv2d({
          x: tf.tensor4d(x, xs),
          filter: tf.tensor4d(f, fs),
          bias: bias ? tf.tensor1d(bias) : undefined,
          strides: 1,
          pad: tfPad(pad),
          activation: act,
        })
        .dataSync(),
    ) as Float32Array;
  } finally {
    tf.env().set(WINOGRAD_FLAG, 'auto');
  }
}

// [x shape, c out, pad, activation, bias]: channels not multiples of 4, odd sizes, batch > 1, 512 channels.
const CASES: Array<[Shape4, number, PadSpec, Act, boolean]> = [
  [[1, 8, 8, 16], 16, 1, 'linear', false],
  [[2, 7, 9, 5], 11, 'same', 'relu', true],
  [[1, 13, 11, 19], 33, 'valid', 'relu6', true],
  [[3, 5, 6, 3], 7, 1, 'relu', false],
  [[1, 1, 1, 4], 4, 1, 'linear', true],
  [[1, 3, 4, 1], 1, 'valid', 'linear', false],
  [[2, 14, 14, 64], 40, 1, 'relu', true],
  [[1, 9, 9, 512], 512, 1, 'relu6', true],
  [[1, 7, 7, 256], 520, 'same', 'linear', true],
];

const label = ([xs, co, pad, act, bias]: (typeof CASES)[number]) =>
  `x ${xs.join('x')}, ${co} out, pad ${JSON.stringify(pad)}, ${act}${bias ? ', bias' : ''}`;

describe.each([
  [1, 'f2'],
  [2, 'f2'],
  [1, 'f4'],
  [2, 'f4'],
] as const)('Winograd on %i thread(s), tile %s', (threads, tile) => {
  afterAll(async () => {
    await setThreads('auto');
  });

  it.each(CASES.map((c) => [label(c), c] as const))(
    'matches a float64 direct convolution and XNNPACK: %s',
    async (_name, [xs, co, pad, act, withBias]) => {
      await setThreads(threads);
      await setBackend('wasm');
      const fs: Shape4 = [3, 3, xs[3], co];
      const x = values(xs[0] * xs[1] * xs[2] * xs[3], 1);
      // Filters scaled like a trained network's (He initialisation), so outputs stay near 1.
      const f = values(9 * xs[3] * co, 2, Math.sqrt(6 / (9 * xs[3])));
      const bias = withBias ? values(co, 3, 0.5) : undefined;
      const before = tf.memory().numTensors;
      const wino = fusedConv(x, xs, f, fs, pad, bias, act, tile);
      const direct = fusedConv(x, xs, f, fs, pad, bias, act, 'off');
      expect(tf.memory().numTensors).toBe(before);
      const want = reference(x, xs, f, fs, pad, bias, act);
      const e = relErr(wino, want);
      console.log(
        `${label([xs, co, pad, act, withBias])}: Winograd ${tile} ${e.rel.toExponential(2)}, direct ${relErr(direct, want).rel.toExponential(2)} (relative to max |y|)`,
      );
      expect(e.rel, JSON.stringify(e)).toBeLessThanOrEqual(WINOGRAD_REL_ERROR[tile]);
      expect(relErr(direct, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      // Both within their bounds of the float64 result, so within their sum of each other.
      expect(relErr(wino, direct).rel).toBeLessThanOrEqual(WINOGRAD_REL_ERROR[tile] + DIRECT_REL_ERROR);
    },
  );

  it('tf.conv2d (Conv2D) takes Winograd too, with same, valid and explicit padding', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const xs: Shape4 = [2, 10, 9, 24];
    const fs: Shape4 = [3, 3, 24, 32];
    expect(useWinograd(2, 24, 32, 10, 9)).toBe(true);
    const x = values(
      xs.reduce((a, b) => a * b),
      4,
    );
    const f = values(
      fs.reduce((a, b) => a * b),
      5,
      0.1,
    );
    for (const pad of ['same', 'valid', 1, 2] as PadSpec[]) {
      const want = reference(x, xs, f, fs, pad, undefined, 'linear');
      for (const mode of ['auto', 'off'] as const) {
        tf.env().set(WINOGRAD_FLAG, mode);
        const got = tf.tidy(() => tf.conv2d(tf.tensor4d(x, xs), tf.tensor4d(f, fs), 1, tfPad(pad)).dataSync());
        tf.env().set(WINOGRAD_FLAG, 'auto');
        expect(relErr(got, want).rel, `pad ${pad}, ${mode}`).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      }
    }
  });

  it('gives the same bits twice, and stores a transformed filter once per filter', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    tf.env().set(WINOGRAD_FLAG, tile);
    const x = tf.tensor4d(values(28 * 28 * 64, 6), [1, 28, 28, 64]);
    const f = tf.tensor4d(values(9 * 64 * 48, 7, 0.1), [3, 3, 64, 48]);
    const cached = winogradCacheSize(tf.backend());
    const a = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync());
    expect(winogradCacheSize(tf.backend())).toBe(cached + 1);
    const b = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync());
    expect(winogradCacheSize(tf.backend())).toBe(cached + 1);
    tf.env().set(WINOGRAD_FLAG, 'auto');
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    f.dispose();
    expect(winogradCacheSize(tf.backend())).toBe(cached);
    x.dispose();
  });

  it('Variable.assign gives the next convolution the new filter', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const xs: Shape4 = [1, 12, 12, 32];
    const fs: Shape4 = [3, 3, 32, 32];
    const x = values(
      xs.reduce((a, b) => a * b),
      8,
    );
    const f1 = values(
      fs.reduce((a, b) => a * b),
      9,
      0.1,
    );
    const f2 = values(
      fs.reduce((a, b) => a * b),
      10,
      0.1,
    );
    const xt = tf.tensor4d(x, xs);
    const v = tf.variable(tf.tensor4d(f1, fs));
    tf.env().set(WINOGRAD_FLAG, tile);
    const y1 = tf.tidy(() => tf.conv2d(xt, v as unknown as Tensor4D, 1, 'same').dataSync());
    v.assign(tf.tidy(() => tf.tensor4d(f2, fs)));
    const y2 = tf.tidy(() => tf.conv2d(xt, v as unknown as Tensor4D, 1, 'same').dataSync());
    tf.env().set(WINOGRAD_FLAG, 'auto');
    expect(relErr(y1, reference(x, xs, f1, fs, 'same', undefined, 'linear')).rel).toBeLessThanOrEqual(
      WINOGRAD_REL_ERROR[tile],
    );
    expect(relErr(y2, reference(x, xs, f2, fs, 'same', undefined, 'linear')).rel).toBeLessThanOrEqual(
      WINOGRAD_REL_ERROR[tile],
    );
    tf.dispose([xt, v]);
  });

  it('frees a transformed filter with its data: 1,000 assign + conv cycles leave the heap where it was', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const t0 = performance.now();
    const xt = tf.tensor4d(values(6 * 6 * 64, 11), [1, 6, 6, 64]);
    const v = tf.variable(tf.zeros([3, 3, 64, 64]));
    tf.env().set(WINOGRAD_FLAG, tile);
    const cycle = (i: number) => {
      const next = tf.fill([3, 3, 64, 64], (i % 7) * 0.01);
      v.assign(next);
      next.dispose();
      tf.conv2d(xt, v as unknown as Tensor4D, 1, 'same').dispose();
    };
    for (let i = 0; i < 20; i++) cycle(i);
    const heap = heapBytes();
    const tensors = tf.memory().numTensors;
    const cached = winogradCacheSize(tf.backend());
    // Each transformed 64x64 filter is 256 KiB: 1,000 kept copies would grow the heap by 250 MiB.
    for (let i = 20; i < 1020; i++) cycle(i);
    tf.env().set(WINOGRAD_FLAG, 'auto');
    expect(winogradCacheSize(tf.backend())).toBe(cached);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(heapBytes()).toBe(heap);
    tf.dispose([xt, v]);
    console.log(`1,000 assign + conv cycles: ${(performance.now() - t0).toFixed(0)} ms`);
  }, 60_000);

  it('calls tfjs kernel for what Winograd does not take (stride 2, dilation 2, leakyrelu, 1x1)', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const xs: Shape4 = [1, 11, 11, 32];
    const x = values(
      xs.reduce((a, b) => a * b),
      12,
    );
    const f3 = values(9 * 32 * 32, 13, 0.1);
    const f1 = values(32 * 32, 14, 0.1);
    const cached = winogradCacheSize(tf.backend());
    tf.env().set(WINOGRAD_FLAG, tile);
    const [s2, d2, leaky, one] = tf.tidy(() => {
      const xt = tf.tensor4d(x, xs);
      const w3 = tf.tensor4d(f3, [3, 3, 32, 32]);
      return [
        tf.conv2d(xt, w3, 2, 'same').dataSync(),
        tf.conv2d(xt, w3, 1, 'same', 'NHWC', 2).dataSync(),
        tf.fused
          .conv2d({ x: xt, filter: w3, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.1 })
          .dataSync(),
        tf.conv2d(xt, tf.tensor4d(f1, [1, 1, 32, 32]), 1, 'valid').dataSync(),
      ];
    });
    tf.env().set(WINOGRAD_FLAG, 'auto');
    expect(winogradCacheSize(tf.backend())).toBe(cached); // none of them transformed a filter
    const fs3: Shape4 = [3, 3, 32, 32];
    expect(relErr(s2, naiveConv(x, xs, f3, fs3, { pad: 'same', strides: 2 }).y).rel).toBeLessThan(1e-5);
    expect(relErr(d2, naiveConv(x, xs, f3, fs3, { pad: 'same', dilations: 2 }).y).rel).toBeLessThan(1e-5);
    const lk = naiveConv(x, xs, f3, fs3, { pad: 'same' }).y.map((v) => (v < 0 ? 0.1 * v : v));
    expect(relErr(leaky, lk).rel).toBeLessThan(1e-5);
    expect(relErr(one, naiveConv(x, xs, f1, [1, 1, 32, 32], {}).y).rel).toBeLessThan(1e-5);
  });
});

describe('Winograd across threads and backends', () => {
  afterAll(async () => {
    await setThreads('auto');
    await setBackend('wasm');
  });

  it.each(['f2', 'f4'] as const)(
    '%s gives the same bits on 1 and 2 threads (the split keeps each sum in order)',
    async (tile) => {
      const shapes: Array<[Shape4, number]> = [
        [[1, 28, 28, 64], 64], // split by tile blocks
        [[1, 7, 7, 512], 512], // few tiles: split by output channels too
        [[2, 9, 11, 21], 37],
        [[1, 8, 8, 64], 64], // few tiles, a filter in cache: blocks of one quad of tiles
        [[1, 56, 56, 64], 64], // blocks of nearly equal size (F(4x4): 48, 48, 48, 52 tiles)
      ];
      const out: Float32Array[][] = [];
      for (const threads of [1, 2]) {
        await setThreads(threads);
        await setBackend('wasm');
        out.push(
          shapes.map(([xs, co], i) =>
            fusedConv(
              values(
                xs.reduce((a, b) => a * b),
                20 + i,
              ),
              xs,
              values(9 * xs[3] * co, 30 + i, 0.05),
              [3, 3, xs[3], co],
              1,
              values(co, 40 + i),
              'relu',
              tile,
            ),
          ),
        );
      }
      shapes.forEach(([xs], i) =>
        expect(Buffer.from(out[1][i].buffer).equals(Buffer.from(out[0][i].buffer)), `x ${xs.join('x')}`).toBe(true),
      );
    },
  );

  it('agrees with the cpu backend, and a filter that moved to cpu and back is transformed again', async () => {
    const xs: Shape4 = [2, 9, 9, 20];
    const fs: Shape4 = [3, 3, 20, 24];
    const x = values(
      xs.reduce((a, b) => a * b),
      50,
    );
    const fv = values(
      fs.reduce((a, b) => a * b),
      51,
      0.2,
    );
    const b = values(24, 52);
    await setBackend('wasm');
    const wasm = tf.backend();
    const xt = tf.tensor4d(x, xs);
    const f = tf.tensor4d(fv, fs);
    const bt = tf.tensor1d(b);
    const run = () =>
      tf.tidy(() =>
        tf.fused.conv2d({ x: xt, filter: f, bias: bt, strides: 1, pad: 'same', activation: 'relu6' }).dataSync(),
      );
    tf.env().set(WINOGRAD_FLAG, 'on');
    const before = winogradCacheSize(wasm);
    const onWasm = run();
    expect(winogradCacheSize(wasm)).toBe(before + 1);
    await setBackend('cpu');
    const onCpu = run(); // moves x, f and the bias to cpu: the wasm copy of f, and its transform, are freed
    expect(winogradCacheSize(wasm)).toBe(before);
    await setBackend('wasm');
    const again = run();
    tf.env().set(WINOGRAD_FLAG, 'auto');
    expect(winogradCacheSize(wasm)).toBe(before + 1);
    expect(relErr(onWasm, onCpu).rel).toBeLessThan(1e-5);
    expect(Buffer.from(again.buffer).equals(Buffer.from(onWasm.buffer))).toBe(true);
    tf.dispose([xt, f, bt]);
    expect(winogradCacheSize(wasm)).toBe(before);
  });

  it("states the 'auto' rule: enough channels and multiply-adds", () => {
    expect(WINOGRAD_MIN_CHANNELS).toBe(16);
    expect(useWinograd(1, 64, 64, 56, 56)).toBe(true); // ResNet's first stage
    expect(useWinograd(1, 512, 512, 7, 7)).toBe(true);
    expect(useWinograd(1, 3, 64, 224, 224)).toBe(false); // VGG's first layer: 3 input channels
    expect(useWinograd(1, 32, 32, 7, 7)).toBe(false); // 0.45 M multiply-adds
    expect(useWinograd(32, 32, 32, 7, 7)).toBe(true); // the same layer at batch 32
    // The tile: F(4x4, 3x3) from 32 channels in and out, on any number of threads.
    expect(WINOGRAD_F4_MIN_CHANNELS).toBe(32);
    expect(winogradTile(1, 64, 64, 56, 56)).toBe(4);
    expect(winogradTile(1, 512, 512, 7, 7)).toBe(4); // 4 tiles
    expect(winogradTile(1, 256, 256, 14, 14)).toBe(4); // 16 tiles
    expect(winogradTile(1, 32, 64, 56, 56)).toBe(4);
    expect(winogradTile(8, 32, 32, 16, 16)).toBe(4); // CIFAR ResNets' second stage
    expect(winogradTile(8, 16, 16, 32, 32)).toBe(2); // CIFAR ResNets' first stage
    expect(winogradTile(1, 16, 32, 56, 56)).toBe(2);
    expect(winogradTile(1, 3, 64, 224, 224)).toBe(0);
    expect(winogradTile(1, 64, 64, 2, 2)).toBe(0); // 0.15 M multiply-adds
  });

  it("'auto' runs F(4x4, 3x3) where the rule says so, and a filter seen with another tile gets its own transform", async () => {
    await setThreads(1);
    await setBackend('wasm');
    const xs: Shape4 = [1, 16, 16, 64];
    const fs: Shape4 = [3, 3, 64, 64];
    const x = values(16 * 16 * 64, 60);
    const fv = values(9 * 64 * 64, 61, Math.sqrt(6 / (9 * 64)));
    const xt = tf.tensor4d(x, xs);
    const f = tf.tensor4d(fv, fs);
    const conv = (mode: 'auto' | 'f2' | 'f4') => {
      tf.env().set(WINOGRAD_FLAG, mode);
      try {
        return tf.tidy(() => tf.conv2d(xt, f, 1, 'same').dataSync());
      } finally {
        tf.env().set(WINOGRAD_FLAG, 'auto');
      }
    };
    const before = winogradCacheSize(tf.backend());
    const f4 = conv('f4');
    const f2 = conv('f2');
    expect(winogradCacheSize(tf.backend())).toBe(before + 2); // one transform per filter and tile
    const auto = conv('auto');
    expect(Buffer.from(auto.buffer).equals(Buffer.from(f4.buffer))).toBe(true);
    expect(Buffer.from(f2.buffer).equals(Buffer.from(f4.buffer))).toBe(false); // two different algorithms ran
    const want = reference(x, xs, fv, fs, 'same', undefined, 'linear');
    expect(relErr(f2, want).rel).toBeLessThanOrEqual(WINOGRAD_REL_ERROR.f2);
    expect(relErr(f4, want).rel).toBeLessThanOrEqual(WINOGRAD_REL_ERROR.f4);
    tf.dispose([xt, f]);
    expect(winogradCacheSize(tf.backend())).toBe(before);
  });

  it('refuses a bad CNN_WINOGRAD value by name', () => {
    expect(() => tf.env().set(WINOGRAD_FLAG, 'fast')).toThrow(
      /CNN_WINOGRAD must be 'auto', 'on', 'off', 'f2' or 'f4', got "fast"/,
    );
    expect(tf.env().get(WINOGRAD_FLAG)).toBe('auto');
  });
});

describe.each([1, 2])('Winograd for the input gradient (Conv2DBackpropInput), on %i thread(s)', (threads) => {
  afterAll(async () => {
    await setThreads('auto');
  });

  // [x shape, c out, pad]: F(2x2, 3x3) (fewer than 32 channels on a side), F(4x4, 3x3), odd sizes, every padding
  // Winograd takes, and batch > 1.
  const GRAD_CASES: Array<[Shape4, number, PadSpec]> = [
    [[2, 12, 11, 24], 32, 'same'],
    [[1, 16, 16, 64], 64, 1],
    [[1, 9, 13, 72], 80, 'valid'],
    [[2, 10, 10, 40], 96, 2],
  ];

  it.each(GRAD_CASES.map((c) => [`x ${c[0].join('x')}, ${c[1]} out, pad ${JSON.stringify(c[2])}`, c] as const))(
    'matches a float64 reference and the igemm input gradient, through tf.grad: %s',
    async (_name, [xs, co, pad]) => {
      await setThreads(threads);
      await setBackend('wasm');
      const fs: Shape4 = [3, 3, xs[3], co];
      const x = values(xs[0] * xs[1] * xs[2] * xs[3], 70);
      const f = values(9 * xs[3] * co, 71, Math.sqrt(6 / (9 * xs[3])));
      const ref = naiveConv(x, xs, f, fs, { pad });
      const dy = values(ref.y.length, 72);
      const want = naiveConv(x, xs, f, fs, { pad }, dy).dx as Float64Array;
      const before = tf.memory().numTensors;
      const dxOf = (mode: 'auto' | 'off') => {
        tf.env().set(WINOGRAD_FLAG, mode);
        try {
          return tf.tidy(() => {
            const ft = tf.tensor4d(f, fs);
            const dyt = tf.tensor4d(dy, ref.yShape);
            const grad = tf.grad((xt) =>
              tf
                .conv2d(xt as Tensor4D, ft, 1, tfPad(pad))
                .mul(dyt)
                .sum(),
            );
            return grad(tf.tensor4d(x, xs)).dataSync() as Float32Array;
          });
        } finally {
          tf.env().set(WINOGRAD_FLAG, 'auto');
        }
      };
      const wino = dxOf('auto');
      const igemm = dxOf('off');
      expect(tf.memory().numTensors).toBe(before);
      // The transformed filter is made and freed inside each call: 20 more calls leave the heap where it was (each
      // kept transform would add 16-36x the size of a filter row block, 0.1-1 MB here).
      const heap = heapBytes();
      for (let i = 0; i < 20; i++) dxOf('auto');
      expect(heapBytes()).toBe(heap);
      const tile = winogradTile(xs[0], co, xs[3], xs[1], xs[2]);
      expect(tile).toBeGreaterThan(0);
      const e = relErr(wino, want);
      console.log(`dx ${xs.join('x')} <- ${co}: Winograd F(${tile}x${tile}) ${e.rel.toExponential(2)}`);
      expect(e.rel, JSON.stringify(e)).toBeLessThanOrEqual(WINOGRAD_REL_ERROR[tile === 4 ? 'f4' : 'f2']);
      expect(relErr(igemm, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      // Two different algorithms ran: 'off' keeps the igemm input gradient.
      expect(Buffer.from(wino.buffer).equals(Buffer.from(igemm.buffer))).toBe(false);
    },
  );

  it('leaves strided, dilated, grouped and depthwise input gradients to the igemm kernels', async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const xs: Shape4 = [1, 12, 12, 32];
    const x = values(12 * 12 * 32, 73);
    const f = values(9 * 32 * 32, 74, 0.1);
    const fs: Shape4 = [3, 3, 32, 32];
    for (const [strides, dilations] of [
      [2, 1],
      [1, 2],
    ] as const) {
      const ref = naiveConv(x, xs, f, fs, { pad: 'same', strides, dilations });
      const dy = values(ref.y.length, 75);
      const want = naiveConv(x, xs, f, fs, { pad: 'same', strides, dilations }, dy).dx as Float64Array;
      const got = tf.tidy(() => {
        const ft = tf.tensor4d(f, fs);
        const dyt = tf.tensor4d(dy, ref.yShape);
        const grad = tf.grad((xt) =>
          tf
            .conv2d(xt as Tensor4D, ft, strides, 'same', 'NHWC', dilations)
            .mul(dyt)
            .sum(),
        );
        return grad(tf.tensor4d(x, xs)).dataSync() as Float32Array;
      });
      expect(relErr(got, want).rel, `strides ${strides}, dilations ${dilations}`).toBeLessThanOrEqual(DIRECT_REL_ERROR);
    }
  });
});

describe.each([1, 2])("cnn's igemm for the convolutions Winograd does not take, on %i thread(s)", (threads) => {
  afterAll(async () => {
    await setThreads('auto');
  });

  // [x shape, filter shape, strides, dilations, pad, activation, bias]
  const IGEMM_CASES: Array<[Shape4, Shape4, number, number, PadSpec, Act, boolean]> = [
    [[1, 28, 28, 32], [1, 1, 32, 192], 1, 1, 'valid', 'relu6', true], // MobileNetV2's expansion
    [[2, 15, 13, 21], [3, 3, 21, 19], 2, 1, 'same', 'relu', true],
    [[1, 9, 9, 8], [5, 5, 8, 6], 1, 2, 'same', 'linear', false],
    [[1, 7, 7, 160], [1, 1, 160, 960], 1, 1, 'valid', 'linear', true],
    // One input channel, 5x5 'same' (LeNet-5's first layer): pixels whose window is inside along the row take one
    // pointer per filter row (kh taps of depth kw * c, rows above and below the input read zeros), the 2 columns at
    // each border one per tap, in the same block.
    [[2, 12, 11, 1], [5, 5, 1, 6], 1, 1, 'same', 'relu', true],
    // Filter rows by steps with dilation 2 down the column and along the row (no row taps), and a 1x1 output, one
    // row of the igemm tile (igemm_1x8).
    [[1, 9, 10, 3], [3, 3, 3, 10], 1, 2, 'same', 'relu6', true],
    [[1, 5, 5, 16], [5, 5, 16, 120], 1, 1, 'valid', 'linear', true],
  ];

  it.each(
    IGEMM_CASES.map((c) => [`x ${c[0].join('x')}, filter ${c[1].join('x')}, s${c[2]} d${c[3]}, ${c[5]}`, c] as const),
  )('matches a float64 direct convolution: %s', async (_name, [xs, fs, strides, dilations, pad, act, withBias]) => {
    await setThreads(threads);
    await setBackend('wasm');
    const x = values(
      xs.reduce((a, b) => a * b),
      60,
    );
    const f = values(
      fs.reduce((a, b) => a * b),
      61,
      Math.sqrt(6 / (fs[0] * fs[1] * fs[2])),
    );
    const bias = withBias ? values(fs[3], 62, 0.5) : undefined;
    const { y } = naiveConv(x, xs, f, fs, { pad, strides, dilations });
    const want = y.map((v, i) => {
      let r = v + (bias ? bias[i % fs[3]] : 0);
      if (act !== 'linear') r = Math.max(r, 0);
      return act === 'relu6' ? Math.min(r, 6) : r;
    });
    const before = tf.memory().numTensors;
    const run = (mode: 'on' | 'off') =>
      underIgemm(mode, () =>
        tf.tidy(() =>
          tf.fused
            .conv2d({
              x: tf.tensor4d(x, xs),
              filter: tf.tensor4d(f, fs),
              bias: bias ? tf.tensor1d(bias) : undefined,
              strides,
              dilations,
              pad: tfPad(pad),
              activation: act,
            })
            .dataSync(),
        ),
      );
    const ours = run('on');
    const xnn = run('off');
    expect(tf.memory().numTensors).toBe(before);
    expect(relErr(ours, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
    expect(relErr(xnn, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
  });

  it.each([
    [[1, 28, 28, 32], [3, 3, 32, 1], 1, 'same', 'relu6'],
    [[2, 15, 13, 21], [3, 3, 21, 2], 2, 'same', 'relu'],
    [[1, 9, 9, 8], [5, 5, 8, 1], 1, 'valid', 'linear'],
    // Blocks of four pixels of a 3-wide filter (dw_gather_row4) beside single pixels at the borders and at the end of
    // a row, with a tail of channels past a multiple of 4; and stride 2 down a column, 1 along a row.
    [[1, 11, 13, 22], [3, 3, 22, 1], 1, 'same', 'relu6'],
    [[2, 7, 9, 8], [3, 3, 8, 1], 1, 'valid', 'linear'],
    [[1, 12, 14, 20], [3, 3, 20, 1], [2, 1], 'same', 'relu'],
  ] as Array<[Shape4, Shape4, number | [number, number], 'same' | 'valid', Act]>)(
    "runs depthwise convolution on cnn's kernel with bias and activation: x %j, filter %j",
    async (xs, fs, strides, pad, act) => {
      await setThreads(threads);
      await setBackend('wasm');
      const co = fs[2] * fs[3];
      const x = values(
        xs.reduce((a, b) => a * b),
        70,
      );
      const f = values(
        fs.reduce((a, b) => a * b),
        71,
        0.3,
      );
      const bias = values(co, 72, 0.5);
      // Depthwise filters [kh, kw, c, mult] are grouped filters [kh, kw, 1, c * mult] in memory.
      const { y } = naiveConv(x, xs, f, [fs[0], fs[1], 1, co], { pad, strides, groups: xs[3] });
      const want = y.map((v, i) => {
        const r = Math.max(v + bias[i % co], act === 'linear' ? -Infinity : 0);
        return act === 'relu6' ? Math.min(r, 6) : r;
      });
      const before = tf.memory().numTensors;
      for (const mode of ['on', 'off'] as const) {
        tf.env().set(IGEMM_FLAG, mode);
        const got = tf.tidy(() =>
          tf.fused
            .depthwiseConv2d({
              x: tf.tensor4d(x, xs),
              filter: tf.tensor4d(f, fs),
              bias: tf.tensor1d(bias),
              strides,
              pad,
              activation: act,
            })
            .dataSync(),
        );
        tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
        expect(relErr(got, want).rel, mode).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      }
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it("runs Add / Multiply / Sub / Relu / Relu6 on cnn's element-wise kernel with the values of tfjs's", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const a = tf.tensor4d(values(2 * 9 * 7 * 21, 80, 4), [2, 9, 7, 21]);
    const b = tf.tensor4d(values(2 * 9 * 7 * 21, 81, 4), [2, 9, 7, 21]);
    const v = tf.tensor1d(values(21, 82));
    const v4 = tf.tensor4d(values(21, 83), [1, 1, 1, 21]);
    const s = tf.scalar(0.7);
    const big = tf.tensor4d(values(112 * 112 * 24, 84, 8), [1, 112, 112, 24]); // split into units on 2 threads
    const ops: Record<string, () => tf.Tensor> = {
      'add, same shape': () => tf.add(a, b),
      'add, per-channel vector first': () => tf.add(v4, a),
      'multiply, per-channel': () => tf.mul(a, v),
      'multiply, scalar': () => tf.mul(s, a),
      'sub, per-channel': () => tf.sub(a, v),
      'sub, vector minus tensor (tfjs)': () => tf.sub(v, a),
      relu: () => tf.relu(a),
      relu6: () => tf.relu6(big),
      'add, large': () => tf.add(big, big),
    };
    const before = tf.memory().numTensors;
    for (const [name, fn] of Object.entries(ops)) {
      const got: Float32Array[] = [];
      for (const mode of ['on', 'off'] as const) {
        tf.env().set(IGEMM_FLAG, mode);
        got.push(tf.tidy(() => fn().dataSync() as Float32Array));
      }
      tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
      // One operation per element: the same bits as tfjs's kernel.
      expect(Buffer.from(got[0].buffer).equals(Buffer.from(got[1].buffer)), name).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, v, v4, s, big]);
  });

  it("is 'small' by default; 'auto' takes it exactly when cnn's kernels have more than one thread; a bad flag value is refused", () => {
    expect(useIgemm(1)).toBe(false);
    expect(useIgemm(2)).toBe(true);
    expect(tf.env().get(IGEMM_FLAG)).toBe('small');
    // 'small': more than one thread and below 2^20 multiply-adds (64K values for an element-wise op).
    expect(useSmallCall(1, 1000)).toBe(false);
    expect(useSmallCall(2, (1 << 20) - 1)).toBe(true);
    expect(useSmallCall(2, 1 << 20)).toBe(false);
    expect(useSmallCall(2, SMALL_ELTWISE_VALUES - 1, SMALL_ELTWISE_VALUES)).toBe(true);
    expect(useSmallCall(2, SMALL_ELTWISE_VALUES, SMALL_ELTWISE_VALUES)).toBe(false);
    tf.env().set(IGEMM_FLAG, 'auto');
    expect(() => tf.env().set(IGEMM_FLAG, 'yes')).toThrow(
      /CNN_IGEMM must be 'small', 'auto', 'on' or 'off', got "yes"/,
    );
    expect(tf.env().get(IGEMM_FLAG)).toBe('auto');
    tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
  });

  it("'small' gives cnn's kernel the calls below the threshold on 2 threads, XNNPACK the rest", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    // How many of cnn's kernels a call runs tells the kernels apart (tfjs's: none).
    const allocations = (mode: string, xs: Shape4, fs: Shape4) =>
      underIgemm(mode, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(
            values(
              xs.reduce((a, b) => a * b),
              90,
            ),
            xs,
          );
          const f = tf.tensor4d(
            values(
              fs.reduce((a, b) => a * b),
              91,
              0.2,
            ),
            fs,
          );
          // Stride 2: never Winograd, so only CNN_IGEMM decides.
          return cnnKernelRuns(() => void tf.conv2d(x, f, 2, 'same'));
        }),
      );
    // 8x8 outputs x 24 x 9 x 21: 0.29 M multiply-adds (small); 16x16 x 32 x 9 x 16: 1.18 M, a CIFAR ResNet's
    // stride-2 layer at batch 1 (small: below SMALL_CONV_MACS, split on cnn's pool); 28x28 x 64 x 9 x 21: 9.5 M (large).
    expect(SMALL_CONV_MACS).toBe(1 << 21);
    for (const [xs, fs, small] of [
      [[1, 16, 16, 21], [3, 3, 21, 24], true],
      [[1, 32, 32, 16], [3, 3, 16, 32], true],
      [[1, 56, 56, 21], [3, 3, 21, 64], false],
    ] as Array<[Shape4, Shape4, boolean]>) {
      const ours = allocations('on', xs, fs);
      const xnn = allocations('off', xs, fs);
      expect(ours).toBe(1);
      expect(xnn).toBe(0);
      const cnnTook = threads > 1 && small;
      expect(allocations('small', xs, fs), `x ${xs}: cnn's kernel ${cnnTook ? 'takes' : 'does not take'} it`).toBe(
        cnnTook ? ours : xnn,
      );
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'small' gives cnn's kernels every call they take while a gradient is recorded (a training step)", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    // 28x28 x 64 x 9 x 21: 9.5 M multiply-adds, XNNPACK's under 'small' outside a gradient; stride 2, never Winograd.
    const x = tf.tensor4d(values(56 * 56 * 21, 94), [1, 56, 56, 21]);
    const f = tf.tensor4d(values(9 * 21 * 64, 95, 0.2), [3, 3, 21, 64]);
    const big = tf.tensor4d(values(112 * 112 * 24, 96), [1, 112, 112, 24]);
    // The forward's calls alone (`op` of the input), counted inside the recorded function (the gradient's own
    // kernels are cnn's anyway), under CNN_IGEMM `mode`.
    const recorded = (mode: string, input: tf.Tensor, op: (t: tf.Tensor) => tf.Tensor) =>
      underIgemm(mode, () => {
        let runs = -1;
        tf.grad((t: tf.Tensor) => {
          let y: tf.Tensor | undefined;
          runs = cnnKernelRuns(() => {
            y = op(t);
          });
          return tf.sum(y as tf.Tensor);
        })(input).dispose();
        return runs;
      });
    // The same calls outside a gradient.
    const plain = (mode: string, input: tf.Tensor, op: (t: tf.Tensor) => tf.Tensor) =>
      underIgemm(mode, () => tf.tidy(() => cnnKernelRuns(() => void op(input))));
    const conv = (t: tf.Tensor) => tf.conv2d(t as Tensor4D, f, 2, 'same');
    expect(plain('small', x, conv)).toBe(0);
    expect(recorded('small', x, conv)).toBe(1);
    expect(recorded('off', x, conv)).toBe(0);
    // Large element-wise ops too (XNNPACK's outside a gradient: 301 K values each).
    const square6 = (t: tf.Tensor) => tf.relu6(tf.mul(t, t));
    expect(plain('small', big, square6)).toBe(0);
    expect(recorded('small', big, square6)).toBe(2);
    tf.dispose([x, f, big]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'small' gives cnn's kernel the depthwise calls below SMALL_DEPTHWISE_MACS on 2 threads, XNNPACK the rest", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    expect(SMALL_DEPTHWISE_MACS).toBe(1 << 18);
    const before = tf.memory().numTensors;
    const runs = (mode: string, xs: Shape4) =>
      underIgemm(mode, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(
            values(
              xs.reduce((a, b) => a * b),
              92,
            ),
            xs,
          );
          const f = tf.tensor4d(values(9 * xs[3], 93, 0.3), [3, 3, xs[3], 1]);
          return cnnKernelRuns(() => void tf.depthwiseConv2d(x, f, 1, 'same'));
        }),
      );
    // 14x14 x 96 x 9: 0.17 M multiply-adds (small); 14x14 x 384 x 9: 0.68 M (MobileNetV2's, XNNPACK's since session 11).
    for (const [xs, small] of [
      [[1, 14, 14, 96], true],
      [[1, 14, 14, 384], false],
    ] as Array<[Shape4, boolean]>) {
      expect(runs('on', xs)).toBe(1);
      expect(runs('off', xs)).toBe(0);
      expect(runs('small', xs), `x ${xs}`).toBe(threads > 1 && small ? 1 : 0);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'small' gives a classifier head's matMul (bias, ReLU) to cnn's kernel on 2 threads, with XNNPACK's values", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    const [m, k, n] = [3, 400, 120]; // LeNet-5's first Linear, 3 rows: 144K multiply-adds
    const a = values(m * k, 95);
    const b = values(k * n, 96, 0.1);
    const bias = values(n, 97);
    const run = (mode: string) => {
      tf.env().set(IGEMM_FLAG, mode);
      try {
        return tf.tidy(() => {
          const y = tf.fused.matMul({
            a: tf.tensor2d(a, [m, k]),
            b: tf.tensor2d(b, [k, n]),
            bias: tf.tensor1d(bias),
            activation: 'relu',
          });
          expect(y.shape).toEqual([m, n]);
          return y.dataSync() as Float32Array;
        });
      } finally {
        tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
      }
    };
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let v = bias[j]!;
        for (let q = 0; q < k; q++) v += a[i * k + q]! * b[q * n + j]!;
        want[i * n + j] = Math.max(v, 0);
      }
    }
    const ours = run('on');
    const xnn = run('off');
    const got = run('small');
    expect(relErr(ours, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
    expect(relErr(xnn, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
    const same = (p: Float32Array, q: Float32Array) => Buffer.from(p.buffer).equals(Buffer.from(q.buffer));
    expect(same(ours, xnn), 'the two kernels sum in different orders').toBe(false);
    expect(same(got, threads > 1 ? ours : xnn)).toBe(true);
    // How many of cnn's kernels a call runs tells the kernels apart (tfjs's: none).
    const [ta, tb] = [tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])];
    const blocks = (mode: string) => {
      tf.env().set(IGEMM_FLAG, mode);
      try {
        tf.tidy(() => void tf.fused.matMul({ a: ta, b: tb }).dataSync()); // warm-up: tfjs's first call sets up
        return cnnKernelRuns(() => void tf.tidy(() => void tf.fused.matMul({ a: ta, b: tb })));
      } finally {
        tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
      }
    };
    const cnnBlocks = blocks('on');
    const xnnBlocks = blocks('off');
    expect(cnnBlocks).toBe(1);
    expect(xnnBlocks).toBe(0);
    expect(blocks('small')).toBe(threads > 1 ? cnnBlocks : xnnBlocks);
    tf.dispose([ta, tb]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'small' gives an average pool without padding to cnn's depthwise kernel on 2 threads, with the window means", async () => {
    await setThreads(threads);
    await setBackend('wasm');
    const before = tf.memory().numTensors;
    const xs: Shape4 = [2, 28, 28, 6]; // LeNet-5's first pool, batch 2
    const xv = values(
      xs.reduce((p, d) => p * d),
      98,
      3,
    );
    const x = tf.tensor4d(xv, xs);
    const pool = (mode: string, pad: 'valid' | 'same', size: number) => {
      tf.env().set(IGEMM_FLAG, mode);
      try {
        tf.tidy(() => void tf.avgPool(x, size, 2, pad).dataSync()); // warm-up
        let y: Float32Array = new Float32Array(0);
        const n = cnnKernelRuns(() => {
          y = tf.tidy(() => tf.avgPool(x, size, 2, pad).dataSync() as Float32Array);
        });
        return { y, n };
      } finally {
        tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
      }
    };
    const want = new Float64Array(2 * 14 * 14 * 6);
    for (let i = 0; i < want.length; i++) {
      const [b, r, q, c] = [
        Math.floor(i / (14 * 14 * 6)),
        Math.floor(i / (14 * 6)) % 14,
        Math.floor(i / 6) % 14,
        i % 6,
      ];
      for (const [dr, dq] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ]) {
        want[i]! += xv[((b * 28 + 2 * r + dr!) * 28 + 2 * q + dq!) * 6 + c]! / 4;
      }
    }
    const ours = pool('on', 'valid', 2);
    const xnn = pool('off', 'valid', 2);
    const got = pool('small', 'valid', 2);
    expect(ours.n).toBe(1);
    expect(xnn.n).toBe(0);
    expect(got.n).toBe(threads > 1 ? ours.n : xnn.n);
    for (const r of [ours, xnn, got]) expect(relErr(r.y, want).rel).toBeLessThanOrEqual(1e-6);
    // A 3x3 window at stride 2 with 'same' padding pads: always tfjs's kernel (it leaves padding out of the mean).
    expect(pool('on', 'same', 3).n).toBe(0);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("takes the input gradient of tf.conv2d with negative explicit pads (which crop) with the cpu backend's values", async () => {
    // A negative pad leaves the stride-1 row taps (their row-padded copy of dy stands for non-negative padding) for the
    // phase path, which checks every tap.
    const xs: Shape4 = [2, 6, 7, 3];
    const fs: Shape4 = [2, 3, 3, 4];
    const pads = ['0 0, -1 0, 0 -1, 0 0', '0 0, 0 1, -2 2, 0 0'];
    const [cpu, wasm] = await onCpuThenWasm(threads, () =>
      pads.map((spec) =>
        tf.tidy(() => {
          const x = tf.tensor4d(values(2 * 6 * 7 * 3, 130), xs);
          const f = tf.tensor4d(values(2 * 3 * 3 * 4, 131), fs);
          const pad = paddingsOf(spec) as [[number, number], [number, number], [number, number], [number, number]];
          const dy = (t: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(t as Tensor4D, f, 1, pad), tf.scalar(1.5)));
          return Array.from(tf.grad(dy)(x).dataSync());
        }),
      ),
    );
    pads.forEach((spec, k) => {
      const worst = Math.max(...wasm[k]!.map((v, i) => Math.abs(v - cpu[k]![i]!)));
      expect(worst, `pad ${spec}`).toBeLessThan(1e-5);
    });
  });

  it('pads small tensors (option-A and ShuffleNetV1 shortcuts) with the values of the cpu backend', async () => {
    // On 2 threads a pad of at most SMALL_PAD_VALUES output values in at most SMALL_PAD_RUNS contiguous runs is a fill
    // and one copy per run in the backend's memory (XNNPACK's pad would wake its pool); larger ones stay tfjs's, but
    // for a NaN constant, which tfjs's wasm pad gets wrong after a pad with another constant.
    expect([SMALL_PAD_VALUES, SMALL_PAD_RUNS]).toEqual([1 << 18, 1 << 12]);
    // [shape, paddings as 'before after' per axis, constant]
    const cases: Array<[number[], string, number]> = [
      [[1, 16, 16, 16], '0 0, 0 0, 0 0, 8 8', 0], // resnet20_cifar's first shortcut: runs of 16 channels
      [[1, 6, 5, 3], '0 0, 1 1, 1 1, 0 0', 0], // ShuffleNetV1's: runs of an image row
      [[2, 4, 4, 3], '0 0, 1 2, 0 0, 2 1', 1.5], // rows and channels
      [[2, 3, 5], '0 0, 0 0, 0 3', -2], // after only
      [[4, 7], '0 0, 2 0', 0.25], // before only
      [[5], '2 1', Number.NaN], // rank 1, a NaN constant: cnn's on any number of threads (tfjs's padded with -2)
      [[1, 128, 128, 16], '0 0, 0 0, 0 0, 8 8', Number.NaN], // large, but a NaN constant: cnn's
      [[2, 3, 4], '1 0, 0 0, 0 0', 3], // the first axis: one run
      [[1, 128, 128, 16], '0 0, 0 0, 0 0, 8 8', 0], // 524 K output values: tfjs's
      [[1, 64, 80, 2], '0 0, 0 0, 0 0, 0 1', 0], // 5,120 runs: tfjs's
    ];
    const [cpu, wasm] = await onCpuThenWasm(threads, () =>
      cases.map(([shape, spec, value], k) =>
        tf.tidy(() => {
          const x = tf.tensor(
            values(
              shape.reduce((a, b) => a * b),
              120 + k,
            ),
            shape,
          );
          return Array.from(tf.pad(x, paddingsOf(spec), value).dataSync());
        }),
      ),
    );
    cases.forEach(([shape, spec], k) => expect(wasm[k], `x ${shape}, ${spec}`).toEqual(cpu[k]));
  });
});

// cnn's forward convolution (igemm) packs a filter once per filter data and keeps it, like Winograd's transformed
// filters: derived state that must follow the filter's values and go with its data.
describe("cnn's forward convolution keeps its packed filters", () => {
  afterAll(() => tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT));
  const stride2 = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(x, f, 2, 'same');
  for (const threads of [1, 2]) {
    it(`packs a filter once, gives the same bits as the first call, frees it with the data (${threads} thread(s))`, async () => {
      await setThreads(threads);
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      tf.env().set(IGEMM_FLAG, 'on');
      const xs: Shape4 = [1, 16, 16, 21];
      const fs: Shape4 = [3, 3, 21, 24];
      const xv = values(16 * 16 * 21, 120);
      const fv = values(9 * 21 * 24, 121, 0.2);
      const x = tf.tensor4d(xv, xs);
      const f = tf.tensor4d(fv, fs);
      const cached = packedFilterCacheSize(tf.backend());
      let a: Float32Array = new Float32Array(0);
      expect(cnnKernelRuns(() => void (a = tf.tidy(() => stride2(x, f).dataSync() as Float32Array)))).toBe(1);
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 1);
      const b = tf.tidy(() => stride2(x, f).dataSync() as Float32Array);
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 1);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
      const { y: want } = naiveConv(xv, xs, fv, fs, { strides: 2, pad: 'same' });
      expect(relErr(a, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      // A reshape shares the data: its other geometry gets a second block, and both go with the data.
      const f2 = f.reshape([3, 3, 7, 72]) as Tensor4D;
      const x2 = tf.tensor4d(values(16 * 16 * 7, 122), [1, 16, 16, 7]);
      tf.tidy(() => void stride2(x2, f2).dataSync());
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 2);
      f.dispose();
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 2); // the reshape still holds the data
      f2.dispose();
      expect(packedFilterCacheSize(tf.backend())).toBe(cached);
      tf.dispose([x, x2]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it(`Variable.assign gives the next convolution and matMul the new values (${threads} thread(s))`, async () => {
      await setThreads(threads);
      await setBackend('wasm');
      const before = tf.memory().numTensors;
      tf.env().set(IGEMM_FLAG, 'on');
      const xs: Shape4 = [1, 9, 9, 12];
      const fs: Shape4 = [3, 3, 12, 16];
      const xv = values(9 * 9 * 12, 123);
      const f1 = values(9 * 12 * 16, 124, 0.2);
      const f2 = values(9 * 12 * 16, 125, 0.2);
      const x = tf.tensor4d(xv, xs);
      const v = tf.tidy(() => tf.variable(tf.tensor4d(f1, fs)));
      const cached = packedFilterCacheSize(tf.backend());
      const y1 = tf.tidy(() => stride2(x, v as unknown as Tensor4D).dataSync() as Float32Array);
      const next = tf.tensor4d(f2, fs);
      v.assign(next);
      next.dispose(); // the variable holds the data now
      const y2 = tf.tidy(() => stride2(x, v as unknown as Tensor4D).dataSync() as Float32Array);
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 1); // the old value's block went with it
      expect(relErr(y1, naiveConv(xv, xs, f1, fs, { strides: 2, pad: 'same' }).y).rel).toBeLessThanOrEqual(
        DIRECT_REL_ERROR,
      );
      expect(relErr(y2, naiveConv(xv, xs, f2, fs, { strides: 2, pad: 'same' }).y).rel).toBeLessThanOrEqual(
        DIRECT_REL_ERROR,
      );
      // A classifier head: matMul's weight is packed the same way.
      const [m, k, n] = [1, 40, 30];
      const av = values(m * k, 126);
      const w1 = values(k * n, 127, 0.2);
      const w2 = values(k * n, 128, 0.2);
      const a = tf.tensor2d(av, [m, k]);
      const w = tf.tidy(() => tf.variable(tf.tensor2d(w1, [k, n])));
      const head = () => tf.tidy(() => tf.fused.matMul({ a, b: w }).dataSync() as Float32Array);
      const product = (wv: Float32Array) =>
        Float64Array.from({ length: n }, (_, j) => av.reduce((sum, ai, q) => sum + ai * wv[q * n + j]!, 0));
      let h1: Float32Array = new Float32Array(0);
      expect(cnnKernelRuns(() => void (h1 = head()))).toBe(1);
      const nextW = tf.tensor2d(w2, [k, n]);
      w.assign(nextW);
      nextW.dispose();
      const h2 = head();
      expect(packedFilterCacheSize(tf.backend())).toBe(cached + 2);
      expect(relErr(h1, product(w1)).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      expect(relErr(h2, product(w2)).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
      tf.dispose([x, v, a, w]);
      expect(packedFilterCacheSize(tf.backend())).toBe(cached);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it(`keeps no packed copy of a filter above ${PACKED_FILTER_MAX_VALUES} values (packs it in each call)`, async () => {
    await setThreads(1);
    await setBackend('wasm');
    tf.env().set(IGEMM_FLAG, 'on');
    const [k, n] = [1024, 1025]; // 1,049,600 values, just above the limit
    expect(k * n).toBeGreaterThan(PACKED_FILTER_MAX_VALUES);
    const av = values(k, 129);
    const wv = values(k * n, 130, 0.05);
    const a = tf.tensor2d(av, [1, k]);
    const w = tf.tensor2d(wv, [k, n]);
    const cached = packedFilterCacheSize(tf.backend());
    let got: Float32Array = new Float32Array(0);
    expect(
      cnnKernelRuns(() => void (got = tf.tidy(() => tf.fused.matMul({ a, b: w }).dataSync() as Float32Array))),
    ).toBe(1);
    expect(packedFilterCacheSize(tf.backend())).toBe(cached);
    const want = Float64Array.from({ length: n }, (_, j) => av.reduce((sum, ai, q) => sum + ai * wv[q * n + j]!, 0));
    expect(relErr(got, want).rel).toBeLessThanOrEqual(DIRECT_REL_ERROR);
    tf.dispose([a, w]);
  });
});

// tf.mean over the two spatial axes (a global average pool) on cnn's depthwise kernel with a kept 1 / (h * w) filter.
describe("the spatial mean on cnn's depthwise kernel", () => {
  afterAll(() => tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT));
  for (const threads of [1, 2]) {
    it(`matches a float64 mean, keeps one filter per window, leaves other axes to tfjs (${threads} thread(s))`, async () => {
      await setThreads(threads);
      await setBackend('wasm');
      tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
      const before = tf.memory().numTensors;
      const filters = windowFilterCount(tf.backend());
      for (const [shape, seed] of [
        [[2, 5, 3, 13], 140],
        [[1, 7, 7, 96], 141],
      ] as Array<[Shape4, number]>) {
        const [n, h, w, c] = shape;
        const xv = values(n * h * w * c, seed);
        const x = tf.tensor4d(xv, shape);
        const want = new Float64Array(n * c);
        for (let i = 0; i < xv.length; i++) {
          const b = Math.floor(i / (h * w * c));
          want[b * c + (i % c)]! += xv[i]! / (h * w);
        }
        for (const [axes, keepDims] of [
          [[1, 2], false],
          [[-2, -3], true],
        ] as Array<[number[], boolean]>) {
          let y: tf.Tensor | undefined;
          expect(cnnKernelRuns(() => void (y = tf.mean(x, axes, keepDims)))).toBe(1);
          expect(y!.shape).toEqual(keepDims ? [n, 1, 1, c] : [n, c]);
          expect(relErr(y!.dataSync() as Float32Array, want).rel).toBeLessThanOrEqual(1e-6);
          y!.dispose();
        }
        // Other axes, and CNN_IGEMM 'off', stay on tfjs's kernel.
        expect(cnnKernelRuns(() => void tf.tidy(() => tf.mean(x, [1]).dataSync()))).toBe(0);
        expect(cnnKernelRuns(() => void tf.tidy(() => tf.mean(x, [1, 2, 3]).dataSync()))).toBe(0);
        tf.env().set(IGEMM_FLAG, 'off');
        const off = tf.tidy(() => tf.mean(x, [1, 2]).dataSync() as Float32Array);
        tf.env().set(IGEMM_FLAG, IGEMM_DEFAULT);
        expect(relErr(off, want).rel).toBeLessThanOrEqual(1e-6);
        // Its gradient (tfjs's, from the shapes): 1 / (h * w) everywhere.
        const g = tf.tidy(
          () =>
            tf
              .grad((t: tf.Tensor) => tf.sum(tf.mean(t, [1, 2])))(x)
              .dataSync() as Float32Array,
        );
        expect(relErr(g, new Float64Array(g.length).fill(1 / (h * w))).rel).toBeLessThanOrEqual(1e-6);
        x.dispose();
      }
      // One kept filter per (window, channels), made on first use.
      expect(windowFilterCount(tf.backend())).toBe(filters + 2);
      // A window above WINDOW_FILTER_MAX_VALUES values goes to tfjs's kernel.
      const big = tf.ones([1, 64, 64, 65]);
      expect(64 * 64 * 65).toBeGreaterThan(WINDOW_FILTER_MAX_VALUES);
      let m: Float32Array = new Float32Array(0);
      expect(cnnKernelRuns(() => void (m = tf.tidy(() => tf.mean(big, [1, 2]).dataSync() as Float32Array)))).toBe(0);
      expect(m.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
      big.dispose();
      expect(windowFilterCount(tf.backend())).toBe(filters + 2);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
