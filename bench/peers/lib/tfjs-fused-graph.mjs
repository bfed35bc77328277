// The hand-fused op graphs of ResNet-18/50 and MobileNetV2 for stock tfjs, built from a torchvision state dict:
// BatchNorm folded into each convolution's weights and bias, and one tf.fused.conv2d / tf.fused.depthwiseConv2d per
// convolution with the bias and the ReLU / ReLU6 in the same op. Residual adds (and the ReLU after one) are separate
// ops, as tfjs's fused convolution takes no residual input. Padding is PyTorch's explicit symmetric padding (tfjs's
// 'same' pads stride-2 layers differently).

const BN_EPS = 1e-5;

/**
 * @param tf the stock @tensorflow/tfjs-core module, on its wasm backend
 * @param weights Map name -> { shape, data } in PyTorch's layout (readSafetensorsF32)
 * @param model 'resnet18' | 'resnet50' | 'mobilenet_v2'
 * @returns { forward(x NHWC) -> logits, convs: number of fused conv ops per forward, dispose() }
 */
export function buildFusedGraph(tf, weights, model) {
  const held = [];
  let convs = 0;
  const get = (name) => {
    const w = weights.get(name);
    if (!w) throw new Error(`tfjs fused graph for ${model}: the state dict has no '${name}'`);
    return w;
  };
  // Which convolutions are depthwise (MobileNetV2's 3x3s; ResNets have none), named before they are folded.
  const depthwiseNames = new Set();
  const keep = (t) => {
    held.push(t);
    return t;
  };

  /** A convolution with its BatchNorm folded in: { filter (HWIO or HWC1), bias, stride, pad, depthwise }. */
  function folded(conv, bn, stride) {
    const w = get(`${conv}.weight`);
    const [out, inPerGroup, kh, kw] = w.shape;
    const gamma = get(`${bn}.weight`).data;
    const beta = get(`${bn}.bias`).data;
    const mean = get(`${bn}.running_mean`).data;
    const variance = get(`${bn}.running_var`).data;
    const scale = new Float32Array(out);
    const bias = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      scale[o] = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
      bias[o] = beta[o] - mean[o] * scale[o];
    }
    const depthwise = depthwiseNames.has(conv);
    const filter = new Float32Array(w.data.length);
    if (depthwise) {
      // [C, 1, kh, kw] -> [kh, kw, C, 1]
      for (let o = 0; o < out; o++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) filter[(y * kw + x) * out + o] = w.data[(o * kh + y) * kw + x] * scale[o];
    } else {
      // [O, I, kh, kw] -> [kh, kw, I, O]
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inPerGroup; i++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++)
              filter[((y * kw + x) * inPerGroup + i) * out + o] =
                w.data[((o * inPerGroup + i) * kh + y) * kw + x] * scale[o];
    }
    return {
      filter: keep(tf.tensor4d(filter, depthwise ? [kh, kw, out, 1] : [kh, kw, inPerGroup, out])),
      bias: keep(tf.tensor1d(bias)),
      stride,
      pad: (kh - 1) >> 1,
      depthwise,
    };
  }

  function apply(layer, x, activation) {
    convs++;
    const args = { x, filter: layer.filter, strides: layer.stride, pad: layer.pad, bias: layer.bias, activation };
    return layer.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
  }

  let forwardBody;
  let fcName;
  if (model === 'resnet18' || model === 'resnet50') {
    const bottleneck = model === 'resnet50';
    const depths = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2];
    const stem = folded('conv1', 'bn1', 2);
    const blocks = [];
    for (let l = 0; l < 4; l++) {
      for (let b = 0; b < depths[l]; b++) {
        const p = `layer${l + 1}.${b}`;
        const stride = l > 0 && b === 0 ? 2 : 1;
        const convsOf = bottleneck
          ? [
              folded(`${p}.conv1`, `${p}.bn1`, 1),
              folded(`${p}.conv2`, `${p}.bn2`, stride),
              folded(`${p}.conv3`, `${p}.bn3`, 1),
            ]
          : [folded(`${p}.conv1`, `${p}.bn1`, stride), folded(`${p}.conv2`, `${p}.bn2`, 1)];
        const down = weights.has(`${p}.downsample.0.weight`)
          ? folded(`${p}.downsample.0`, `${p}.downsample.1`, stride)
          : undefined;
        blocks.push({ convs: convsOf, down });
      }
    }
    fcName = 'fc';
    forwardBody = (x) => {
      let h = apply(stem, x, 'relu');
      h = tf.maxPool(h, 3, 2, 1);
      for (const blk of blocks) {
        let y = h;
        for (let i = 0; i < blk.convs.length; i++)
          y = apply(blk.convs[i], y, i === blk.convs.length - 1 ? 'linear' : 'relu');
        const shortcut = blk.down ? apply(blk.down, h, 'linear') : h;
        h = tf.relu(tf.add(y, shortcut));
      }
      return tf.mean(h, [1, 2]);
    };
  } else if (model === 'mobilenet_v2') {
    // torchvision's inverted-residual settings: expansion t, channels c, repeats n, first stride s.
    const settings = [
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ];
    const stem = folded('features.0.0', 'features.0.1', 2);
    const blocks = [];
    let inC = 32;
    let idx = 1;
    for (const [t, c, n, s] of settings) {
      for (let i = 0; i < n; i++, idx++) {
        const p = `features.${idx}.conv`;
        const stride = i === 0 ? s : 1;
        const layers = [];
        let j = 0;
        if (t !== 1) {
          layers.push({ layer: folded(`${p}.0.0`, `${p}.0.1`, 1), act: 'relu6' });
          j = 1;
        }
        depthwiseNames.add(`${p}.${j}.0`);
        layers.push({ layer: folded(`${p}.${j}.0`, `${p}.${j}.1`, stride), act: 'relu6' });
        layers.push({ layer: folded(`${p}.${j + 1}`, `${p}.${j + 2}`, 1), act: 'linear' });
        blocks.push({ layers, residual: stride === 1 && inC === c });
        inC = c;
      }
    }
    const head = folded(`features.${idx}.0`, `features.${idx}.1`, 1);
    fcName = 'classifier.1';
    forwardBody = (x) => {
      let h = apply(stem, x, 'relu6');
      for (const blk of blocks) {
        let y = h;
        for (const { layer, act } of blk.layers) y = apply(layer, y, act);
        h = blk.residual ? tf.add(h, y) : y;
      }
      h = apply(head, h, 'relu6');
      return tf.mean(h, [1, 2]);
    };
  } else {
    throw new Error(`tfjs fused graph: no graph written for '${model}' (only resnet18, resnet50, mobilenet_v2)`);
  }

  const fcW = get(`${fcName}.weight`); // [classes, features]
  const fcWeight = keep(tf.tensor2d(fcW.data, fcW.shape));
  const fcBias = keep(tf.tensor1d(get(`${fcName}.bias`).data));

  return {
    forward(x) {
      convs = 0;
      // The classifier as matMul + add: stock tfjs-wasm 4.22's fused.matMul with transposeB gave resnet18 logits
      // 3 % off here (its convolutions matched the cpu backend's to 1e-4), so it is not used.
      return tf.tidy(() => tf.add(tf.matMul(forwardBody(x), fcWeight, false, true), fcBias));
    },
    get convs() {
      return convs;
    },
    dispose() {
      for (const t of held) t.dispose();
    },
  };
}
