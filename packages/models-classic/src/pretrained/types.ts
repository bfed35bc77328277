// What one published ImageNet weights file is, as data: where it comes from, how to check it, how to load it and how
// to feed it. The table (`table.ts`) holds one entry per published file; the key maps (`keymaps.ts`) are referred to by
// name so that the table stays plain data.

/** The evaluation preprocessing a weights file was published with (resize the short side, centre-crop, normalise). */
export interface PretrainedPreprocess {
  /** Short side after resizing, in pixels. */
  resize: number;
  /** Side of the centre crop, in pixels. */
  crop: number;
  /** Resize interpolation. */
  interpolation: 'bilinear' | 'bicubic';
  /** Per-channel mean subtracted from [0, 1] pixels (RGB). */
  mean: readonly [number, number, number];
  /** Per-channel standard deviation the pixels are divided by (RGB). */
  std: readonly [number, number, number];
}

/** One published weights file for a zoo id. */
export interface PretrainedEntry {
  /** Zoo id the weights are for (`resnet50`). */
  id: string;
  /** The weights' name, unique per id (`IMAGENET1K_V1`, `IMAGENET1K_V2`, `mmpretrain`). */
  name: string;
  /** Who publishes the file. */
  source: 'torchvision' | 'mmpretrain';
  /** Dataset the weights were trained on. */
  dataset: 'imagenet-1k';
  /** Where the file is downloaded from. */
  url: string;
  /** File name (the last part of `url`). */
  file: string;
  /** The leading hex digits of the file's SHA-256 (8, or more where the publisher puts more), as in the file name. */
  sha256Prefix: string;
  /** Name of the key map in `keymaps.ts` that turns the file's keys into the model's. */
  keyMap: string;
  /** The weights' license, as the publisher states it. */
  license: string;
  /** Published top-1 accuracy on ImageNet-1k val, in percent. */
  top1: number;
  /** Published top-5 accuracy on ImageNet-1k val, in percent. */
  top5: number;
  /** Evaluation preprocessing. */
  preprocess: PretrainedPreprocess;
  /** Options the model is built with for these weights, beyond `numClasses: 1000` (GoogLeNet: `transformInput`). */
  modelOptions?: Readonly<Record<string, unknown>>;
  /**
   * True when the key map was tested against the file's real layout (keys and shapes read from the upstream model
   * definition by a committed script); false when the layout could only be rebuilt by hand.
   */
  verified: boolean;
}
