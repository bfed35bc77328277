import {
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  engine,
  getKernel,
  registerGradient,
  type GradConfig,
  type NamedAttrMap,
  type NamedTensorMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { tf } from './tf';
import {
  attrsFromKernel,
  checkConvShapes,
  convAttrs,
  convInfo,
  type ConvAttrs,
  type ConvOptions,
} from './conv-options';
import {
  FUSED_GROUPED_CONV,
  GROUPED_CONV,
  GROUPED_CONV_BACKPROP_FILTER,
  GROUPED_CONV_BACKPROP_INPUT,
  type CnnKernelName,
  type CnnKernels,
  type ConvActivation,
  type Shape4,
} from './kernel-names';
import { denseInputGrad, patchesFilterGrad } from './conv-grad-matmul';
import { TensorArgumentError } from './errors';
import { CONV_ACTIVATIONS, checkActivation, composeActivation } from './fused-ops';

/** Runs one of cnn's kernels ({@link CnnKernels}), its inputs and attributes checked against the kernel's name. */
function runCnnKernel<K extends CnnKernelName>(
  name: K,
  inputs: { [P in keyof CnnKernels[K]['inputs']]: Tensor },
  attrs: CnnKernels[K]['attrs'],
): Tensor4D {
  return engine().runKernel(name, inputs as NamedTensorMap, { ...attrs } as unknown as NamedAttrMap) as Tensor4D;
}

function hasKernel(name: string): boolean {
  return getKernel(name, tf.getBackend()) !== undefined;
}

function isOne(p: [number, number]): boolean {
  return p[0] === 1 && p[1] === 1;
}

function asTensor(op: string, name: string, t: unknown): Tensor4D {
  if (!(t instanceof tf.Tensor)) throw new TensorArgumentError(`${op}: ${name} must be a tf.Tensor, got ${typeof t}`);
  if (t.dtype !== 'float32') throw new TensorArgumentError(`${op}: ${name} must be float32, got ${t.dtype}`);
  return t as Tensor4D;
}

/**
 * 2-D convolution of NHWC input with a [kh, kw, cin / groups, cout] filter: strides, dilation,
 * padding of every kind and channel groups (ResNeXt, ShuffleNet), with gradients with respect to
 * both input and filter on every backend. On wasm it runs cnn's kernels; elsewhere it is composed of
 * tfjs's own ops.
 *
 * @example
 * const x = tf.randomNormal([1, 8, 12, 4]);
 * const w = tf.randomNormal([3, 3, 2, 6]);          // groups = 2: 4 / 2 input channels per group
 * conv2d(x, w, { pad: 1, groups: 2 }).shape;        // [1, 8, 12, 6]
 */
export function conv2d(input: Tensor, weight: Tensor, opts: ConvOptions = {}): Tensor4D {
  const op = 'conv2d';
  const x = asTensor(op, 'input', input);
  const filter = asTensor(op, 'filter', weight);
  const attrs = convAttrs(op, opts);
  checkConvShapes(op, x.shape, filter.shape, attrs.groups);
  convInfo(op, x.shape, filter.shape, attrs);
  const { strides, dilations, pad, groups } = attrs;
  const both = !isOne(strides) && !isOne(dilations);
  if (hasKernel(GROUPED_CONV)) {
    // Plain convolutions keep tfjs's fast forward kernel (XNNPACK on wasm); the rest is ours.
    if (groups === 1 && !both) return tf.conv2d(x, filter, strides, pad, 'NHWC', dilations);
    return runCnnKernel(GROUPED_CONV, { x, filter }, attrs);
  }
  refuseStrideWithDilation(op, attrs);
  return tf.tidy(() => composedGroupedConv(x, filter, attrs));
}

/** {@link fusedConv2d}'s options: a convolution's, and the bias and activation applied to its output. */
export interface FusedConvOptions extends ConvOptions {
  /** Added to each output channel: a float32 tensor of shape [cout]. Default: none. */
  bias?: Tensor;
  /** Applied last: `'linear'` (none, the default), `'relu'` or `'relu6'`. */
  activation?: ConvActivation;
}

/**
 * `act(conv2d(input, weight, opts) + bias)` in one pass where it can: on wasm, while no gradient is recorded, a
 * grouped (or strided and dilated) convolution is one call of cnn's kernel that adds the bias and applies the
 * activation to each output as it writes it, instead of a convolution and then an element-wise pass over its whole
 * output; a plain convolution is `tf.fused.conv2d` (XNNPACK's or cnn's fused kernels on wasm). Otherwise (other
 * backends' grouped convolutions, and under `tf.grad` / training) it composes `conv2d`, `tf.add` and the activation,
 * which are differentiable. The same options and checks as {@link conv2d}; the bias must be float32 of shape [cout].
 *
 * @example
 * const x = tf.randomNormal([1, 8, 8, 6]);
 * const w = tf.randomNormal([1, 1, 2, 9]);                          // groups = 3
 * fusedConv2d(x, w, { groups: 3, bias: tf.zeros([9]), activation: 'relu' }).shape;   // [1, 8, 8, 9]
 */
export function fusedConv2d(input: Tensor, weight: Tensor, opts: FusedConvOptions = {}): Tensor4D {
  const op = 'fusedConv2d';
  const { bias, activation: named = 'linear', ...convOpts } = opts;
  const x = asTensor(op, 'input', input);
  const filter = asTensor(op, 'filter', weight);
  const activation = checkActivation(op, named, CONV_ACTIVATIONS);
  const attrs = convAttrs(op, convOpts);
  checkConvShapes(op, x.shape, filter.shape, attrs.groups);
  convInfo(op, x.shape, filter.shape, attrs);
  const cout = filter.shape[3];
  if (bias !== undefined) {
    asTensor(op, 'bias', bias);
    if (bias.rank !== 1 || bias.shape[0] !== cout) {
      throw new TensorArgumentError(
        `${op}: bias must have shape [${cout}] (the filter's output channels), got [${bias.shape.join(', ')}]`,
      );
    }
  }
  const { strides, dilations, pad, groups } = attrs;
  if (!engine().isTapeOn() && x.size > 0) {
    if (groups === 1 && (isOne(strides) || isOne(dilations))) {
      return tf.fused.conv2d({ x, filter, strides, pad, dilations, bias, activation });
    }
    if (hasKernel(FUSED_GROUPED_CONV)) {
      return runCnnKernel(FUSED_GROUPED_CONV, bias ? { x, filter, bias } : { x, filter }, { ...attrs, activation });
    }
  }
  return tf.tidy(() => {
    const y = conv2d(x, filter, convOpts);
    return composeActivation(bias ? tf.add(y, bias) : y, activation) as Tensor4D;
  });
}

// tfjs's own convolutions take stride > 1 or dilation > 1, never both; only cnn's wasm kernels do.
function refuseStrideWithDilation(op: string, { strides, dilations }: ConvAttrs): void {
  if (!isOne(strides) && !isOne(dilations)) {
    throw new TensorArgumentError(
      `${op}: stride ${strides.join('x')} together with dilation ${dilations.join('x')} is supported only on the wasm backend, not on '${tf.getBackend()}'`,
    );
  }
}

// Grouped convolution from tfjs ops, for backends without cnn's kernel; autograd differentiates it.
function composedGroupedConv(x: Tensor4D, filter: Tensor4D, attrs: ConvAttrs): Tensor4D {
  const { strides, dilations, pad, groups } = attrs;
  if (groups === 1) return tf.conv2d(x, filter, strides, pad, 'NHWC', dilations);
  const [kh, kw, cig, cout] = filter.shape;
  if (cig === 1) {
    // Depthwise: [kh, kw, 1, c * mult] holds the same numbers as [kh, kw, c, mult].
    const dw = filter.reshape([kh, kw, groups, cout / groups]) as Tensor4D;
    return tf.depthwiseConv2d(x, dw, strides, pad, 'NHWC', dilations);
  }
  if (groups >= DEPTHWISE_MIN_GROUPS && cig <= DEPTHWISE_MAX_GROUP_CHANNELS)
    return groupedAsDepthwise(x, filter, attrs);
  const xs = tf.split(x, groups, 3) as Tensor4D[];
  const fs = tf.split(filter, groups, 3) as Tensor4D[];
  return tf.concat(
    xs.map((xg, i) => tf.conv2d(xg, fs[i], strides, pad, 'NHWC', dilations)),
    3,
  ) as Tensor4D;
}

/** Group counts from which {@link groupedAsDepthwise} replaces one convolution per group (ResNeXt: 32). */
const DEPTHWISE_MIN_GROUPS = 4;
/**
 * The most input channels per group it takes: its intermediate holds this many times the output's values (ResNeXt
 * at 224x224 up to 64; ShuffleNet v1's pointwise convolutions with 3 groups, 80 to 320, keep one per group).
 */
const DEPTHWISE_MAX_GROUP_CHANNELS = 64;

/**
 * A grouped convolution as one depthwise convolution and a sum, the same multiply-adds in three kernels where one
 * convolution per group takes 3 * groups + 1 (32 groups: 97, each a dispatch on WebGPU). Input channel c = g * cig + j
 * with channel multiplier cog (the output channels per group) gives depthwise channel (g * cig + j) * cog + m; the sum
 * over j is output channel g * cog + m. Gradients: autograd through depthwiseConv2d, sum, reshape and transpose.
 */
function groupedAsDepthwise(x: Tensor4D, filter: Tensor4D, attrs: ConvAttrs): Tensor4D {
  const { strides, dilations, pad, groups } = attrs;
  const [kh, kw, cig, cout] = filter.shape;
  const cog = cout / groups;
  const dwFilter = filter
    .reshape([kh * kw, cig, groups, cog])
    .transpose([0, 2, 1, 3])
    .reshape([kh, kw, groups * cig, cog]) as Tensor4D;
  const y = tf.depthwiseConv2d(x, dwFilter, strides, pad, 'NHWC', dilations);
  const [n, oh, ow] = y.shape;
  return y
    .reshape([n * oh * ow, groups, cig, cog])
    .sum(2)
    .reshape([n, oh, ow, cout]) as Tensor4D;
}

/**
 * Gradient of {@link conv2d} with respect to its input: given dy [n, oh, ow, cout] and the filter,
 * returns dx with `inputShape`. Works for every stride, dilation, padding and group count.
 */
export function conv2dBackpropInput(
  inputShape: Shape4,
  dyIn: Tensor,
  weight: Tensor,
  opts: ConvOptions = {},
): Tensor4D {
  const op = 'conv2dBackpropInput';
  const dy = asTensor(op, 'dy', dyIn);
  const filter = asTensor(op, 'filter', weight);
  const attrs = convAttrs(op, opts);
  checkConvShapes(op, inputShape, filter.shape, attrs.groups);
  checkDy(op, inputShape, filter.shape, dy, attrs);
  if (hasKernel(GROUPED_CONV_BACKPROP_INPUT)) {
    return runCnnKernel(GROUPED_CONV_BACKPROP_INPUT, { dy, filter }, { ...attrs, inputShape });
  }
  refuseStrideWithDilation(op, attrs);
  return composedGrad(inputShape, filter.shape as Shape4, attrs, dy, filter, 'input');
}

/**
 * Gradient of {@link conv2d} with respect to its filter: given the input x and dy, returns the
 * filter gradient with `filterShape` ([kh, kw, cin / groups, cout]).
 */
export function conv2dBackpropFilter(
  input: Tensor,
  dyIn: Tensor,
  filterShape: Shape4,
  opts: ConvOptions = {},
): Tensor4D {
  const op = 'conv2dBackpropFilter';
  const x = asTensor(op, 'input', input);
  const dy = asTensor(op, 'dy', dyIn);
  const attrs = convAttrs(op, opts);
  checkConvShapes(op, x.shape, filterShape, attrs.groups);
  checkDy(op, x.shape, filterShape, dy, attrs);
  if (hasKernel(GROUPED_CONV_BACKPROP_FILTER)) {
    return runCnnKernel(GROUPED_CONV_BACKPROP_FILTER, { x, dy }, { ...attrs, filterShape });
  }
  refuseStrideWithDilation(op, attrs);
  return composedGrad(x.shape as Shape4, filterShape, attrs, dy, x, 'filter');
}

function checkDy(
  op: string,
  xShape: readonly number[],
  fShape: readonly number[],
  dy: Tensor4D,
  attrs: ConvAttrs,
): void {
  const info = convInfo(op, xShape, fShape, attrs);
  const want = info.outShape;
  if (dy.rank !== 4 || dy.shape.some((d, i) => d !== want[i])) {
    throw new TensorArgumentError(
      `${op}: dy has shape [${dy.shape.join(', ')}], but the convolution's output is [${want.join(', ')}]`,
    );
  }
}

// The gradient through tfjs's ops where cnn's kernels are not registered: differentiate the
// composed forward with tf.grad (dy is the upstream gradient). Dilated plain convolutions go
// through a zero-inserted filter, since tfjs's Conv2D gradient kernels take no dilation.
function composedGrad(
  xShape: Shape4,
  fShape: Shape4,
  attrs: ConvAttrs,
  dy: Tensor4D,
  other: Tensor4D,
  wrt: 'input' | 'filter',
): Tensor4D {
  return tf.tidy(() => {
    if (wrt === 'input') {
      const f = other;
      const g = tf.grad((x: Tensor) => composedGroupedConv(x as Tensor4D, f, attrs));
      return g(tf.zeros(xShape), dy) as Tensor4D;
    }
    const x = other;
    const g = tf.grad((f: Tensor) => composedGroupedConv(x, f as Tensor4D, attrs));
    return g(tf.zeros(fShape), dy) as Tensor4D;
  });
}

/**
 * Inserts dilation - 1 zeros between filter taps: a [kh, kw, i, o] filter becomes [(kh-1)dh+1, (kw-1)dw+1, i, o].
 * Rows, then columns, each with a pad of rank 3 or 4: tfjs's WebGPU Pad kernel fails on rank 6 (4.22.0: its WGSL
 * has no vec6), and every backend has these.
 */
function dilateFilter(f: Tensor4D, [dh, dw]: [number, number]): Tensor4D {
  const [kh, kw, i, o] = f.shape;
  const [KH, KW] = dilatedShape(f.shape, [dh, dw]);
  const rows = tf
    .pad(f.reshape([kh, 1, kw * i * o]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
    ])
    .reshape([kh * dh, kw * i * o])
    .slice([0, 0], [KH, kw * i * o]);
  const cols = tf
    .pad(rows.reshape([KH, kw, 1, i * o]), [
      [0, 0],
      [0, 0],
      [0, dw - 1],
      [0, 0],
    ])
    .reshape([KH, kw * dw, i * o])
    .slice([0, 0, 0], [KH, KW, i * o]);
  return cols.reshape([KH, KW, i, o]) as Tensor4D;
}

/** Shape of the zero-inserted filter {@link dilateFilter} makes. */
function dilatedShape([kh, kw, i, o]: number[], [dh, dw]: [number, number]): Shape4 {
  return [(kh - 1) * dh + 1, (kw - 1) * dw + 1, i, o];
}

/** The taps of a gradient computed for the zero-inserted filter: every dh-th row and dw-th column. */
function undilate(g: Tensor4D, dilations: [number, number]): Tensor4D {
  if (isOne(dilations)) return g;
  return tf.stridedSlice(g, [0, 0, 0, 0], g.shape, [dilations[0], dilations[1], 1, 1]) as Tensor4D;
}

/** The input and filter gradients of cnn's (grouped, dilated) convolution kernels, on wasm. */
function kernelGrads(dy: Tensor, x: Tensor4D, filter: Tensor4D, attrs: ConvAttrs) {
  return {
    x: (): Tensor =>
      denseInputGrad(dy, x, filter, attrs) ??
      runCnnKernel(GROUPED_CONV_BACKPROP_INPUT, { dy, filter }, { ...attrs, inputShape: x.shape }),
    filter: (): Tensor =>
      patchesFilterGrad(dy, x, filter, attrs) ??
      runCnnKernel(GROUPED_CONV_BACKPROP_FILTER, { x, dy }, { ...attrs, filterShape: filter.shape }),
  };
}

// tfjs's gradient of Conv2D refuses dilation > 1. This one accepts it on every backend: on wasm
// through cnn's kernels, elsewhere through tfjs's gradient kernels applied to a zero-inserted filter.
const conv2dGrad: GradConfig = {
  kernelName: Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as Tensor4D[];
    const dy4 = dy as Tensor4D;
    const a = attrsFromKernel('conv2d gradient', attrs, 1);
    if (hasKernel(GROUPED_CONV_BACKPROP_INPUT)) return kernelGrads(dy4, x, filter, a);
    // Elsewhere: tfjs's gradient kernels, which take no dilation, on a zero-inserted filter.
    const { strides, dilations } = a;
    return {
      x: () =>
        tf.tidy(() => {
          const f = isOne(dilations) ? filter : dilateFilter(filter, dilations);
          return stockKernel(Conv2DBackpropInput, { dy: dy4, filter: f }, { strides, pad: a.pad, inputShape: x.shape });
        }),
      filter: () =>
        tf.tidy(() =>
          undilate(
            stockKernel(
              Conv2DBackpropFilter,
              { x, dy: dy4 },
              { strides, pad: a.pad, filterShape: dilatedShape(filter.shape, dilations) },
            ),
            dilations,
          ),
        ),
    };
  },
};

function stockKernel(name: string, inputs: Record<string, Tensor>, attrs: Record<string, unknown>): Tensor4D {
  return engine().runKernel(name, inputs, {
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    ...attrs,
  } as unknown as NamedAttrMap) as Tensor4D;
}

// tfjs's gradient of DepthwiseConv2dNative refuses dilation > 1. On wasm cnn's kernels take the dilation;
// elsewhere tfjs's kernels read it but ignore it (cpu, 4.22.0), so they get a zero-inserted filter instead.
const depthwiseGrad: GradConfig = {
  kernelName: DepthwiseConv2dNative,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as Tensor4D[];
    const d = dy as Tensor;
    const dilations = attrsFromKernel('depthwiseConv2d gradient', attrs).dilations;
    const common = { strides: attrs.strides, pad: attrs.pad, dimRoundingMode: attrs.dimRoundingMode };
    const run = (name: string, inputs: Record<string, Tensor>, extra: Record<string, unknown>) =>
      engine().runKernel(name, inputs, { ...common, ...extra } as unknown as NamedAttrMap) as Tensor4D;
    if (hasKernel(GROUPED_CONV) || isOne(dilations)) {
      return {
        x: () => run(DepthwiseConv2dNativeBackpropInput, { dy: d, filter }, { dilations, inputShape: x.shape }),
        filter: () => run(DepthwiseConv2dNativeBackpropFilter, { x, dy: d }, { dilations, filterShape: filter.shape }),
      };
    }
    return {
      x: () =>
        tf.tidy(() =>
          run(
            DepthwiseConv2dNativeBackpropInput,
            { dy: d, filter: dilateFilter(filter, dilations) },
            { dilations: [1, 1], inputShape: x.shape },
          ),
        ),
      filter: () =>
        tf.tidy(() =>
          undilate(
            run(
              DepthwiseConv2dNativeBackpropFilter,
              { x, dy: d },
              { dilations: [1, 1], filterShape: dilatedShape(filter.shape, dilations) },
            ),
            dilations,
          ),
        ),
    };
  },
};

// The gradient of cnn's grouped convolution (its kernel exists on wasm only; elsewhere conv2d is composed).
const groupedGrad: GradConfig = {
  kernelName: GROUPED_CONV,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as Tensor4D[];
    return kernelGrads(dy as Tensor, x, filter, attrsFromKernel('grouped conv2d gradient', attrs));
  },
};

/** Registers cnn's convolution gradients (replacing tfjs's Conv2D and depthwise ones). Idempotent. */
export function registerConvGradients(): void {
  for (const g of [conv2dGrad, depthwiseGrad, groupedGrad]) registerGradient(g);
}
