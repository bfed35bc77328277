// Pictures of a training run as standalone SVG text (no DOM, no dependencies): line charts of the loss and accuracy
// per epoch, and a confusion matrix as a heat map. They work in Node (the `cnn` command's run folder) and in a page.

/** One line of a {@link lineChartSvg}: a name for the legend and its points. */
export interface ChartSeries {
  /** Its legend entry. */
  name: string;
  /** `[x, y]` points; points with a non-finite `y` are left out. */
  points: Array<[number, number]>;
  /** Its colour (CSS); default: the next of a ten-colour palette. */
  colour?: string;
  /** Draw it dashed (e.g. the training curve beside a solid test curve of the same colour). */
  dashed?: boolean;
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  /** The title above the chart. */
  title: string;
  /** The x axis's label. */
  xLabel?: string;
  /** The y axis's label. */
  yLabel?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 400). */
  height?: number;
  /** Bottom of the y range (default: the data's minimum, padded). */
  yMin?: number;
  /** Top of the y range (default: the data's maximum, padded). */
  yMax?: number;
}

/** The palette series take their colours from, in order. */
export const CHART_COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
] as const;

/** Longest legend entry drawn, in characters (longer names are cut with '...'). */
const LEGEND_MAX_CHARS = 40;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** "Nice" tick values covering [lo, hi]: about `count` of them at 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/**
 * A line chart as SVG text: axes with ticks, one coloured line with dots per series, and a legend to the right of
 * the plot area (never over a curve).
 *
 * @example
 * writeFileSync('loss.svg', lineChartSvg([{ name: 'train', points: history.map((r) => [r.epoch, r.trainLoss]) }], { title: 'Loss' }));
 */
export function lineChartSvg(series: ChartSeries[], opts: LineChartOptions): string {
  if (!Array.isArray(series)) throw new Error('lineChartSvg: series must be an array of { name, points }');
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const pts = series.map((s, i) => ({
    name: s.name.length > LEGEND_MAX_CHARS ? `${s.name.slice(0, LEGEND_MAX_CHARS - 3)}...` : s.name,
    colour: s.colour ?? CHART_COLOURS[i % CHART_COLOURS.length],
    dashed: s.dashed === true,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  }));
  const legend = pts.length ? 34 + 7 * Math.max(...pts.map((s) => s.name.length)) : 0;
  const m = { l: 64, r: 20 + legend, t: 40, b: 52 };
  const all = pts.flatMap((s) => s.points);
  let [x0, x1] = all.length ? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))] : [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  let y0 = opts.yMin ?? (all.length ? Math.min(...all.map((p) => p[1])) : 0);
  let y1 = opts.yMax ?? (all.length ? Math.max(...all.map((p) => p[1])) : 1);
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (opts.yMin === undefined) y0 -= (y1 - y0) * 0.05;
  if (opts.yMax === undefined) y1 += (y1 - y0) * 0.05;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    if (t < y0 || t > y1) continue;
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${num(t)}</text>`);
  }
  const xTicks = niceTicks(x0, x1, Math.min(10, Math.max(1, Math.round(x1 - x0))));
  for (const t of xTicks) {
    if (t < x0 || t > x1) continue;
    out.push(`<text x="${px(t).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${num(t)}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  if (opts.xLabel)
    out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel)
    out.push(
      `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
    );
  pts.forEach((s, i) => {
    const c = esc(s.colour);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (s.points.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const [x, y] of s.points)
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"><title>${esc(s.name)} ${num(x)}: ${y.toFixed(4)}</title></circle>`,
      );
    const ly = m.t + 6 + i * 18;
    const lx = W - m.r + 14;
    out.push(`<line x1="${lx}" x2="${lx + 16}" y1="${ly + 2}" y2="${ly + 2}" stroke="${c}" stroke-width="3"${dash}/>`);
    out.push(`<text x="${lx + 22}" y="${ly + 6}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/**
 * A confusion matrix (rows true class, columns predicted) as an SVG heat map: each cell shaded by its share of its
 * row, with the count written in it, class names on both axes (titled 'true class' and 'predicted class'), and
 * per-class recall on the right.
 */
export function confusionMatrixSvg(
  matrix: number[][],
  classNames?: readonly string[],
  title = 'Confusion matrix',
): string {
  const n = matrix.length;
  if (n === 0 || matrix.some((r) => !Array.isArray(r) || r.length !== n))
    throw new Error(`confusionMatrixSvg: matrix must be square and non-empty, got ${n} rows`);
  if (classNames && classNames.length !== n)
    throw new Error(`confusionMatrixSvg: ${classNames.length} class names for ${n} classes`);
  const names = classNames ? [...classNames] : matrix.map((_, i) => String(i));
  const cell = Math.max(28, Math.min(48, Math.floor(560 / n)));
  const axis = 24; // the rotated 'true class' title left of the row names
  const label = axis + Math.min(140, 8 + 7 * Math.max(...names.map((s) => s.length)));
  const W = label + n * cell + 80;
  const H = 40 + label + n * cell + 40;
  const top = 40 + label;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<text x="${label + (n * cell) / 2}" y="${H - 10}" text-anchor="middle">predicted class</text>`,
    `<text transform="translate(${axis - 8} ${top + (n * cell) / 2}) rotate(-90)" text-anchor="middle">true class</text>`,
    `<text x="${W - 40}" y="${top - 8}" text-anchor="middle">recall</text>`,
  ];
  names.forEach((name, i) => {
    out.push(`<text x="${label - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(name)}</text>`);
    const cx = label + i * cell + cell / 2;
    out.push(`<text transform="translate(${cx + 4} ${top - 6}) rotate(-60)">${esc(name)}</text>`);
  });
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      const fill =
        i === j
          ? `rgba(31,119,180,${(0.08 + 0.92 * share).toFixed(3)})`
          : `rgba(214,39,40,${(share === 0 ? 0 : 0.08 + 0.92 * share).toFixed(3)})`;
      const x = label + j * cell;
      const y = top + i * cell;
      out.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"><title>true ${esc(names[i])}, predicted ${esc(names[j])}: ${v}</title></rect>`,
      );
      if (v > 0)
        out.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" fill="${share > 0.6 ? '#fff' : '#000'}">${v}</text>`,
        );
    });
    const recall = total > 0 ? row[i] / total : 0;
    out.push(
      `<text x="${W - 40}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle">${recall.toFixed(3)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
