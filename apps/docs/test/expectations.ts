/**
 * What every example under examples/ must print, in Node (examples.test.ts) and when its Run button
 * is clicked in the built site (browser.test.ts). Each pattern must match somewhere in the output.
 * An example file without an entry here fails the tests, so no example goes unchecked.
 */
export const EXPECTED: Record<string, RegExp[]> = {
  backend: [/^active backend: (wasm|cuda)$/m, /^device: \S.*$/m, /^SIMD: (true|false), threads: [1-9]\d*$/m],
  classify: [
    /^\d+ models in the zoo, e\.g\. mobilenet_v3_large, mobilenet_v3_small$/m,
    /^mobilenet_v3_small: [\d,]+ parameters, [\d.]+M MACs at 224x224x3$/m,
    /^input \[1, 224, 224, 3\] -> top-5 classes \[\d+(, \d+){4}\]$/m,
    /^scores \[0\.\d{5}(, 0\.\d{5}){4}\] \(random weights: close to 1\/1000\)$/m,
  ],
  'conv-seed': [
    /^F\.conv2d: +1x8x12x3 with weight 3x3x3x6 -> 1x8x12x6$/m,
    /^new Conv2d: weight 3x3x3x6, bias 6 -> 1x8x12x6$/m,
    /^parameters: 168 = /m,
    /^filter channels = input channels: true$/m,
    /^output channels = number of filters: true$/m,
  ],
  'conv-variants': [
    /^plain +-> 1x5x5x4 \(formula: 5x5\), 144 weights$/m,
    /^padding 1 +-> 1x7x7x4 \(formula: 7x7\), 144 weights$/m,
    /^stride 2 +-> 1x4x4x4 \(formula: 4x4\), 144 weights$/m,
    /^dilation 2 +-> 1x3x3x4 \(formula: 3x3\), 144 weights$/m,
    /^groups 2 +-> 1x7x7x4 \(formula: 7x7\), 72 weights$/m,
    /^depthwise +-> 1x7x7x4 \(formula: 7x7\), 36 weights$/m,
  ],
  activations: [
    /^x +-3 +-1 +0 +1 +3$/m,
    /^relu +0\.000 +0\.000 +0\.000 +1\.000 +3\.000$/m,
    /^relu6 +0\.000 +0\.000 +0\.000 +1\.000 +3\.000$/m,
    /^leakyRelu +-0\.300 +-0\.100 +0\.000 +1\.000 +3\.000$/m,
    /^elu +-0\.950 +-0\.632 +0\.000 +1\.000 +3\.000$/m,
    /^sigmoid +0\.047 +0\.269 +0\.500 +0\.731 +0\.953$/m,
    /^tanh +-0\.995 +-0\.762 +0\.000 +0\.762 +0\.995$/m,
    /^gelu +-0\.004 +-0\.159 +0\.000 +0\.841 +2\.996$/m,
    /^silu +-0\.142 +-0\.269 +0\.000 +0\.731 +2\.858$/m,
    /^hardSigmoid +0\.000 +0\.333 +0\.500 +0\.667 +1\.000$/m,
    /^hardSwish +-?0\.000 +-0\.333 +0\.000 +0\.667 +3\.000$/m,
  ],
  pooling: [
    /^input 1x8x8x1:$/m,
    /^max pool 2x2, stride 2 -> 1x4x4x1/m,
    /^ +9\.00 +9\.00 +3\.00 +4\.00$/m, // the first row of the max pool: the stripe survives
    /^ +9\.00 +3\.50 +2\.50 +3\.50$/m, // the first row of the average pool: it is diluted
    /^average pool 2x2, stride 2 -> 1x4x4x1/m,
    /^seed: F\.maxPool2d 1x4x4x1 -> 1x2x2x1, new MaxPool2d -> 1x2x2x1$/m,
  ],
  softmax: [
    /^z = \[0\.200, 0\.900, 0\.400\] -> p = \[0\.236, 0\.475, 0\.288\], nn-style \[0\.236, 0\.475, 0\.288\]$/m,
    /^row 1: \[0\.200, 0\.200, 0\.200, 0\.200, 0\.200\]$/m,
    /^row sums: \[1\.000, 1\.000, 1\.000\]$/m,
  ],
  linear: [/^flatten: 1x2x2x2 -> 1x8$/m, /^F\.linear -> 1x6, new Linear\(8, 6\) -> 1x6, 54 parameters$/m],
  'weights-roundtrip': [
    /^safetensors: 116 tensors, \d+ KiB$/m,
    /^conv1\.weight in the file \[16, 3, 3, 3\] \(OIHW\), in the model \[3, 3, 3, 16\] \(HWIO\)$/m,
    /^loaded 116 tensors, missing 0, unexpected 0$/m,
    /^max \|difference\| of the logits: before > 0, after 0$/m,
    /^MMPretrain names \(backbone\.conv1\.weight, \.\.\., head\.fc\.bias\): loaded 116 tensors$/m,
    /^5-class model: .*shape mismatch.*fc\.weight: checkpoint \[64, 10\], model \[64, 5\]/m,
  ],
  'fine-tune': [
    /^classifier: Linear\(64, 3\), weight \[64, 3\]$/m,
    /^trainable: fc\.weight, fc\.bias \(195 of 269267 parameters\)$/m,
    /^loss: 1\.\d{3}( -> \d\.\d{3}){9}$/m,
    /^loss went down: true$/m,
    /^backbone unchanged \(conv1\.weight moved by 0\)$/m,
  ],
};
