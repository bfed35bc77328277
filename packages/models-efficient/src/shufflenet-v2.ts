// ShuffleNetV2 (Ma et al., 2018, https://arxiv.org/abs/1807.11164), torchvision's layout and keys: conv1 (3x3
// stride 2), max pool, stage2-4 of shuffle units (the first of each at stride 2), conv5 (1x1), global pool, fc.
import { channelShuffleConcat, tf, type Tensor } from '@cnn/tensor';
import {
  BatchNorm2d,
  Conv2d,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  batchNorm,
  type NormFactory,
} from '@cnn/layers';
import {
  CLASSIFIER_OPTIONS,
  ImageClassifier,
  ModelOptionsError,
  checkOptions,
  describeValue,
  registerModel,
  type ClassifierOptions,
  type ModelCard,
} from '@cnn/models-classic';

/**
 * ShuffleNetV2's unit (Ma et al., https://arxiv.org/abs/1807.11164), torchvision's keys: with stride 1 the input is
 * split in two channel halves and only the second goes through `branch2`; with stride 2 both `branch1` and
 * `branch2` see the whole input. The halves are concatenated and shuffled with 2 groups.
 */
export class ShuffleUnitV2 extends Module {
  /** Stride 2 only: depthwise 3x3 + 1x1 on the whole input (the shortcut side); null at stride 1. */
  readonly branch1: Sequential | null;
  /** 1x1, depthwise 3x3, 1x1 on the second half of the channels (stride 1) or the whole input (stride 2). */
  readonly branch2: Sequential;

  constructor(
    inChannels: number,
    outChannels: number,
    /** 1 (split, one branch) or 2 (both branches, size halved). */
    readonly stride: number,
    norm: NormFactory = batchNorm(),
  ) {
    super();
    if (outChannels % 2) throw new Error(`ShuffleUnitV2: outChannels must be even, got ${outChannels}`);
    const half = outChannels / 2;
    if (stride === 1 && inChannels !== outChannels)
      throw new Error(
        `ShuffleUnitV2: with stride 1, inChannels (${inChannels}) must equal outChannels (${outChannels})`,
      );
    this.branch1 =
      stride > 1
        ? this.registerModule(
            'branch1',
            new Sequential(
              new Conv2d(inChannels, inChannels, 3, { stride, padding: 1, groups: inChannels, bias: false }),
              norm(inChannels),
              new Conv2d(inChannels, half, 1, { bias: false }),
              norm(half),
              new ReLU(),
            ),
          )
        : null;
    const in2 = stride > 1 ? inChannels : half;
    this.branch2 = this.registerModule(
      'branch2',
      new Sequential(
        new Conv2d(in2, half, 1, { bias: false }),
        norm(half),
        new ReLU(),
        new Conv2d(half, half, 3, { stride, padding: 1, groups: half, bias: false }),
        norm(half),
        new Conv2d(half, half, 1, { bias: false }),
        norm(half),
        new ReLU(),
      ),
    );
  }

  // channelShuffleConcat: the concatenation and F.channelShuffle(out, 2) in one pass; at stride 1 it takes the first
  // half of the input channels from x itself.
  forward(x: Tensor): Tensor {
    if (this.branch1) return channelShuffleConcat(this.branch1.call(x), this.branch2.call(x));
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const x2 = tf.slice(x, [0, 0, 0, c / 2], [n, h, w, c / 2]);
    return channelShuffleConcat(x, this.branch2.call(x2));
  }
}

/** Output channels of conv1, stage2, stage3, stage4 and conv5, by width. */
export const SHUFFLENET_V2_CHANNELS = {
  '0.5': [24, 48, 96, 192, 1024],
  '1.0': [24, 116, 232, 464, 1024],
  '1.5': [24, 176, 352, 704, 1024],
  '2.0': [24, 244, 488, 976, 2048],
} as const;
const REPEATS = [4, 8, 4];

/** ShuffleNetV2 at width 0.5, 1.0, 1.5 or 2.0 (x1.0: 2,278,604 parameters). */
export class ShuffleNetV2 extends ImageClassifier {
  /** Stem: 3x3 stride-2 convolution + BatchNorm + ReLU. */
  readonly conv1: Sequential;
  /** Stage 2: 4 units, the first with stride 2. */
  readonly stage2: Sequential;
  /** Stage 3: 8 units, the first with stride 2. */
  readonly stage3: Sequential;
  /** Stage 4: 4 units, the first with stride 2. */
  readonly stage4: Sequential;
  /** 1x1 convolution + BatchNorm + ReLU to the last width (1024, or 2048 at 2.0x). */
  readonly conv5: Sequential;
  private readonly maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });

  constructor(width: keyof typeof SHUFFLENET_V2_CHANNELS, opts: ClassifierOptions = {}) {
    if (!Object.hasOwn(SHUFFLENET_V2_CHANNELS, width)) {
      throw new ModelOptionsError(
        'shufflenet_v2',
        `width must be '0.5', '1.0', '1.5' or '2.0', got ${describeValue(width)}`,
      );
    }
    checkOptions(`shufflenet_v2_x${width.replace('.', '_')}`, opts, CLASSIFIER_OPTIONS);
    super();
    const ch = SHUFFLENET_V2_CHANNELS[width];
    this.conv1 = this.registerModule(
      'conv1',
      new Sequential(
        new Conv2d(opts.inChannels ?? 3, ch[0], 3, { stride: 2, padding: 1, bias: false }),
        new BatchNorm2d(ch[0]),
        new ReLU(),
      ),
    );
    let c: number = ch[0];
    const stages = REPEATS.map((n, s) => {
      const units: Module[] = [];
      for (let i = 0; i < n; i++) {
        units.push(new ShuffleUnitV2(c, ch[s + 1], i === 0 ? 2 : 1));
        c = ch[s + 1];
      }
      return new Sequential(...units);
    });
    this.stage2 = this.registerModule('stage2', stages[0]);
    this.stage3 = this.registerModule('stage3', stages[1]);
    this.stage4 = this.registerModule('stage4', stages[2]);
    this.conv5 = this.registerModule(
      'conv5',
      new Sequential(new Conv2d(c, ch[4], 1, { bias: false }), new BatchNorm2d(ch[4]), new ReLU()),
    );
    this.registerHead('fc', new Linear(ch[4], opts.numClasses ?? 1000));
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.maxpool.call(this.conv1.call(x));
    for (const s of [this.stage2, this.stage3, this.stage4, this.conv5]) h = s.call(h);
    return tf.mean(h, [1, 2]);
  }
}

const card = (id: string, params: number, macs: number): ModelCard => ({
  id,
  family: 'shufflenet',
  paper:
    'ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design (Ma et al., 2018), https://arxiv.org/abs/1807.11164',
  inputSize: [224, 224, 3],
  params,
  macs,
  numClasses: 1000,
});

/** The typed builder of each width, registered as `shufflenet_v2_x0_5` ... `shufflenet_v2_x2_0` (torchvision's counts). */
const BUILDERS = {
  '0.5': registerModel(
    card('shufflenet_v2_x0_5', 1_366_792, 40_476_448),
    (o: ClassifierOptions) => new ShuffleNetV2('0.5', o),
    CLASSIFIER_OPTIONS,
  ),
  '1.0': registerModel(
    card('shufflenet_v2_x1_0', 2_278_604, 144_907_992),
    (o: ClassifierOptions) => new ShuffleNetV2('1.0', o),
    CLASSIFIER_OPTIONS,
  ),
  '1.5': registerModel(
    card('shufflenet_v2_x1_5', 3_503_624, 295_759_392),
    (o: ClassifierOptions) => new ShuffleNetV2('1.5', o),
    CLASSIFIER_OPTIONS,
  ),
  '2.0': registerModel(
    card('shufflenet_v2_x2_0', 7_393_996, 583_253_464),
    (o: ClassifierOptions) => new ShuffleNetV2('2.0', o),
    CLASSIFIER_OPTIONS,
  ),
} as const;

/** ShuffleNetV2 1.0x (`shufflenet_v2_x1_0`; the other widths: `getModel('shufflenet_v2_x0_5')`, ...). */
export const shufflenetV2 = BUILDERS['1.0'];
