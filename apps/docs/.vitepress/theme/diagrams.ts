/**
 * The architecture diagrams of the model family pages, as data: boxes (centre, size, label, kind)
 * and arrows between them. ArchDiagram.vue draws them as inline SVG. Labels are layer notation
 * (`3×3 conv, 64`), the same in English and Chinese.
 */
export type NodeKind = 'io' | 'conv' | 'op' | 'accent' | 'g0' | 'g1' | 'g2';

export interface DiagramNode {
  id: string;
  label: string;
  /** A second, smaller line (shape, activation). */
  sub?: string;
  /** Centre. */
  x: number;
  y: number;
  w: number;
  h: number;
  kind: NodeKind;
}

export interface DiagramEdge {
  from: string;
  to: string;
  label?: string;
  /** A skip connection: drawn around the right (or left) of the boxes between, `offset` px out. */
  around?: 'right' | 'left';
  offset?: number;
  /** No arrow head (a plain line, e.g. in the channel shuffle). */
  plain?: boolean;
}

export interface Diagram {
  width: number;
  height: number;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

type Spec = [id: string, label: string, sub?: string, kind?: NodeKind];

const H = 30;
const H2 = 40;

/** Boxes one under the other at `x`, from `y`, each joined to the next. */
function chain(
  x: number,
  y: number,
  specs: Spec[],
  w = 190,
  gap = 22,
): { nodes: DiagramNode[]; edges: DiagramEdge[]; end: number } {
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  let top = y;
  for (const [id, label, sub, kind = 'conv'] of specs) {
    const h = sub ? H2 : H;
    nodes.push({ id, label, sub, x, y: top + h / 2, w, h, kind });
    if (nodes.length > 1) edges.push({ from: nodes[nodes.length - 2].id, to: id });
    top += h + gap;
  }
  return { nodes, edges, end: top - gap };
}

function node(
  id: string,
  label: string,
  x: number,
  y: number,
  kind: NodeKind = 'conv',
  w = 150,
  sub?: string,
): DiagramNode {
  return { id, label, sub, x, y, w, h: sub ? H2 : H, kind };
}

function merge(width: number, ...parts: Array<{ nodes: DiagramNode[]; edges: DiagramEdge[] }>): Diagram {
  const nodes = parts.flatMap((p) => p.nodes);
  const edges = parts.flatMap((p) => p.edges);
  const height = Math.max(...nodes.map((n) => n.y + n.h / 2)) + 12;
  return { width, height, nodes, edges };
}

const lenet = (): Diagram => {
  const c = chain(
    160,
    10,
    [
      ['in', 'input', '28×28×1, padded by 2', 'io'],
      ['c1', '5×5 conv, 6 + tanh', '28×28×6'],
      ['p1', '2×2 avg pool', '14×14×6', 'op'],
      ['c3', '5×5 conv, 16 + tanh', '10×10×16'],
      ['p2', '2×2 avg pool', '5×5×16', 'op'],
      ['c5', '5×5 conv, 120 + tanh', '1×1×120'],
      ['f6', 'linear 84 + tanh', undefined, 'accent'],
      ['out', 'linear 10', 'class scores', 'io'],
    ],
    200,
    16,
  );
  return merge(320, c);
};

const alexnet = (): Diagram => {
  const c = chain(
    170,
    10,
    [
      ['in', 'input', '224×224×3', 'io'],
      ['c1', '11×11 conv /4, 64 + ReLU', '55×55×64'],
      ['p1', '3×3 max pool /2', '27×27×64', 'op'],
      ['c2', '5×5 conv, 192 + ReLU', '27×27×192'],
      ['p2', '3×3 max pool /2', '13×13×192', 'op'],
      ['c3', '3×3 conv, 384 + ReLU'],
      ['c4', '3×3 conv, 256 + ReLU'],
      ['c5', '3×3 conv, 256 + ReLU'],
      ['p5', '3×3 max pool /2', '6×6×256', 'op'],
      ['f6', 'dropout, linear 4096 + ReLU', undefined, 'accent'],
      ['f7', 'dropout, linear 4096 + ReLU', undefined, 'accent'],
      ['out', 'linear 1000', undefined, 'io'],
    ],
    220,
    14,
  );
  return merge(340, c);
};

const vgg = (): Diagram => {
  const c = chain(
    170,
    10,
    [
      ['in', 'input', '224×224×3', 'io'],
      ['s1', '3×3 conv, 64 ×n', '224×224'],
      ['m1', '2×2 max pool /2', undefined, 'op'],
      ['s2', '3×3 conv, 128 ×n', '112×112'],
      ['m2', '2×2 max pool /2', undefined, 'op'],
      ['s3', '3×3 conv, 256 ×n', '56×56'],
      ['m3', '2×2 max pool /2', undefined, 'op'],
      ['s4', '3×3 conv, 512 ×n', '28×28'],
      ['m4', '2×2 max pool /2', undefined, 'op'],
      ['s5', '3×3 conv, 512 ×n', '14×14'],
      ['m5', '2×2 max pool /2', '7×7×512', 'op'],
      ['fc', 'linear 4096, 4096, 1000', '≈124 M of the parameters', 'accent'],
    ],
    220,
    12,
  );
  return merge(340, c);
};

const inception = (): Diagram => {
  const xs = [70, 230, 390, 550];
  const top = node('in', 'previous layer', 310, 25, 'io', 200);
  const b = [
    [node('b1', '1×1 conv', xs[0], 95, 'conv', 130, 'ch1x1')],
    [
      node('b2a', '1×1 conv', xs[1], 95, 'conv', 130, 'ch3x3red'),
      node('b2b', '3×3 conv', xs[1], 170, 'conv', 130, 'ch3x3'),
    ],
    [
      node('b3a', '1×1 conv', xs[2], 95, 'conv', 130, 'ch5x5red'),
      node('b3b', '5×5 conv*', xs[2], 170, 'conv', 130, 'ch5x5'),
    ],
    [
      node('b4a', '3×3 max pool', xs[3], 95, 'op', 130, 'stride 1'),
      node('b4b', '1×1 conv', xs[3], 170, 'conv', 130, 'poolProj'),
    ],
  ];
  const cat = node('cat', 'concatenate channels', 310, 245, 'accent', 240);
  const edges: DiagramEdge[] = [];
  for (const branch of b) {
    edges.push({ from: 'in', to: branch[0].id });
    if (branch[1]) edges.push({ from: branch[0].id, to: branch[1].id });
    edges.push({ from: branch[branch.length - 1].id, to: 'cat' });
  }
  return merge(620, { nodes: [top, ...b.flat(), cat], edges });
};

const residual = (): Diagram => {
  const basic = chain(
    130,
    10,
    [
      ['bx', 'x', '64 channels', 'io'],
      ['b1', '3×3 conv, 64', 'BN, ReLU'],
      ['b2', '3×3 conv, 64', 'BN'],
      ['badd', '+', undefined, 'accent'],
      ['brelu', 'ReLU', undefined, 'op'],
    ],
    150,
    20,
  );
  basic.edges.push({ from: 'bx', to: 'badd', around: 'right', offset: 30, label: 'identity' });
  const bott = chain(
    420,
    10,
    [
      ['tx', 'x', '256 channels', 'io'],
      ['t1', '1×1 conv, 64', 'BN, ReLU'],
      ['t2', '3×3 conv, 64', 'BN, ReLU (stride here)'],
      ['t3', '1×1 conv, 256', 'BN'],
      ['tadd', '+', undefined, 'accent'],
      ['trelu', 'ReLU', undefined, 'op'],
    ],
    170,
    20,
  );
  bott.edges.push({ from: 'tx', to: 'tadd', around: 'right', offset: 30, label: 'identity, or 1×1 conv + BN' });
  return merge(620, basic, bott);
};

const resnext = (): Diagram => {
  const x = 250;
  const top = chain(
    x,
    10,
    [
      ['x', 'x', '256 channels', 'io'],
      ['r', '1×1 conv, 128', 'BN, ReLU'],
    ],
    200,
  );
  const paths = [-2, -1, 0, 1, 2].map((k) =>
    node(`g${k}`, k === 1 ? '… 32 ×' : '3×3, 4', x + k * 70, 150, 'conv', k === 1 ? 0 : 60),
  );
  const cat = node('cat', 'concatenate: 32 groups × 4', x, 215, 'op', 220);
  const rest = chain(
    x,
    250,
    [
      ['bn', 'BN, ReLU', undefined, 'op'],
      ['e', '1×1 conv, 256', 'BN'],
      ['add', '+', undefined, 'accent'],
    ],
    200,
  );
  const edges: DiagramEdge[] = [...top.edges, ...rest.edges];
  for (const p of paths) if (p.w > 0) edges.push({ from: 'r', to: p.id }, { from: p.id, to: 'cat' });
  edges.push({ from: 'cat', to: 'bn' }, { from: 'x', to: 'add', around: 'right', offset: 20, label: 'identity' });
  return merge(520, { nodes: [...top.nodes, ...paths, cat, ...rest.nodes], edges });
};

const se = (): Diagram => {
  const main = chain(
    150,
    10,
    [
      ['x', 'x', 'H×W×C', 'io'],
      ['body', 'residual branch', '1×1, 3×3, 1×1 conv + BN', 'conv'],
      ['scale', '× (scale channels)', 'H×W×C', 'accent'],
      ['add', '+', undefined, 'accent'],
      ['relu', 'ReLU', undefined, 'op'],
    ],
    190,
    26,
  );
  main.edges.push({ from: 'x', to: 'add', around: 'left', offset: 24, label: 'identity' });
  const sq = [
    node('pool', 'global avg pool', 420, 30, 'op', 170, '1×1×C'),
    node('fc1', '1×1 conv, C/16', 420, 90, 'conv', 170, 'ReLU'),
    node('fc2', '1×1 conv, C', 420, 150, 'conv', 170, 'sigmoid'),
  ];
  const edges: DiagramEdge[] = [
    ...main.edges.filter((e) => !(e.from === 'body' && e.to === 'scale')),
    { from: 'body', to: 'scale' },
    { from: 'body', to: 'pool', label: 'squeeze' },
    { from: 'pool', to: 'fc1' },
    { from: 'fc1', to: 'fc2', label: 'excite' },
    { from: 'fc2', to: 'scale', label: 'gates' },
  ];
  return merge(540, { nodes: [...main.nodes, ...sq], edges });
};

const mobilenet = (): Diagram => {
  const std = chain(
    110,
    10,
    [
      ['s0', 'input', 'H×W×M', 'io'],
      ['s1', '3×3 conv, N', 'BN, ReLU: 9·M·N weights'],
      ['s2', 'output', 'H×W×N', 'io'],
    ],
    190,
    26,
  );
  const ds = chain(
    330,
    10,
    [
      ['d0', 'input', 'H×W×M', 'io'],
      ['d1', '3×3 depthwise', 'BN, ReLU: 9·M weights'],
      ['d2', '1×1 pointwise, N', 'BN, ReLU: M·N weights'],
      ['d3', 'output', 'H×W×N', 'io'],
    ],
    190,
    26,
  );
  const ir = chain(
    560,
    10,
    [
      ['i0', 'input', 'H×W×C', 'io'],
      ['i1', '1×1 conv, 6C (expand)', 'BN, ReLU6'],
      ['i2', '3×3 depthwise, 6C', 'BN, ReLU6 (V3: SE, h-swish)'],
      ['i3', '1×1 conv, C (project)', 'BN, no activation'],
      ['i4', '+', undefined, 'accent'],
    ],
    210,
    22,
  );
  ir.edges.push({ from: 'i0', to: 'i4', around: 'right', offset: 16, label: 'stride 1, in = out' });
  return merge(720, std, ds, ir);
};

const shuffle = (): Diagram => {
  // The channel shuffle: 3 groups of 3 channels, reshape to [3, 3], transpose, flatten.
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const kinds: NodeKind[] = ['g0', 'g1', 'g2'];
  for (let i = 0; i < 9; i++) {
    const g = Math.floor(i / 3);
    nodes.push({ id: `a${i}`, label: '', x: 40 + i * 26 + g * 8, y: 40, w: 20, h: 20, kind: kinds[g] });
    const j = (i % 3) * 3 + g; // channel i ends up at position j
    const jg = Math.floor(j / 3);
    nodes.push({ id: `b${j}`, label: '', x: 40 + j * 26 + jg * 8, y: 130, w: 20, h: 20, kind: kinds[g] });
    edges.push({ from: `a${i}`, to: `b${j}`, plain: true });
  }
  nodes.push(node('lt', 'group conv output: 3 groups', 150, 14, 'op', 0));
  nodes.push(node('lb', 'after the shuffle: every group mixed', 150, 162, 'op', 0));
  const v1 = chain(
    420,
    10,
    [
      ['v0', 'x', undefined, 'io'],
      ['v1', '1×1 group conv', 'BN, ReLU'],
      ['v2', 'channel shuffle', undefined, 'accent'],
      ['v3', '3×3 depthwise', 'BN'],
      ['v4', '1×1 group conv', 'BN'],
      ['v5', '+ (stride 2: concat)', 'ReLU', 'accent'],
    ],
    170,
    14,
  );
  v1.edges.push({ from: 'v0', to: 'v5', around: 'right', offset: 18, label: 'x (stride 2: 3×3 avg pool)' });
  const v2 = chain(
    700,
    10,
    [
      ['w0', 'channel split', 'half | half', 'op'],
      ['w1', '1×1 conv', 'BN, ReLU'],
      ['w2', '3×3 depthwise', 'BN'],
      ['w3', '1×1 conv', 'BN, ReLU'],
      ['w4', 'concatenate', undefined, 'accent'],
      ['w5', 'channel shuffle', '2 groups', 'accent'],
    ],
    150,
    14,
  );
  v2.edges.push({ from: 'w0', to: 'w4', around: 'right', offset: 18, label: 'other half, untouched' });
  return merge(860, { nodes, edges }, v1, v2);
};

export const DIAGRAMS = { lenet, alexnet, vgg, inception, residual, resnext, se, mobilenet, shuffle } as const;
export type DiagramKind = keyof typeof DIAGRAMS;
