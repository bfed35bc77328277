// conv2d, its gradients and the stock tfjs conv ops with dilation, checked against PyTorch
// (fixtures made by scripts/make-fixtures.py), against a naive float64 reference
// (test/naive-conv.ts), against each other across backends, and by finite differences.
import { beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '../src/tf';
import { registerWasmKernels } from '../src/wasm/register';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, registerConvGradients } from '../src/conv';
import { prepareWasmKernels } from '../src/wasm/module';
import type { ConvOptions, Padding } from '../src/conv-options';
import { naiveConv, type Shape4 } from './naive-conv';
import { formula, relErr, size } from '../../../test-support/fixtures';

registerWasmKernels();
registerConvGradients();

type Tensor4D = tf.Tensor4D;
type Backend = 'wasm' | 'cpu';
const BACKENDS: Backend[] = ['wasm', 'cpu'];
const TOL = 1e-4;

// ---------------------------------------------------------------------------------------------
// Fixtures and the input formula shared with scripts/make-fixtures.py.

interface FixtureCase {
  index: number;
  name: string;
  x: Shape4;
  w: Shape4;
  y: Shape4;
  cout: number;
  groups: number;
  depthwise: boolean;
  multiplier: number | null;
  strides: [number, number];
  dilations: [number, number];
  pad: Padding;
  pads: [[number, number], [number, number]];
  seeds: { x: number; w: number; dy: number };
  wasmOnly: boolean;
  yOffset: number;
  dxOffset: number;
  dwOffset: number;
}

interface FixtureDoc {
  formulaCheck: { seed: number; values: number[] };
  floats: number;
  cases: FixtureCase[];
}

const doc = JSON.parse(readFileSync(new URL('./fixtures/conv-grid.json', import.meta.url), 'utf8')) as FixtureDoc;
const bin = readFileSync(new URL('./fixtures/conv-grid.bin', import.meta.url));
const fixtureData = (() => {
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Float32Array(bin.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
})();
const CASES = doc.cases;
const byName = new Map(CASES.map((c) => [c.name, c]));
function fixture(name: string): FixtureCase {
  const c = byName.get(name);
  if (!c) throw new Error(`no fixture case named '${name}'`);
  return c;
}

function expected(c: FixtureCase) {
  const part = (offset: number, shape: readonly number[]) => fixtureData.subarray(offset, offset + size(shape));
  return { y: part(c.yOffset, c.y), dx: part(c.dxOffset, c.x), dw: part(c.dwOffset, c.w) };
}

function optsOf(c: FixtureCase): ConvOptions {
  return { strides: c.strides, dilations: c.dilations, pad: c.pad, groups: c.groups };
}

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const e = relErr(got, want);
  // Soft, so that a failure reports each of y, dx and dw.
  expect
    .soft(
      e.rel,
      `${what}: rel err ${e.rel.toExponential(3)} (worst at flat index ${e.at}: got ${e.got}, want ${e.want})`,
    )
    .toBeLessThanOrEqual(tol);
}

// ---------------------------------------------------------------------------------------------
// Backends and running the op.

async function useBackend(name: Backend): Promise<void> {
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`backend ${name} failed to initialise`);
  }
  await tf.ready();
  if (name === 'wasm') await prepareWasmKernels(tf.backend());
}

function t4(data: Float32Array | Float64Array, shape: readonly number[]): Tensor4D {
  return tf.tensor4d(Float32Array.from(data), shape as Shape4);
}

interface Outputs {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  yShape: number[];
}

/** y, dx, dw of conv2d via tf.grads with upstream gradient dy. */
function convWithGrads(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  opts: ConvOptions,
  dyOf: (yShape: number[]) => Float32Array,
): Outputs {
  return tf.tidy(() => {
    const xt = t4(x, xShape);
    const wt = t4(w, wShape);
    const y = conv2d(xt, wt, opts);
    const dy = tf.tensor(dyOf(y.shape), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as Tensor4D, b as Tensor4D, opts))([xt, wt], dy);
    expect(dx.shape).toEqual([...xShape]);
    expect(dw.shape).toEqual([...wShape]);
    return {
      y: (y.dataSync() as Float32Array).slice(),
      dx: (dx.dataSync() as Float32Array).slice(),
      dw: (dw.dataSync() as Float32Array).slice(),
      yShape: y.shape,
    };
  });
}

function inputsOf(c: FixtureCase) {
  return { x: formula(size(c.x), c.seeds.x), w: formula(size(c.w), c.seeds.w), dy: formula(size(c.y), c.seeds.dy) };
}

function leakCheck<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const r = fn();
  expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
  return r;
}

// ---------------------------------------------------------------------------------------------

test('fixtures: the input formula matches make-fixtures.py bit for bit, and the grid is as described', () => {
  const { seed, values } = doc.formulaCheck;
  expect(Array.from(formula(values.length, seed))).toEqual(values);
  expect(fixtureData.length).toBe(doc.floats);
  expect(bin.byteLength).toBeLessThan(1.5e6);
  expect(CASES.length).toBeGreaterThanOrEqual(50);
  const last = CASES[CASES.length - 1];
  expect(last.dwOffset + size(last.w)).toBe(doc.floats);
  for (const c of CASES) {
    expect(c.wasmOnly).toBe(c.strides.some((s) => s > 1) && c.dilations.some((d) => d > 1));
    // The padding the fixture used is the one the naive reference (TensorFlow's rules) resolves.
    const g = naiveConv(new Float32Array(size(c.x)), c.x, new Float32Array(size(c.w)), c.w, optsOf(c)).geometry;
    expect([g.pads, [g.oh, g.ow]], c.name).toEqual([c.pads, c.y.slice(1, 3)]);
  }
});

for (const backend of BACKENDS) {
  describe(`PyTorch fixtures on ${backend}: conv2d y, and dx, dw via tf.grads`, () => {
    beforeAll(() => useBackend(backend));
    for (const c of CASES) {
      const label = `#${c.index} ${c.name}: x ${c.x.join('x')}, w ${c.w.join('x')}, strides ${c.strides}, dilations ${c.dilations}, pad ${JSON.stringify(c.pad)}, groups ${c.groups}`;
      if (backend === 'cpu' && c.wasmOnly) {
        test(`${label}: refused on cpu (stride > 1 with dilation > 1 needs cnn's wasm kernel)`, () => {
          const inp = inputsOf(c);
          leakCheck(() =>
            tf.tidy(() => {
              expect(() => conv2d(t4(inp.x, c.x), t4(inp.w, c.w), optsOf(c))).toThrow(
                /^conv2d: stride .* together with dilation .* is supported only on the wasm backend, not on 'cpu'$/,
              );
            }),
          );
        });
        continue;
      }
      test(label, () => {
        const inp = inputsOf(c);
        const want = expected(c);
        const got = leakCheck(() => convWithGrads(inp.x, c.x, inp.w, c.w, optsOf(c), () => inp.dy));
        expect(got.yShape).toEqual(c.y);
        expectClose('y', got.y, want.y);
        expectClose('dx', got.dx, want.dx);
        expectClose('dw', got.dw, want.dw);
      });
    }
  });
}

// (e) The gradient ops called directly.
const DIRECT = [
  'plain k3 s2 same n3 c5 odd',
  'plain k3 d2 pad[[1,2],[0,3]] c8',
  'plain k3 s2 d2 valid n3 c8',
  'groups2 k3 pad[[1,2],[0,3]] c6 cout10',
  'groups4 k3 s2 d2 valid n3 c16',
  'groups32 k3 s2 same c128 (ResNeXt)',
  'dw k5 s2 pad[[2,1],[1,2]] n3 c6',
  'dw mult2 k5 d2 pad[[1,2],[0,3]] c5',
  'dw mult2 k3 s2 d2 same c6',
];
for (const backend of BACKENDS) {
  describe(`conv2dBackpropInput / conv2dBackpropFilter called directly on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const name of DIRECT) {
      const c = fixture(name);
      if (backend === 'cpu' && c.wasmOnly) {
        test(`${name}: refused on cpu (stride > 1 with dilation > 1 needs cnn's wasm kernel)`, () => {
          const inp = inputsOf(c);
          leakCheck(() =>
            tf.tidy(() => {
              const x = t4(inp.x, c.x),
                w = t4(inp.w, c.w),
                dy = t4(inp.dy, c.y);
              expect(() => conv2dBackpropInput(c.x, dy, w, optsOf(c))).toThrow(
                /^conv2dBackpropInput: stride .* supported only on the wasm backend/,
              );
              expect(() => conv2dBackpropFilter(x, dy, c.w, optsOf(c))).toThrow(
                /^conv2dBackpropFilter: stride .* supported only on the wasm backend/,
              );
            }),
          );
        });
        continue;
      }
      test(name, () => {
        const inp = inputsOf(c);
        const want = expected(c);
        const { dx, dw } = leakCheck(() =>
          tf.tidy(() => {
            const x = t4(inp.x, c.x),
              w = t4(inp.w, c.w),
              dy = t4(inp.dy, c.y);
            const dxT = conv2dBackpropInput(c.x, dy, w, optsOf(c));
            const dwT = conv2dBackpropFilter(x, dy, c.w, optsOf(c));
            expect(dxT.shape).toEqual(c.x);
            expect(dwT.shape).toEqual(c.w);
            return { dx: (dxT.dataSync() as Float32Array).slice(), dw: (dwT.dataSync() as Float32Array).slice() };
          }),
        );
        expectClose('dx', dx, want.dx);
        expectClose('dw', dw, want.dw);
      });
    }
  });
}

// (a) wasm against cpu on larger cases (inputs from the same formula).
interface BigCase {
  name: string;
  x: Shape4;
  w: Shape4;
  opts: ConvOptions;
}
const BIG: BigCase[] = [
  { name: 'groups4 k3 s2 same', x: [2, 24, 24, 16], w: [3, 3, 4, 32], opts: { groups: 4, strides: 2, pad: 'same' } },
  { name: 'groups32 c64 k3 pad 1', x: [1, 20, 20, 64], w: [3, 3, 2, 64], opts: { groups: 32, pad: 1 } },
  {
    name: 'depthwise c32 k5 d2 same',
    x: [2, 20, 18, 32],
    w: [5, 5, 1, 32],
    opts: { groups: 32, dilations: 2, pad: 'same' },
  },
  { name: 'depthwise mult2 c8 k3 s2 valid', x: [1, 21, 20, 8], w: [3, 3, 1, 16], opts: { groups: 8, strides: 2 } },
  { name: 'plain k7 s2 same c24', x: [1, 24, 23, 24], w: [7, 7, 24, 16], opts: { strides: 2, pad: 'same' } },
  {
    name: 'plain k3 d2 pad[[2,1],[0,3]] c12',
    x: [2, 22, 22, 12],
    w: [3, 3, 12, 20],
    opts: {
      dilations: 2,
      pad: [
        [2, 1],
        [0, 3],
      ],
    },
  },
  {
    name: 'groups2 k5 d[1,2] pad[2,4] c10',
    x: [1, 19, 21, 10],
    w: [5, 5, 5, 14],
    opts: { groups: 2, dilations: [1, 2], pad: [2, 4] },
  },
];
describe('wasm against cpu on larger cases', () => {
  for (const [i, b] of BIG.entries()) {
    test(`${b.name}: x ${b.x.join('x')}, w ${b.w.join('x')}, ${JSON.stringify(b.opts)}`, async () => {
      const x = formula(size(b.x), 1000 + 3 * i),
        w = formula(size(b.w), 1001 + 3 * i);
      const dyOf = (s: number[]) => formula(size(s), 1002 + 3 * i);
      await useBackend('wasm');
      const a = leakCheck(() => convWithGrads(x, b.x, w, b.w, b.opts, dyOf));
      await useBackend('cpu');
      const c = leakCheck(() => convWithGrads(x, b.x, w, b.w, b.opts, dyOf));
      expect(a.yShape).toEqual(c.yShape);
      expectClose('y', a.y, c.y);
      expectClose('dx', a.dx, c.dx);
      expectClose('dw', a.dw, c.dw);
    });
  }
});

// (b) The naive reference: first against PyTorch, then as the reference for cases the fixtures lack.
describe('naive float64 reference', () => {
  for (const name of [
    'plain k7 s2 same c3 12x11',
    'plain k3x5 d[2,1] pad 1 c6',
    'plain k5 s2 d2 pad[[1,2],[0,3]] c5',
    'groups4 k3 d2 pad[[1,2],[0,3]] c16',
    'groups32 k3 s2 same c128 (ResNeXt)',
    'dw mult2 k5 d2 pad[[1,2],[0,3]] c5',
    'dw mult2 k3 s2 d2 same c6',
  ]) {
    test(`matches PyTorch: ${name}`, () => {
      const c = fixture(name);
      const inp = inputsOf(c);
      const want = expected(c);
      const r = naiveConv(inp.x, c.x, inp.w, c.w, optsOf(c), inp.dy);
      expect(r.yShape).toEqual(c.y);
      expectClose('y', r.y, want.y, 1e-6);
      expectClose('dx', r.dx!, want.dx, 1e-6);
      expectClose('dw', r.dw!, want.dw, 1e-6);
    });
  }
});

interface ExtraCase {
  name: string;
  x: Shape4;
  w: Shape4;
  opts: ConvOptions;
  wasmOnly?: boolean;
}
const EXTRA: ExtraCase[] = [
  // The input gradient's row taps (stride 1, no dilation, one group, kernel wider than 1): each pixel takes only the
  // filter rows that reach dy, from a copy of dy padded along the row.
  { name: "LeNet-5's second layer (row taps for dx)", x: [3, 14, 14, 6], w: [5, 5, 6, 16], opts: {} },
  {
    name: 'row taps for dx: 19 input channels (three column panels), kernel 3x4, same',
    x: [2, 7, 9, 19],
    w: [3, 4, 19, 5],
    opts: { pad: 'same' },
  },
  {
    name: 'row taps for dx: 3 input channels (8-row strips), kernel 2x3, pads wider than the kernel',
    x: [1, 6, 7, 3],
    w: [2, 3, 3, 4],
    opts: {
      pad: [
        [3, 2],
        [1, 4],
      ],
    },
  },
  {
    name: 'batch 2, kernel 2x4, stride [1,2], same (even kernel: asymmetric pads)',
    x: [2, 9, 12, 5],
    w: [2, 4, 5, 6],
    opts: { strides: [1, 2], pad: 'same' },
  },
  { name: 'batch 2, kernel 4x2, stride [2,1], valid', x: [2, 10, 7, 3], w: [4, 2, 3, 4], opts: { strides: [2, 1] } },
  {
    name: 'kernel 2x3, dilation [1,3], pad [[0,1],[2,0]]',
    x: [1, 8, 11, 6],
    w: [2, 3, 6, 5],
    opts: {
      dilations: [1, 3],
      pad: [
        [0, 1],
        [2, 0],
      ],
    },
  },
  {
    name: 'groups 3, kernel 3x2, stride [2,1], pad [[2,0],[0,1]]',
    x: [2, 9, 8, 6],
    w: [3, 2, 2, 9],
    opts: {
      groups: 3,
      strides: [2, 1],
      pad: [
        [2, 0],
        [0, 1],
      ],
    },
  },
  {
    name: 'groups 3, kernel 4x4, dilation 2, same',
    x: [1, 11, 10, 9],
    w: [4, 4, 3, 6],
    opts: { groups: 3, dilations: 2, pad: 'same' },
  },
  { name: 'stride 3, kernel 4, valid', x: [2, 13, 11, 4], w: [4, 4, 4, 3], opts: { strides: 3 } },
  { name: 'stride 3, same, groups 2', x: [1, 10, 8, 4], w: [3, 3, 2, 6], opts: { strides: 3, pad: 'same', groups: 2 } },
  { name: 'kernel 5 wider than the 3x4 input, pad 2', x: [2, 3, 4, 3], w: [5, 5, 3, 2], opts: { pad: 2 } },
  { name: '1x1 input, kernel 1', x: [3, 1, 1, 7], w: [1, 1, 7, 5], opts: {} },
  {
    name: 'depthwise mult 3, kernel 2x3, stride [1,2], same',
    x: [2, 7, 9, 5],
    w: [2, 3, 1, 15],
    opts: { groups: 5, strides: [1, 2], pad: 'same' },
  },
  {
    name: 'depthwise, kernel 3x1, dilation [3,1], pad [[3,3],[0,0]]',
    x: [1, 10, 6, 7],
    w: [3, 1, 1, 7],
    opts: {
      groups: 7,
      dilations: [3, 1],
      pad: [
        [3, 3],
        [0, 0],
      ],
    },
  },
  {
    name: 'groups 2, stride [1,2] with dilation [2,1]',
    x: [1, 10, 11, 6],
    w: [3, 3, 3, 4],
    opts: { groups: 2, strides: [1, 2], dilations: [2, 1], pad: 1 },
    wasmOnly: true,
  },
  {
    name: 'kernel 2x4, stride [2,3] with dilation [3,2], pad [[1,0],[2,1]]',
    x: [2, 12, 13, 5],
    w: [2, 4, 5, 3],
    opts: {
      strides: [2, 3],
      dilations: [3, 2],
      pad: [
        [1, 0],
        [2, 1],
      ],
    },
    wasmOnly: true,
  },
  {
    name: 'depthwise mult 2, stride 2 with dilation 3, same',
    x: [1, 13, 12, 4],
    w: [3, 3, 1, 8],
    opts: { groups: 4, strides: 2, dilations: 3, pad: 'same' },
    wasmOnly: true,
  },
];
for (const backend of BACKENDS) {
  describe(`extra cases against the naive reference on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const [i, e] of EXTRA.entries()) {
      const label = `${e.name}: x ${e.x.join('x')}, w ${e.w.join('x')}, ${JSON.stringify(e.opts)}`;
      if (backend === 'cpu' && e.wasmOnly) {
        test(`${label}: refused on cpu (stride > 1 with dilation > 1 needs cnn's wasm kernel)`, () => {
          const x = formula(size(e.x), 2000 + 3 * i),
            w = formula(size(e.w), 2001 + 3 * i);
          leakCheck(() =>
            tf.tidy(() => {
              expect(() => conv2d(t4(x, e.x), t4(w, e.w), e.opts)).toThrow(
                /^conv2d: stride .* supported only on the wasm backend, not on 'cpu'$/,
              );
            }),
          );
        });
        continue;
      }
      test(label, () => {
        const x = formula(size(e.x), 2000 + 3 * i),
          w = formula(size(e.w), 2001 + 3 * i);
        const ref = naiveConv(
          x,
          e.x,
          w,
          e.w,
          e.opts,
          formula(size(naiveConv(x, e.x, w, e.w, e.opts).yShape), 2002 + 3 * i),
        );
        const got = leakCheck(() => convWithGrads(x, e.x, w, e.w, e.opts, (s) => formula(size(s), 2002 + 3 * i)));
        expect(got.yShape).toEqual(ref.yShape);
        expectClose('y', got.y, ref.y);
        expectClose('dx', got.dx, ref.dx!);
        expectClose('dw', got.dw, ref.dw!);
      });
    }
  });
}

// (c) Finite differences on wasm: L = sum(conv2d(x, w) * r), directional derivative along v.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomArray(n: number, rnd: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => rnd() * 2 - 1);
}

const FD: ExtraCase[] = [
  { name: 'groups 4, k3, same', x: [1, 8, 8, 16], w: [3, 3, 4, 8], opts: { groups: 4, pad: 'same' } },
  {
    name: 'groups 2, k3, stride 2 with dilation 2, same',
    x: [2, 11, 11, 8],
    w: [3, 3, 4, 8],
    opts: { groups: 2, strides: 2, dilations: 2, pad: 'same' },
  },
  {
    name: 'groups 32 (c64), k3, dilation 2, pad [[1,2],[0,3]]',
    x: [1, 9, 10, 64],
    w: [3, 3, 2, 64],
    opts: {
      groups: 32,
      dilations: 2,
      pad: [
        [1, 2],
        [0, 3],
      ],
    },
  },
  {
    name: 'plain, k3, dilation 2, pad [[1,2],[0,3]]',
    x: [1, 10, 10, 6],
    w: [3, 3, 6, 5],
    opts: {
      dilations: 2,
      pad: [
        [1, 2],
        [0, 3],
      ],
    },
  },
  {
    name: 'plain, k5, dilation [2,1], stride 1, same',
    x: [2, 9, 8, 3],
    w: [5, 5, 3, 4],
    opts: { dilations: [2, 1], pad: 'same' },
  },
  {
    name: 'depthwise mult 2, k3, dilation 2, same',
    x: [1, 10, 10, 4],
    w: [3, 3, 1, 8],
    opts: { groups: 4, dilations: 2, pad: 'same' },
  },
  {
    name: 'depthwise, k3, stride 2 with dilation 2, valid',
    x: [1, 12, 11, 5],
    w: [3, 3, 1, 5],
    opts: { groups: 5, strides: 2, dilations: 2 },
  },
];
describe('finite differences on wasm (eps 1e-2, tolerance 1e-3 relative)', () => {
  beforeAll(() => useBackend('wasm'));
  for (const [i, f] of FD.entries()) {
    for (const wrt of ['x', 'w'] as const) {
      test(`${f.name}: d/d${wrt}, x ${f.x.join('x')}, w ${f.w.join('x')}, ${JSON.stringify(f.opts)}`, () => {
        const rnd = mulberry32(7919 * (i + 1) + (wrt === 'x' ? 0 : 1));
        const x = randomArray(size(f.x), rnd),
          w = randomArray(size(f.w), rnd);
        const yShape = naiveConv(x, f.x, w, f.w, f.opts).yShape;
        const r = randomArray(size(yShape), rnd);
        const v = randomArray(wrt === 'x' ? x.length : w.length, rnd);
        const eps = 1e-2;
        const loss = (xs: Float32Array, ws: Float32Array): number =>
          tf.tidy(() => {
            const y = conv2d(t4(xs, f.x), t4(ws, f.w), f.opts).dataSync();
            let s = 0;
            for (let k = 0; k < y.length; k++) s += y[k] * r[k];
            return s;
          });
        const shift = (p: Float32Array, sign: number) => Float32Array.from(p, (e, k) => e + sign * eps * v[k]);
        const fd =
          wrt === 'x'
            ? (loss(shift(x, 1), w) - loss(shift(x, -1), w)) / (2 * eps)
            : (loss(x, shift(w, 1)) - loss(x, shift(w, -1))) / (2 * eps);
        const grad = leakCheck(() =>
          tf.tidy(() => {
            const rT = tf.tensor(r, yShape);
            const L = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as Tensor4D, b as Tensor4D, f.opts), rT));
            const [gx, gw] = tf.grads(L)([t4(x, f.x), t4(w, f.w)]);
            return ((wrt === 'x' ? gx : gw).dataSync() as Float32Array).slice();
          }),
        );
        let gv = 0;
        for (let k = 0; k < v.length; k++) gv += grad[k] * v[k];
        const rel = Math.abs(fd - gv) / Math.abs(gv);
        expect(rel, `finite difference ${fd} vs <grad, v> ${gv}`).toBeLessThanOrEqual(1e-3);
      });
    }
  }
});

// (d) tfjs's own tf.conv2d and tf.depthwiseConv2d, now differentiable with dilation > 1.
interface StockCase {
  name: string;
  op: 'conv2d' | 'depthwise';
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: 'valid' | 'same' | [[number, number], [number, number]];
  dilations: number | [number, number];
}
const STOCK: StockCase[] = [
  {
    name: 'tf.conv2d dilations 2, same',
    op: 'conv2d',
    x: [2, 9, 10, 5],
    w: [3, 3, 5, 6],
    strides: 1,
    pad: 'same',
    dilations: 2,
  },
  {
    name: 'tf.conv2d dilations 2, explicit [[1,2],[0,3]]',
    op: 'conv2d',
    x: [1, 10, 9, 8],
    w: [3, 3, 8, 4],
    strides: 1,
    pad: [
      [1, 2],
      [0, 3],
    ],
    dilations: 2,
  },
  {
    name: 'tf.conv2d dilations [2,3], k5x3, valid',
    op: 'conv2d',
    x: [1, 12, 11, 3],
    w: [5, 3, 3, 4],
    strides: 1,
    pad: 'valid',
    dilations: [2, 3],
  },
  {
    name: 'tf.depthwiseConv2d dilations 2, same',
    op: 'depthwise',
    x: [2, 9, 9, 6],
    w: [3, 3, 6, 1],
    strides: 1,
    pad: 'same',
    dilations: 2,
  },
  {
    name: 'tf.depthwiseConv2d multiplier 2, dilations 2, valid',
    op: 'depthwise',
    x: [1, 10, 11, 5],
    w: [3, 3, 5, 2],
    strides: 1,
    pad: 'valid',
    dilations: 2,
  },
  {
    name: 'tf.depthwiseConv2d k5, dilations 2, explicit [[1,2],[0,3]]',
    op: 'depthwise',
    x: [1, 11, 10, 4],
    w: [5, 5, 4, 1],
    strides: 1,
    pad: [
      [1, 2],
      [0, 3],
    ],
    dilations: 2,
  },
];
for (const backend of BACKENDS) {
  describe(`stock tfjs conv ops with dilation, differentiated on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    for (const [i, s] of STOCK.entries()) {
      test(`${s.name}: x ${s.x.join('x')}, w ${s.w.join('x')}`, () => {
        const x = formula(size(s.x), 3000 + 3 * i),
          w = formula(size(s.w), 3001 + 3 * i);
        const tfPad = Array.isArray(s.pad)
          ? ([[0, 0], s.pad[0], s.pad[1], [0, 0]] as [
              [number, number],
              [number, number],
              [number, number],
              [number, number],
            ])
          : s.pad;
        // Depthwise [kh, kw, c, mult] is, in memory, the grouped [kh, kw, 1, c * mult].
        const gShape: Shape4 = s.op === 'depthwise' ? [s.w[0], s.w[1], 1, s.w[2] * s.w[3]] : s.w;
        const nOpts = {
          strides: s.strides,
          dilations: s.dilations,
          pad: s.pad,
          groups: s.op === 'depthwise' ? s.x[3] : 1,
        };
        const yShape = naiveConv(x, s.x, w, gShape, nOpts).yShape;
        const dy = formula(size(yShape), 3002 + 3 * i);
        const ref = naiveConv(x, s.x, w, gShape, nOpts, dy);
        const got = leakCheck(() =>
          tf.tidy(() => {
            const f = (a: tf.Tensor, b: tf.Tensor) =>
              s.op === 'conv2d'
                ? tf.conv2d(a as Tensor4D, b as Tensor4D, s.strides, tfPad, 'NHWC', s.dilations)
                : tf.depthwiseConv2d(a as Tensor4D, b as Tensor4D, s.strides, tfPad, 'NHWC', s.dilations);
            const xt = t4(x, s.x),
              wt = t4(w, s.w);
            const y = f(xt, wt);
            const [dx, dw] = tf.grads(f)([xt, wt], tf.tensor(dy, y.shape));
            expect(y.shape).toEqual(yShape);
            expect(dw.shape).toEqual(s.w);
            return { y: y.dataSync().slice(), dx: dx.dataSync().slice(), dw: dw.dataSync().slice() };
          }),
        );
        expectClose('y', got.y, ref.y);
        expectClose('dx', got.dx, ref.dx!);
        expectClose('dw', got.dw, ref.dw!);
      });
    }
  });
}

// (f) Errors name the op and the numbers.
for (const backend of BACKENDS) {
  describe(`error messages on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const zeros = (s: number[]) => tf.zeros(s) as unknown as Tensor4D;
    const x = () => zeros([1, 8, 8, 6]);
    const w = () => zeros([3, 3, 6, 4]);

    test('wrong rank of input or filter', () => {
      expect(() => conv2d(tf.zeros([8, 8, 6]) as unknown as Tensor4D, w())).toThrow(
        /^conv2d: input must be rank 4 \(NHWC\), got rank 3 with shape \[8, 8, 6\]$/,
      );
      expect(() => conv2d(x(), tf.zeros([3, 6, 4]) as unknown as Tensor4D)).toThrow(
        /^conv2d: filter must be rank 4 \(\[kh, kw, in\/groups, out\]\), got rank 3 with shape \[3, 6, 4\]$/,
      );
      expect(() => conv2dBackpropInput([8, 8, 6] as unknown as Shape4, zeros([1, 6, 6, 4]), w())).toThrow(
        /^conv2dBackpropInput: input must be rank 4 \(NHWC\), got rank 3/,
      );
      expect(() => conv2dBackpropFilter(x(), zeros([1, 6, 6, 4]), [3, 3, 6] as unknown as Shape4)).toThrow(
        /^conv2dBackpropFilter: filter must be rank 4 .*got rank 3 with shape \[3, 3, 6\]$/,
      );
    });

    test('channels not divisible by groups', () => {
      expect(() => conv2d(x(), zeros([3, 3, 1, 8]), { groups: 4 })).toThrow(
        /^conv2d: input has 6 channels, which groups=4 does not divide$/,
      );
      expect(() => conv2d(x(), zeros([3, 3, 3, 5]), { groups: 2 })).toThrow(
        /^conv2d: filter has 5 output channels, which groups=2 does not divide$/,
      );
      expect(() => conv2dBackpropFilter(x(), zeros([1, 6, 6, 8]), [3, 3, 1, 8], { groups: 4 })).toThrow(
        /^conv2dBackpropFilter: input has 6 channels, which groups=4 does not divide$/,
      );
    });

    test('filter in-channels mismatch', () => {
      expect(() => conv2d(x(), zeros([3, 3, 4, 4]))).toThrow(/^conv2d: input has 6 channels, filter expects 4$/);
      expect(() => conv2d(x(), zeros([3, 3, 6, 4]), { groups: 2 })).toThrow(
        /^conv2d: input has 6 channels in 2 groups, so the filter needs 3 input channels per group, got 6$/,
      );
      expect(() => conv2dBackpropInput([1, 8, 8, 6], zeros([1, 6, 6, 4]), zeros([3, 3, 2, 4]), { groups: 2 })).toThrow(
        /^conv2dBackpropInput: input has 6 channels in 2 groups, so the filter needs 3 input channels per group, got 2$/,
      );
    });

    test('negative or malformed padding', () => {
      expect(() => conv2d(x(), w(), { pad: -1 })).toThrow(/^conv2d: padding must be non-negative integers, got -1$/);
      expect(() =>
        conv2d(x(), w(), {
          pad: [
            [1, -2],
            [0, 0],
          ],
        }),
      ).toThrow(/^conv2d: padding must be non-negative integers, got \[\[1,-2\],\[0,0\]\]$/);
      expect(() => conv2d(x(), w(), { pad: [1, 0.5] })).toThrow(
        /^conv2d: padding must be non-negative integers, got \[1,0.5\]$/,
      );
      expect(() => conv2d(x(), w(), { pad: 'full' as never })).toThrow(
        /^conv2d: pad must be 'valid', 'same', a number, \[h, w\] or \[\[top, bottom\], \[left, right\]\], got "full"$/,
      );
      expect(() => conv2dBackpropFilter(x(), zeros([1, 6, 6, 4]), [3, 3, 6, 4], { pad: -3 })).toThrow(
        /^conv2dBackpropFilter: padding must be non-negative integers, got -3$/,
      );
    });

    test('zero or negative stride and dilation', () => {
      expect(() => conv2d(x(), w(), { strides: 0 })).toThrow(
        /^conv2d: strides must be a positive integer or a pair of them, got 0$/,
      );
      expect(() => conv2d(x(), w(), { strides: [1, -2] })).toThrow(
        /^conv2d: strides must be a positive integer or a pair of them, got \[1,-2\]$/,
      );
      expect(() => conv2d(x(), w(), { dilations: 0 })).toThrow(
        /^conv2d: dilations must be a positive integer or a pair of them, got 0$/,
      );
      expect(() => conv2dBackpropInput([1, 8, 8, 6], zeros([1, 6, 6, 4]), w(), { strides: -1 })).toThrow(
        /^conv2dBackpropInput: strides must be a positive integer or a pair of them, got -1$/,
      );
    });

    test('groups 0 or 1.5', () => {
      expect(() => conv2d(x(), w(), { groups: 0 })).toThrow(/^conv2d: groups must be a positive integer, got 0$/);
      expect(() => conv2d(x(), w(), { groups: 1.5 })).toThrow(/^conv2d: groups must be a positive integer, got 1.5$/);
      expect(() => conv2dBackpropFilter(x(), zeros([1, 6, 6, 4]), [3, 3, 6, 4], { groups: -2 })).toThrow(
        /^conv2dBackpropFilter: groups must be a positive integer, got -2$/,
      );
    });

    test('empty output', () => {
      expect(() => conv2d(zeros([1, 3, 3, 6]), zeros([5, 5, 6, 4]))).toThrow(
        /^conv2d: output would be empty: a 5x5 kernel with dilation 1x1 spans 5x5 pixels, but the input is 3x3 with padding 0\/0 rows and 0\/0 columns$/,
      );
      expect(() =>
        conv2d(zeros([1, 4, 9, 6]), w(), {
          dilations: 2,
          pad: [
            [0, 0],
            [1, 2],
          ],
        }),
      ).toThrow(
        /^conv2d: output would be empty: a 3x3 kernel with dilation 2x2 spans 5x5 pixels, but the input is 4x9 with padding 0\/0 rows and 1\/2 columns$/,
      );
      expect(() => conv2dBackpropInput([1, 3, 3, 6], zeros([1, 1, 1, 4]), zeros([5, 5, 6, 4]))).toThrow(
        /^conv2dBackpropInput: output would be empty: a 5x5 kernel/,
      );
    });

    test('dy of the wrong shape', () => {
      expect(() => conv2dBackpropInput([1, 8, 8, 6], zeros([1, 8, 8, 4]), w())).toThrow(
        /^conv2dBackpropInput: dy has shape \[1, 8, 8, 4\], but the convolution's output is \[1, 6, 6, 4\]$/,
      );
      expect(() => conv2dBackpropFilter(x(), zeros([1, 6, 6, 4]), [3, 3, 6, 4], { pad: 'same' })).toThrow(
        /^conv2dBackpropFilter: dy has shape \[1, 6, 6, 4\], but the convolution's output is \[1, 8, 8, 4\]$/,
      );
    });

    test('non-float32 or non-tensor input', () => {
      expect(() => conv2d(tf.zeros([1, 8, 8, 6], 'int32') as Tensor4D, w())).toThrow(
        /^conv2d: input must be float32, got int32$/,
      );
      expect(() => conv2d(x(), tf.zeros([3, 3, 6, 4], 'bool') as Tensor4D)).toThrow(
        /^conv2d: filter must be float32, got bool$/,
      );
      expect(() => conv2dBackpropInput([1, 8, 8, 6], tf.zeros([1, 6, 6, 4], 'int32') as Tensor4D, w())).toThrow(
        /^conv2dBackpropInput: dy must be float32, got int32$/,
      );
      expect(() =>
        conv2dBackpropFilter(tf.zeros([1, 8, 8, 6], 'int32') as Tensor4D, zeros([1, 6, 6, 4]), [3, 3, 6, 4]),
      ).toThrow(/^conv2dBackpropFilter: input must be float32, got int32$/);
      expect(() => conv2d([[[[1]]]] as unknown as Tensor4D, w())).toThrow(
        /^conv2d: input must be a tf\.Tensor, got object$/,
      );
    });

    if (backend === 'cpu') {
      test('stride > 1 with dilation > 1 is an error on cpu', () => {
        expect(() => conv2d(zeros([1, 11, 11, 6]), w(), { strides: 2, dilations: 2, pad: 'same' })).toThrow(
          /^conv2d: stride 2x2 together with dilation 2x2 is supported only on the wasm backend, not on 'cpu'$/,
        );
        expect(() => conv2d(zeros([1, 11, 11, 6]), w(), { strides: [1, 2], dilations: [3, 1] })).toThrow(
          /^conv2d: stride 1x2 together with dilation 3x1 is supported only on the wasm backend, not on 'cpu'$/,
        );
      });
    } else {
      test('stride > 1 with dilation > 1 works on wasm', () => {
        const y = conv2d(zeros([1, 11, 11, 6]), w(), { strides: 2, dilations: 2, pad: 'same' });
        expect(y.shape).toEqual([1, 6, 6, 4]);
      });
    }
  });
}
