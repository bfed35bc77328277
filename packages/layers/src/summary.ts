import { tf, type Tensor } from '@cnn/tensor';
import { Module, setForwardHook } from './module';

/** One row of a {@link summary}: a module that computes (a leaf of the module tree). */
export interface SummaryRow {
  /** Dotted name, as in the state dict (`layer1.0.conv1`). */
  name: string;
  /** Class name (`Conv2d`, `BatchNorm2d`, ...). */
  type: string;
  /** NHWC output shape. */
  outputShape: number[];
  /** Learnable values of this module (BatchNorm's running statistics are buffers and not counted). */
  params: number;
  /** Multiply-accumulates of this call: conv and linear layers only, as torchvision counts them. */
  macs: number;
}

/** What {@link summary} returns. */
export interface Summary {
  /** NHWC shape the model was run on (a batch of 1 when `[h, w, c]` was given). */
  inputShape: number[];
  /** NHWC shape of the model's output. */
  outputShape: number[];
  /** One row per computing leaf module, in call order. */
  rows: SummaryRow[];
  /** Learnable values of the whole model, called or not (buffers excluded). */
  totalParams: number;
  /** Multiply-accumulates of one forward pass. */
  totalMacs: number;
  /** The table as text. */
  toString(): string;
}

interface WithMacs {
  macs(outShape: number[]): number;
}

function hasMacs(m: Module): m is Module & WithMacs {
  return typeof (m as unknown as Partial<WithMacs>).macs === 'function';
}

/** Largest size of one input dimension: tfjs keeps shapes and offsets in 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;

/**
 * Reports every computing layer's output shape, parameters and multiply-accumulates for an input of `inputShape`
 * ([h, w, c], or [n, h, w, c]), with totals.
 *
 * Shapes only: the model runs once, in eval mode, on an empty batch `[0, h, w, c]`, so no activation is allocated
 * and nothing is computed whatever the input size (a 100000x100000 image costs what a 28x28 one does); output shapes
 * and MACs are then stated for the batch of `n` (1 for `[h, w, c]`). Each dimension must be a positive integer up to
 * 2^31 - 1 and their product at most 2^53 - 1 (`Number.MAX_SAFE_INTEGER`, so that counts stay exact).
 *
 * @example
 * const s = summary(lenet5(), [32, 32, 1]);
 * s.totalParams;   // 61706
 * s.totalMacs;     // 416520
 * console.log(String(s));
 */
export function summary(model: Module, inputShape: number[]): Summary {
  if (!(model instanceof Module)) throw new Error('summary: model must be a Module');
  const shape = inputShape.length === 3 ? [1, ...inputShape] : inputShape;
  if (!Array.isArray(inputShape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(
      `summary: inputShape must be [h, w, c] or [n, h, w, c] of positive integers, got [${Array.isArray(inputShape) ? inputShape.slice(0, 8).join(', ') : String(inputShape)}]`,
    );
  }
  if (shape.some((d) => d > MAX_DIM) || shape.reduce((a, b) => a * b, 1) > Number.MAX_SAFE_INTEGER) {
    throw new Error(
      `summary: inputShape [${inputShape.join(', ')}] is too large: each dimension at most ${MAX_DIM}, and ${Number.MAX_SAFE_INTEGER} values in all`,
    );
  }
  const batch = shape[0];
  // The batch dimension as the caller asked for it, on a shape computed for the empty batch.
  const withBatch = (s: number[]): number[] => (s.length ? [batch, ...s.slice(1)] : []);
  const names = new Map<Module, string>(model.namedModules().map(([n, m]) => [m, n]));
  const rows: SummaryRow[] = [];
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  let outputShape: number[] = [];
  setForwardHook((m: Module, _inputs: Tensor[], out: Tensor) => {
    // Leaves only; a helper module a block keeps without registering it (it has no parameters) is not a row.
    if (m.namedChildren().length > 0 || !names.has(m)) return;
    const params = m
      .ownState()
      .filter(([, , kind]) => kind === 'parameter')
      .reduce((n, [, v]) => n + v.size, 0);
    const outShape = withBatch(out.shape);
    rows.push({
      name: names.get(m)!,
      type: m.typeName,
      outputShape: outShape,
      params,
      macs: hasMacs(m) ? m.macs(outShape) : 0,
    });
  });
  try {
    tf.tidy(() => {
      const y = model.call(tf.zeros([0, ...shape.slice(1)]));
      outputShape = withBatch(y.shape);
    });
  } finally {
    setForwardHook(null);
    for (const [m, training] of modes) m.training = training;
  }
  const totalParams = model.numParameters();
  const totalMacs = rows.reduce((n, r) => n + r.macs, 0);
  return {
    inputShape: shape,
    outputShape,
    rows,
    totalParams,
    totalMacs,
    toString: () => formatSummary(rows, shape, outputShape, totalParams, totalMacs),
  };
}

function formatSummary(rows: SummaryRow[], input: number[], output: number[], params: number, macs: number): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const table = [
    ['layer', 'type', 'output shape', 'params', 'MACs'],
    ...rows.map((r) => [r.name, r.type, `[${r.outputShape.join(', ')}]`, fmt(r.params), fmt(r.macs)]),
  ];
  const width = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ');
  const rule = width.map((w) => '-'.repeat(w)).join('  ');
  return [
    line(table[0]),
    rule,
    ...table.slice(1).map(line),
    rule,
    `input [${input.join(', ')}] -> output [${output.join(', ')}]`,
    `params: ${fmt(params)}`,
    `MACs: ${fmt(macs)}`,
  ].join('\n');
}
