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
  'train-lenet': [
    /^backend: wasm, SIMD (true|false), threads [1-9]\d*$/m,
    /^lenet5: 61,706 parameters, trained on 320 images in 10 steps$/m,
    /^loss over the first 3 steps \d\.\d{3}, over the last 3 \d\.\d{3}: falling true$/m,
    /^test: 200 images, top-1 0\.\d{3}, confusion matrix 10x10$/m,
    /^conv1: 6 filters of 5x5, feature maps 6x28x28$/m,
    /^predictions for 4 test images: 4, in under a minute$/m,
  ],
  'gradient-descent': [
    /^90 points in 3 classes; classifier z = x·W \+ b with W 2x3 and b 3 \(9 parameters\)$/m,
    /^step +0: loss 1\.0986, accuracy 0\.333$/m,
    /^step +1: loss 1\.02\d\d, accuracy 0\.\d{3}$/m,
    /^step 100: loss 0\.3\d{3}, accuracy 0\.8\d\d$/m,
    /^the loss fell at every step: true; it started at ln 3 = 1\.0986/m,
    /^crossEntropy\(z, labels\) = (\d\.\d{4}) \(the formula: \1\)$/m,
  ],
  backprop: [
    /^forward: +a1 = x·W1 \+ b1 = \[ 0\.200000,-1\.200000\] +h = σ\(a1\) = \[ 0\.5498\d\d, 0\.2314\d\d\]$/m,
    /^ +a2 = h·W2 \+ b2 = +0\.2959\d\d +y = σ\(a2\) = +0\.5734\d\d +L = ½\(y − t\)² = +0\.0909\d\d$/m,
    /^backward: ∂L\/∂y += y − t += -0\.4265\d\d$/m,
    /^ +∂L\/∂W2 = h · ∂L\/∂a2 += \[-0\.0573\d\d,-0\.0241\d\d\] +∂L\/∂b2 = -0\.1043\d\d$/m,
    /^ +∂L\/∂W1 = xᵀ · ∂L\/∂a1 += \[-0\.0180\d\d, 0\.0111\d\d\] \[ 0\.0361\d\d,-0\.0222\d\d\]/m,
    /^tf\.grads: ∂L\/∂W2 = \[-0\.0573\d\d,-0\.0241\d\d\] +∂L\/∂b2 = -0\.1043\d\d$/m,
    /^ +∂L\/∂W1 = \[-0\.0180\d\d, 0\.0111\d\d\] \[ 0\.0361\d\d,-0\.0222\d\d\]/m,
    /^largest difference between the chain rule and tf\.grads: \d\.\de[-+]\d+ \(float32\): agree true$/m,
  ],
  xor: [
    /^linear 2-2 \(no hidden layer\): loss \d\.\d{3} -> 0\.69\d after 300 steps$/m,
    /^MLP 2-4-2 \(tanh\): loss \d\.\d{3} -> 0\.0\d\d after 300 steps$/m,
    /^ +P\(class 1\) at \(0,0\) \(0,1\) \(1,0\) \(1,1\): 0\.0\d 1\.00 1\.00 0\.0\d -> \[0, 1, 1, 0\], 4\/4 right$/m,
  ],
  approximation: [
    /^ 1 hidden units \(4 weights\): mean squared error 0\.[45]\d{3}$/m,
    /^ 2 hidden units \(7 weights\): mean squared error 0\.\d{4}$/m,
    /^16 hidden units \(49 weights\): mean squared error 0\.0\d{3}$/m,
    /^the widest fits [1-9]\d+ times better than a single unit$/m,
  ],
  'fc-vs-conv': [
    /^3x3 convolution on a 5x5 image -> 3x3 output, as a 9x25 matrix \(· = 0\):$/m,
    /^  1 2 3 · · 4 5 6 · · 7 8 9 · · · · · · · · · · · ·$/m,
    /^  · · · · · 1 2 3 · · 4 5 6 · · 7 8 9 · · · · · · ·$/m,
    /^  · · · · · · · · · · · · 1 2 3 · · 4 5 6 · · 7 8 9$/m,
    /^locality: 81 of 225 entries are not zero; weight sharing: they take 9 distinct values$/m,
    /^matrix · x equals conv2d\(x\): true$/m,
    /^  5x5x1 -> 3x3x1 +234 +10$/m,
    /^  8x12x3 -> 8x12x6 \(the seed\) +166,464 +168$/m,
    /^  224x224x3 -> 224x224x64 +483,388,358,656 +1,792$/m,
  ],
  'pooling-image': [
    /^test image 0 of the sample \("Ankle boot"\): 28x28, mean brightness 0\.167$/m,
    /^once  -> 14x14: max pool mean 0\.216, average pool mean 0\.167$/m,
    /^twice -> 7x7: max pool mean 0\.335, average pool mean 0\.167$/m,
    /^average pooling keeps the mean brightness: true$/m,
    /^max pooling keeps the brightest pixel: 1\.000 \(original 1\.000, average pooled 0\.638\)$/m,
  ],
  batchnorm: [
    /^BatchNorm2d\(3\): 6 parameters \(γ and β per channel\), running mean \[0\.000, 0\.000, 0\.000\] and variance \[1\.000, 1\.000, 1\.000\] \(buffers\)$/m,
    /^input 8x4x4x3, per channel over 8·4·4 = 128 values: mean \[4\.\d{3}, -1\.9\d{2}, 10\.\d{3}\], std \[/m,
    /^train mode output: mean \[0\.000, 0\.000, 0\.000\], std \[1\.000, 1\.000, 1\.000\]$/m,
    /^after 1 step: running mean \[0\.4\d{2}, -0\.19\d, 1\.0\d{2}\] = 0\.9·0 \+ 0\.1·batch mean$/m,
    /^eval mode output after 1 step: mean \[3\.\d{3}, -1\.\d{3}, 5\.\d{3}\]/m,
    /^after 100 steps: running mean \[4\.9\d{2}, -1\.99\d, 10\.0\d{2}\], eval mode output: mean \[-?0\.0\d{2}, -?0\.0\d{2}, -?0\.0\d{2}\], std \[[01]\.\d{3}, [01]\.\d{3}, [01]\.\d{3}\]$/m,
  ],
};
