// ShuffleNetV2 (Ma et al., 2018, https://arxiv.org/abs/1807.11164), torchvision's layout and keys: conv1 (3x3
// stride 2), max pool, stage2-4 of shuffle units (the first of each at stride 2), conv5 (1x1), global pool, fc.
import { tf, type Tensor } from '@cnn/tensor';
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential, ShuffleUnitV2 } from '@cnn/layers';
import { CLASSIFIER_OPTIONS, ImageClassifier, ModelOptionsError, checkOptions, describeValue, type ClassifierOptions } from '@cnn/models-classic';

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
  private fc: Linear;

  constructor(width: keyof typeof SHUFFLENET_V2_CHANNELS, opts: ClassifierOptions = {}) {
    if (!Object.prototype.hasOwnProperty.call(SHUFFLENET_V2_CHANNELS, width)) {
      throw new ModelOptionsError('shufflenet_v2', `width must be '0.5', '1.0', '1.5' or '2.0', got ${describeValue(width)}`);
    }
    checkOptions(`shufflenet_v2_x${width.replace('.', '_')}`, opts, CLASSIFIER_OPTIONS);
    super();
    const ch = SHUFFLENET_V2_CHANNELS[width];
    this.conv1 = this.registerModule('conv1', new Sequential(new Conv2d(opts.inChannels ?? 3, ch[0], 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(ch[0]), new ReLU()));
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
    this.conv5 = this.registerModule('conv5', new Sequential(new Conv2d(c, ch[4], 1, { bias: false }), new BatchNorm2d(ch[4]), new ReLU()));
    this.fc = this.registerModule('fc', new Linear(ch[4], opts.numClasses ?? 1000));
  }

  forwardFeatures(x: Tensor): Tensor {
    let h = this.maxpool.call(this.conv1.call(x));
    for (const s of [this.stage2, this.stage3, this.stage4, this.conv5]) h = s.call(h);
    return tf.mean(h, [1, 2]);
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
