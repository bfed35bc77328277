// ShuffleNetV1 (Zhang et al., 2017, https://arxiv.org/abs/1707.01083) as MMPretrain builds it: a 3x3 stride-2 stem
// to 24 x width channels, a 3x3 max pool, three stages of 4, 8 and 4 shuffle units (the first of each at stride 2,
// concatenating an average-pooled shortcut; the very first unit's 1x1 is not grouped), global pool, fc.
import type { Tensor } from '@cnn/tensor';
import { AdaptiveAvgPool2d, ConvNormAct, Flatten, Linear, MaxPool2d, Module, Sequential, ShuffleUnitV1 } from '@cnn/layers';
import {
  CLASSIFIER_OPTIONS, ImageClassifier, ModelOptionsError, WIDTH_OPTION, checkOptions, type ClassifierOptions, type OptionSpecs,
} from '@cnn/models-classic';
import { makeDivisible } from './divisible';

/** Output channels of the three stages at width 1.0, by group count (the paper's Table 1). */
export const SHUFFLENET_V1_CHANNELS = { 1: [144, 288, 576], 2: [200, 400, 800], 3: [240, 480, 960], 4: [272, 544, 1088], 8: [384, 768, 1536] } as const;
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
  ...CLASSIFIER_OPTIONS, groups: { type: 'enum', values: [1, 2, 3, 4, 8] }, widthMultiplier: WIDTH_OPTION,
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
  private fc: Linear;

  constructor(opts: ShuffleNetV1Options = {}) {
    checkOptions('shufflenet_v1', opts, SHUFFLENET_V1_OPTIONS);
    const problem = channelPlanProblem(opts.groups ?? 3, opts.widthMultiplier ?? 1);
    if (problem) throw new ModelOptionsError('shufflenet_v1', `cannot be built with groups ${opts.groups ?? 3} and widthMultiplier ${opts.widthMultiplier ?? 1}: ${problem}`, 'widthMultiplier');
    super();
    const groups = opts.groups ?? 3;
    const channels = SHUFFLENET_V1_CHANNELS[groups];
    const width = opts.widthMultiplier ?? 1;
    let c = Math.floor(24 * width);
    this.conv1 = this.registerModule('conv1', new ConvNormAct(opts.inChannels ?? 3, c, 3, { stride: 2, naming: 'named' }));
    const stages: Module[] = [];
    channels.forEach((ch, stage) => {
      const out = makeDivisible(ch * width, 8);
      const units: Module[] = [];
      for (let i = 0; i < REPEATS[stage]; i++) {
        units.push(new ShuffleUnitV1(c, out, { groups, stride: i === 0 ? 2 : 1, firstGrouped: !(stage === 0 && i === 0) }));
        c = out;
      }
      stages.push(new Sequential(...units));
    });
    this.layers = this.registerModule('layers', new Sequential(...stages));
    this.fc = this.registerModule('fc', new Linear(c, opts.numClasses ?? 1000));
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.flatten.call(this.pool.call(this.layers.call(this.maxpool.call(this.conv1.call(x)))));
  }

  forwardHead(f: Tensor): Tensor {
    return this.fc.call(f);
  }

  get classifier(): Linear {
    return this.fc;
  }

  protected replaceHead(head: Linear): void {
    this.fc = this.replaceModule('fc', head);
  }
}
