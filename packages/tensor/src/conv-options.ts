import { backend_util, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { TensorArgumentError } from './errors';

/**
 * Padding of a convolution: `'valid'` (none), `'same'` (TensorFlow's rule: output size = ceil(input /
 * stride), the odd pixel going after), a number for every side, `[height, width]` for both sides of
 * each dimension, or `[[top, bottom], [left, right]]` per side.
 */
export type Padding = 'valid' | 'same' | number | [number, number] | [[number, number], [number, number]];

/** Options of cnn's convolution ops. All tensors are NHWC. */
export interface ConvOptions {
  /** Step between output pixels: a number, or `[height, width]`. Default 1. */
  strides?: number | [number, number];
  /** Padding; see {@link Padding}. Default `'valid'`. */
  pad?: Padding;
  /** Spacing between kernel taps: a number, or `[height, width]`. Default 1. */
  dilations?: number | [number, number];
  /** Channel groups: input and output channels are split into this many independent convolutions. Default 1. */
  groups?: number;
}

/** tfjs's pad attribute: a string, or explicit `[[0, 0], [top, bottom], [left, right], [0, 0]]`. */
export type TfjsPad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

/** Normalised options, in the forms tfjs kernels take as attributes. */
export interface ConvAttrs {
  strides: [number, number];
  dilations: [number, number];
  pad: TfjsPad;
  groups: number;
}

function pair(op: string, what: string, v: number | [number, number] | undefined, def: number): [number, number] {
  const p: [number, number] = v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= 1)) {
    throw new TensorArgumentError(
      `${op}: ${what} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return [p[0], p[1]];
}

function normalisePad(op: string, pad: Padding | undefined): TfjsPad {
  if (pad === undefined || pad === 'valid' || pad === 'same') return pad ?? 'valid';
  let sides: [[number, number], [number, number]];
  if (typeof pad === 'number')
    sides = [
      [pad, pad],
      [pad, pad],
    ];
  else if (Array.isArray(pad) && pad.length === 2 && typeof pad[0] === 'number' && typeof pad[1] === 'number') {
    sides = [
      [pad[0], pad[0]],
      [pad[1], pad[1]],
    ];
  } else if (Array.isArray(pad) && pad.length === 2 && Array.isArray(pad[0]) && Array.isArray(pad[1])) {
    sides = pad as [[number, number], [number, number]];
  } else {
    throw new TensorArgumentError(
      `${op}: pad must be 'valid', 'same', a number, [h, w] or [[top, bottom], [left, right]], got ${JSON.stringify(pad)}`,
    );
  }
  const flat = [...sides[0], ...sides[1]];
  if (flat.length !== 4 || !flat.every((e) => Number.isInteger(e) && e >= 0)) {
    throw new TensorArgumentError(`${op}: padding must be non-negative integers, got ${JSON.stringify(pad)}`);
  }
  return [
    [0, 0],
    [sides[0][0], sides[0][1]],
    [sides[1][0], sides[1][1]],
    [0, 0],
  ];
}

/** Checks and normalises the options of a convolution op, naming the op in every error. */
export function convAttrs(op: string, opts: ConvOptions = {}): ConvAttrs {
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new TensorArgumentError(`${op}: groups must be a positive integer, got ${String(groups)}`);
  return {
    strides: pair(op, 'strides', opts.strides, 1),
    dilations: pair(op, 'dilations', opts.dilations, 1),
    pad: normalisePad(op, opts.pad),
    groups,
  };
}

/** Output geometry of a convolution, with the padding resolved per side. */
export function convInfo(
  op: string,
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise = false,
): backend_util.Conv2DInfo {
  const [kh, kw] = filterShape;
  const info = backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    undefined,
    depthwise,
  );
  if (!(info.outHeight >= 1 && info.outWidth >= 1)) {
    const { top, bottom, left, right } = info.padInfo;
    throw new TensorArgumentError(
      `${op}: output would be empty: a ${kh}x${kw} kernel with dilation ${attrs.dilations.join('x')} spans ` +
        `${info.effectiveFilterHeight}x${info.effectiveFilterWidth} pixels, but the input is ${inShape[1]}x${inShape[2]} ` +
        `with padding ${top}/${bottom} rows and ${left}/${right} columns`,
    );
  }
  return info;
}

/** Checks shapes of x [n, h, w, c] and filter [kh, kw, c / groups, cout] for a grouped convolution. */
export function checkConvShapes(
  op: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  groups: number,
): void {
  if (xShape.length !== 4)
    throw new TensorArgumentError(
      `${op}: input must be rank 4 (NHWC), got rank ${xShape.length} with shape [${xShape.join(', ')}]`,
    );
  if (filterShape.length !== 4) {
    throw new TensorArgumentError(
      `${op}: filter must be rank 4 ([kh, kw, in/groups, out]), got rank ${filterShape.length} with shape [${filterShape.join(', ')}]`,
    );
  }
  const c = xShape[3];
  const [, , fin, cout] = filterShape;
  if (c % groups !== 0)
    throw new TensorArgumentError(`${op}: input has ${c} channels, which groups=${groups} does not divide`);
  if (cout % groups !== 0)
    throw new TensorArgumentError(`${op}: filter has ${cout} output channels, which groups=${groups} does not divide`);
  if (fin !== c / groups) {
    throw new TensorArgumentError(
      groups === 1
        ? `${op}: input has ${c} channels, filter expects ${fin}`
        : `${op}: input has ${c} channels in ${groups} groups, so the filter needs ${c / groups} input channels per group, got ${fin}`,
    );
  }
}

/**
 * ConvAttrs from the attributes of a tfjs convolution kernel (strides and dilations as a number or a pair, a numeric
 * pad meaning every side), refusing NCHW data. `op` names the caller in errors.
 */
export function attrsFromKernel(op: string, a: NamedAttrMap, groups?: number): ConvAttrs {
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC' && a.dataFormat !== 'channelsLast') {
    throw new TensorArgumentError(`${op}: only NHWC data is supported, got dataFormat '${String(a.dataFormat)}'`);
  }
  const pair = (v: unknown): [number, number] =>
    typeof v === 'number' ? [v, v] : ((v as [number, number] | undefined) ?? [1, 1]);
  const pad = a.pad as TfjsPad | number;
  return {
    strides: pair(a.strides),
    dilations: pair(a.dilations),
    pad:
      typeof pad === 'number'
        ? [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ]
        : pad,
    groups: groups ?? (a.groups as number | undefined) ?? 1,
  };
}
