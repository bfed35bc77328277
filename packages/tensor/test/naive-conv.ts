// A direct-loop reference for grouped, dilated, strided, padded 2-D convolution and both of its
// gradients, in float64, written from the definition and sharing no code with src/ or tfjs:
//
//   y[b, oy, ox, o] = sum over ky, kx, j of x[b, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, g*cig + j] * w[ky, kx, j, o]
//
// for output channel o in group g = floor(o / (cout / groups)), cig = c / groups input channels per
// group, taps that fall in the padding contributing zero. x and y are NHWC, w is [kh, kw, cig, cout].
// dx and dw are the gradients of sum(y * dy).

export type Shape4 = [number, number, number, number];
export type Pads = [[number, number], [number, number]];
export type PadSpec = 'valid' | 'same' | number | [number, number] | [[number, number], [number, number]];

export interface NaiveOptions {
  strides?: number | [number, number];
  dilations?: number | [number, number];
  pad?: PadSpec;
  groups?: number;
}

export interface NaiveGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  cig: number;
  cout: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pads: Pads;
  oh: number;
  ow: number;
  groups: number;
}

const pairOf = (v: number | [number, number] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** Per-side padding and output size by TensorFlow's rules ('same': out = ceil(in / stride), the odd pixel after). */
export function resolvePads(
  pad: PadSpec,
  size: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): { pads: Pads; out: [number, number] } {
  const eff = [0, 1].map((a) => (kernel[a] - 1) * dilations[a] + 1);
  let pads: Pads;
  if (pad === 'valid')
    pads = [
      [0, 0],
      [0, 0],
    ];
  else if (pad === 'same') {
    const sides = [0, 1].map((a) => {
      const out = Math.ceil(size[a] / strides[a]);
      const total = Math.max((out - 1) * strides[a] + eff[a] - size[a], 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
    });
    pads = [sides[0], sides[1]];
  } else if (typeof pad === 'number')
    pads = [
      [pad, pad],
      [pad, pad],
    ];
  else if (typeof pad[0] === 'number')
    pads = [
      [pad[0], pad[0]],
      [pad[1] as number, pad[1] as number],
    ];
  else pads = [[...(pad[0] as [number, number])], [...(pad[1] as [number, number])]] as Pads;
  const out = [0, 1].map((a) => Math.floor((size[a] + pads[a][0] + pads[a][1] - eff[a]) / strides[a]) + 1) as [
    number,
    number,
  ];
  return { pads, out };
}

export function naiveGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: NaiveOptions = {},
): NaiveGeometry {
  const [n, h, w, c] = xShape;
  const [kh, kw, cig, cout] = wShape;
  const groups = opts.groups ?? 1;
  if (c % groups !== 0 || cout % groups !== 0 || cig !== c / groups) {
    throw new Error(`naive conv: bad shapes x [${xShape.join(', ')}], w [${wShape.join(', ')}] for groups=${groups}`);
  }
  const [sh, sw] = pairOf(opts.strides);
  const [dh, dw] = pairOf(opts.dilations);
  const { pads, out } = resolvePads(opts.pad ?? 'valid', [h, w], [kh, kw], [sh, sw], [dh, dw]);
  return { n, h, w, c, kh, kw, cig, cout, sh, sw, dh, dw, pads, oh: out[0], ow: out[1], groups };
}

/** Calls visit(xIndex, wIndex, yIndex) once per multiply of the convolution (taps in the padding skipped). */
export function forEachTap(g: NaiveGeometry, visit: (xi: number, wi: number, yi: number) => void): void {
  const coPerGroup = g.cout / g.groups;
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let o = 0; o < g.cout; o++) {
          const grp = Math.floor(o / coPerGroup);
          const yi = ((b * g.oh + oy) * g.ow + ox) * g.cout + o;
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.sh - g.pads[0][0] + ky * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.sw - g.pads[1][0] + kx * g.dw;
              if (ix < 0 || ix >= g.w) continue;
              for (let j = 0; j < g.cig; j++) {
                const xi = ((b * g.h + iy) * g.w + ix) * g.c + grp * g.cig + j;
                const wi = ((ky * g.kw + kx) * g.cig + j) * g.cout + o;
                visit(xi, wi, yi);
              }
            }
          }
        }
      }
    }
  }
}

export interface NaiveResult {
  geometry: NaiveGeometry;
  yShape: Shape4;
  y: Float64Array;
  dx?: Float64Array;
  dw?: Float64Array;
}

/**
 * y = conv(x, w) and, when dy is given, dx and dw (gradients of sum(y * dy)), all in float64.
 * x is NHWC, w is [kh, kw, c / groups, cout], dy has y's shape [n, oh, ow, cout].
 */
export function naiveConv(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  opts: NaiveOptions = {},
  dy?: ArrayLike<number>,
): NaiveResult {
  const g = naiveGeometry(xShape, wShape, opts);
  const yShape: Shape4 = [g.n, g.oh, g.ow, g.cout];
  const y = new Float64Array(g.n * g.oh * g.ow * g.cout);
  if (g.oh < 1 || g.ow < 1) throw new Error(`naive conv: empty output ${yShape.join('x')}`);
  if (dy === undefined) {
    forEachTap(g, (xi, wi, yi) => {
      y[yi] += x[xi] * w[wi];
    });
    return { geometry: g, yShape, y };
  }
  if (dy.length !== y.length) throw new Error(`naive conv: dy has ${dy.length} elements, y has ${y.length}`);
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  const dw = new Float64Array(g.kh * g.kw * g.cig * g.cout);
  forEachTap(g, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi];
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += x[xi] * dy[yi];
  });
  return { geometry: g, yShape, y, dx, dw };
}
