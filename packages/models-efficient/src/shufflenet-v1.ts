// ShuffleNetV1 (Zhang et al., 2017, https://arxiv.org/abs/1707.01083) as MMPretrain builds it: a 3x3 stride-2 stem
// to 24 x width channels, a 3x3 max pool, three stages of 4, 8 and 4 shuffle units (the first of each at stride 2,
// concatenating an average-pooled shortcut; the very first unit's 1x1 is not grouped), global pool, fc.
import { fusedAdd, tf, type Tensor } from '@cnn/tensor';
import {
  AdaptiveAvgPool2d,
  ConvNormAct,
  F,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  Sequential,
  batchNorm,
  type NormFactory,
} from '@cnn/layers';
import {
  CLASSIFIER_OPTIONS,
  ImageClassifier,
  ModelOptionsError,
  WIDTH_OPTION,
  checkOptions,
  registerModel,
  type ClassifierOptions,
  type ModelCard,
  type OptionSpecs,
} from '@cnn/models-classic';
import { makeDivisible } from './divisible';

/**
 * ShuffleNetV1's unit (Zhang et al., https://arxiv.org/abs/1707.01083) as MMPretrain builds it: grouped 1x1 compress,
 * 3x3 depthwise, channel shuffle, grouped 1x1 expand; added to the input then ReLU (stride 1), or ReLU then
 * concatenated after the input's 3x3 average pool (stride 2). Children and keys are MMPretrain's
 * (`g_conv_1x1_compress.conv.weight`, `depthwise_conv3x3_bn.bn.running_mean`, `g_conv_1x1_expand.conv.weight`).
 */
export class ShuffleUnitV1 extends Module {
  /** 1x1 group convolution down to a quarter of the output channels. */
  readonly compress: ConvNormAct;
  /** 3x3 depthwise convolution (carries the stride), no activation. */
  readonly depthwise: ConvNormAct;
  /** 1x1 group convolution back up: no activation at stride 1 (ReLU follows the addition), ReLU at stride 2. */
  readonly expand: ConvNormAct;
  /** 1 (residual addition) or 2 (concatenation with an average-pooled shortcut). */
  readonly stride: number;
  private readonly groups: number;

  constructor(
    inChannels: number,
    outChannels: number,
    opts: { groups: number; stride?: number; firstGrouped?: boolean; norm?: NormFactory },
  ) {
    super();
    const { groups } = opts;
    this.stride = opts.stride ?? 1;
    const norm = opts.norm ?? batchNorm();
    const branchOut = this.stride === 2 ? outChannels - inChannels : outChannels;
    if (branchOut <= 0)
      throw new Error(
        `ShuffleUnitV1: with stride 2, outChannels (${outChannels}) must exceed inChannels (${inChannels})`,
      );
    if (this.stride === 1 && inChannels !== outChannels)
      throw new Error(
        `ShuffleUnitV1: with stride 1, inChannels (${inChannels}) must equal outChannels (${outChannels})`,
      );
    const mid = Math.floor(outChannels / 4);
    const g1 = opts.firstGrouped === false ? 1 : groups;
    this.groups = groups;
    const named = { norm, naming: 'named' as const };
    this.compress = this.registerModule(
      'g_conv_1x1_compress',
      new ConvNormAct(inChannels, mid, 1, { groups: g1, ...named }),
    );
    this.depthwise = this.registerModule(
      'depthwise_conv3x3_bn',
      new ConvNormAct(mid, mid, 3, { stride: this.stride, groups: mid, act: null, ...named }),
    );
    // At stride 2 the ReLU applies to the branch alone (before the concatenation), so it is the expand's own:
    // one fused call in evaluation mode, where a ReLU pass over the branch's output took a second (a ReLU has no
    // weights: the keys are MMPretrain's either way).
    this.expand = this.registerModule(
      'g_conv_1x1_expand',
      new ConvNormAct(mid, branchOut, 1, { groups, ...(this.stride === 1 ? { act: null } : {}), ...named }),
    );
  }

  forward(x: Tensor): Tensor {
    let y = this.depthwise.call(this.compress.call(x));
    if (this.groups > 1) y = F.channelShuffle(y, this.groups);
    y = this.expand.call(y);
    if (this.stride === 1) return fusedAdd(x, y, 'relu');
    return tf.concat([F.avgPool2d(x, 3, { stride: 2, padding: 1 }), y], 3);
  }
}

/** Output channels of the three stages at width 1.0, by group count (the paper's Table 1). */
export const SHUFFLENET_V1_CHANNELS = {
  1: [144, 288, 576],
  2: [200, 400, 800],
  3: [240, 480, 960],
  4: [272, 544, 1088],
  8: [384, 768, 1536],
} as const;
const REPEATS = [4, 8, 4];

/** Options of {@link ShuffleNetV1}. */
export interface ShuffleNetV1Options extends ClassifierOptions {
  /** Groups of the 1x1 convolutions: 1, 2, 3, 4 or 8 (default 3). */
  groups?: 1 | 2 | 3 | 4 | 8;
  /** Width factor (default 1.0): 0.5, 1.0, 1.5 or 2.0 in the paper. */
  widthMultiplier?: number;
}

/** The options ShuffleNetV1 takes, with their limits. */
export const SHUFFLENET_V1_OPTIONS: OptionSpecs = {
  ...CLASSIFIER_OPTIONS,
  groups: { type: 'enum', values: [1, 2, 3, 4, 8] },
  widthMultiplier: WIDTH_OPTION,
};

/**
 * Why ShuffleNetV1 cannot be built with these groups and width (the group convolutions need channel counts the
 * groups divide), or null: the constructor's channel plan, walked without building anything.
 */
function channelPlanProblem(groups: number, width: number): string | null {
  let c = Math.floor(24 * width);
  if (c < 1) return `width ${width} leaves the stem no channels`;
  for (const [stage, ch] of SHUFFLENET_V1_CHANNELS[groups as keyof typeof SHUFFLENET_V1_CHANNELS].entries()) {
    const out = makeDivisible(ch * width, 8);
    const mid = Math.floor(out / 4);
    const first = stage === 0 ? 1 : groups;
    if (out <= c || c % first || mid % groups || (out - c) % groups || out % groups) {
      return `stage ${stage + 1} would need ${out} channels from ${c} in ${groups} groups`;
    }
    c = out;
  }
  return null;
}

/** ShuffleNetV1; `shufflenet_v1_x1_0_g3` has 1,865,728 parameters. Keys as MMPretrain's backbone (conv1.conv, layers.N.M.g_conv_1x1_compress.conv, ...) plus fc. */
export class ShuffleNetV1 extends ImageClassifier {
  /** Stem: 3x3 stride-2 convolution to 24 channels (times the width), before a 3x3 stride-2 max pool. */
  readonly conv1: ConvNormAct;
  /** The three stages of ShuffleNet units (4, 8 and 4 units), the first of each with stride 2. */
  readonly layers: Sequential;
  private readonly maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  private readonly pool = new AdaptiveAvgPool2d(1);
  private readonly flatten = new Flatten();

  constructor(opts: ShuffleNetV1Options = {}) {
    checkOptions('shufflenet_v1', opts, SHUFFLENET_V1_OPTIONS);
    const problem = channelPlanProblem(opts.groups ?? 3, opts.widthMultiplier ?? 1);
    if (problem)
      throw new ModelOptionsError(
        'shufflenet_v1',
        `cannot be built with groups ${opts.groups ?? 3} and widthMultiplier ${opts.widthMultiplier ?? 1}: ${problem}`,
        'widthMultiplier',
      );
    super();
    const groups = opts.groups ?? 3;
    const channels = SHUFFLENET_V1_CHANNELS[groups];
    const width = opts.widthMultiplier ?? 1;
    let c = Math.floor(24 * width);
    this.conv1 = this.registerModule(
      'conv1',
      new ConvNormAct(opts.inChannels ?? 3, c, 3, { stride: 2, naming: 'named' }),
    );
    const stages: Module[] = [];
    channels.forEach((ch, stage) => {
      const out = makeDivisible(ch * width, 8);
      const units: Module[] = [];
      for (let i = 0; i < REPEATS[stage]; i++) {
        units.push(
          new ShuffleUnitV1(c, out, { groups, stride: i === 0 ? 2 : 1, firstGrouped: !(stage === 0 && i === 0) }),
        );
        c = out;
      }
      stages.push(new Sequential(...units));
    });
    this.layers = this.registerModule('layers', new Sequential(...stages));
    this.registerHead('fc', new Linear(c, opts.numClasses ?? 1000));
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.flatten.call(this.pool.call(this.layers.call(this.maxpool.call(this.conv1.call(x)))));
  }
}

// ---------------------------------------------------------------------------------------------
// The registered ids: every width and group count whose channel plan the groups divide. Counts: MMPretrain's for
// x1_0_g3, scripts/count-models.py's PyTorch rebuilds for the others (test/fixtures/counts.json).

/** The ids that can be built: [width tag, width, groups, params, MACs]. */
const SHUFFLENET_V1: Array<[string, number, 1 | 2 | 3 | 4 | 8, number, number]> = [
  ['x0_5', 0.5, 1, 534_484, 38_517_408],
  ['x0_5', 0.5, 2, 644_320, 38_914_784],
  ['x0_5', 0.5, 3, 718_324, 37_589_856],
  ['x1_0', 1.0, 1, 1_531_936, 143_078_976],
  ['x1_0', 1.0, 2, 1_733_848, 140_836_512],
  ['x1_0', 1.0, 3, 1_865_728, 137_460_672],
  ['x1_0', 1.0, 4, 1_968_344, 134_339_776],
  ['x1_0', 1.0, 8, 2_434_768, 138_365_952],
  ['x1_5', 1.5, 1, 2_993_356, 313_684_704],
  ['x1_5', 1.5, 2, 3_274_180, 309_765_152],
  ['x1_5', 1.5, 3, 3_443_212, 299_612_448],
  ['x2_0', 2.0, 1, 4_918_744, 550_334_592],
  ['x2_0', 2.0, 2, 5_257_896, 539_138_624],
  ['x2_0', 2.0, 3, 5_450_776, 524_045_184],
  ['x2_0', 2.0, 4, 5_593_528, 510_289_536],
  ['x2_0', 2.0, 8, 6_522_232, 521_942_016],
];

const PAPER =
  'ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices (Zhang et al., 2017), https://arxiv.org/abs/1707.01083';

/** Each registered id with its groups, width and typed builder. */
const IDS = SHUFFLENET_V1.map(([tag, width, groups, params, macs]) => {
  const id = `shufflenet_v1_${tag}_g${groups}`;
  const card: ModelCard = {
    id,
    family: 'shufflenet',
    paper: PAPER,
    inputSize: [224, 224, 3],
    params,
    macs,
    numClasses: 1000,
  };
  // The id fixes groups and width: they are accepted only equal to the id's (so that shufflenetV1 can pass them on).
  const options: OptionSpecs = {
    ...SHUFFLENET_V1_OPTIONS,
    groups: {
      type: 'enum',
      values: [groups],
      hint: `the id fixes it: pick another shufflenet_v1_${tag}_g* id, see listModels('shufflenet_v1*')`,
    },
    widthMultiplier: {
      type: 'enum',
      values: [width],
      hint: `the id fixes it: pick another shufflenet_v1_x*_g${groups} id`,
    },
  };
  const build = registerModel(
    card,
    (o: ShuffleNetV1Options) => new ShuffleNetV1({ groups, widthMultiplier: width, ...o }),
    options,
  );
  return { id, groups, width, build };
});

/**
 * ShuffleNetV1 with `groups` (default 3) and `widthMultiplier` (default 1.0): the registered id of that pair
 * (`listModels('shufflenet_v1*')`); a pair without an id is refused with a {@link ModelOptionsError}.
 */
export function shufflenetV1(opts: ShuffleNetV1Options = {}): ShuffleNetV1 {
  checkOptions('shufflenetV1', opts, SHUFFLENET_V1_OPTIONS);
  const g = opts.groups ?? 3;
  const w = opts.widthMultiplier ?? 1;
  const entry = IDS.find((e) => e.groups === g && e.width === w);
  if (!entry) {
    throw new ModelOptionsError(
      'shufflenetV1',
      `no ShuffleNetV1 with groups ${g} and widthMultiplier ${w}; the ids are ${IDS.map((e) => e.id).join(', ')}`,
      'widthMultiplier',
    );
  }
  return entry.build(opts);
}
