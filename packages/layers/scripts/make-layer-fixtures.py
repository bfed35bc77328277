#!/usr/bin/env python3
"""Reference outputs of every function, layer and block of @cnn/layers, and of the model families' blocks, from PyTorch.

Run with Debian's PyTorch and torchvision (the `python3` on PATH may have no torch):

    /usr/bin/python3 packages/layers/scripts/make-layer-fixtures.py

Writes, next to the tests:

  test/fixtures/layers/cases.json  the case list: for each case what to call, its inputs, the state dict
                                   (PyTorch keys and layouts) and where its outputs lie in cases.bin
  test/fixtures/layers/cases.bin   float32 little-endian outputs, NHWC (channels last), concatenated

and, in the same format, the cases of the blocks that belong to one model family next to that family's tests:

  packages/models-classic/test/fixtures/blocks/resnet.{json,bin}        BasicBlock, Bottleneck
  packages/models-classic/test/fixtures/blocks/googlenet.{json,bin}     Inception
  packages/models-efficient/test/fixtures/blocks/mobilenet.{json,bin}   DepthwiseSeparable, InvertedResidual
  packages/models-efficient/test/fixtures/blocks/shufflenet.{json,bin}  ShuffleUnitV1, ShuffleUnitV2

Inputs and weights are not stored. Every tensor is `spec(shape, seed, scale, offset)`:

    value(i, seed) = an integer hash of (flat index i, seed) whose top 24 bits give a multiple of 2^-24
                     in [-0.5, 0.5), exactly a float32 (the formula of packages/tensor/scripts/make-fixtures.py)
    element i      = float32(value(i, seed) * scale + offset), computed in float64 then rounded once

which test/parity.test.ts computes bit for bit the same way. Input tensors are generated in NHWC order (the
TypeScript side's layout) and permuted to NCHW here; state-dict tensors are generated in PyTorch's layout
(OIHW conv weights, [out, in] linear weights), flat index over that layout, with

    seed = fnv1a32(case name + '/' + key)

so the test regenerates the PyTorch state dict and loads it with `loadTorchState`, which also proves the key
names. num_batches_tracked (int64 in PyTorch) is a plain number in the JSON.

Everything is computed in float64 and the outputs cast to float32. Blocks are the real torchvision modules where
torchvision has them, small rebuilds otherwise (SE-Bottleneck, DepthwiseSeparable, MMPretrain's ShuffleUnit).
"""
import importlib
import json
import math
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import mobilenetv2 as tv_mbv2
from torchvision.models import mobilenetv3 as tv_mbv3
from torchvision.models import resnet as tv_resnet
from torchvision.models import shufflenetv2 as tv_shufflenetv2
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'test-support'))
from fixtures import fnv1a, pair, realise, values  # noqa: E402

# `from torchvision.models import googlenet` gives the model function, not the module.
tv_googlenet = importlib.import_module('torchvision.models.googlenet')

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'layers')

torch.set_default_dtype(torch.float64)


# ----------------------------------------------------------------------------------------------
# The shared formula


def spec(shape, seed, scale=1.0, offset=0.0):
    return dict(shape=list(shape), seed=int(seed), scale=float(scale), offset=float(offset))


def realise_spec(sp):
    """The float64 numpy array of a spec (values exactly the float32 the TS side makes)."""
    return realise(sp['shape'], sp['seed'], sp['scale'], sp['offset'])


def nhwc_to_nchw(t):
    return t.permute(0, 3, 1, 2).contiguous() if t.dim() == 4 else t


def nchw_to_nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t


# ----------------------------------------------------------------------------------------------
# Functional cases: op name + args (TypeScript's names) + input specs


def conv_sides(pad, h, w, kh, kw, s, d):
    """Per-side padding [[top, bottom], [left, right]]; 'same' follows TensorFlow (the odd pixel after)."""
    eff = [(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1]
    size = [h, w]
    if pad == 'valid':
        return [[0, 0], [0, 0]]
    if pad == 'same':
        out = []
        for a in range(2):
            o = -(-size[a] // s[a])
            total = max((o - 1) * s[a] + eff[a] - size[a], 0)
            out.append([total // 2, total - total // 2])
        return out
    if isinstance(pad, int):
        return [[pad, pad], [pad, pad]]
    if isinstance(pad[0], int):
        return [[pad[0], pad[0]], [pad[1], pad[1]]]
    return [list(pad[0]), list(pad[1])]


def f_conv2d(ins, a):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    s, d = pair(a.get('stride', 1)), pair(a.get('dilation', 1))
    kh, kw = w.shape[0], w.shape[1]
    (t, bo), (l, r) = conv_sides(a.get('padding', 0), x.shape[1], x.shape[2], kh, kw, s, d)
    xp = F.pad(nhwc_to_nchw(x), (l, r, t, bo))
    y = F.conv2d(xp, w.permute(3, 2, 0, 1), b, stride=tuple(s), dilation=tuple(d), groups=a.get('groups', 1))
    return nchw_to_nhwc(y)


def f_linear(ins, a):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    return F.linear(x, w.t(), b)


def pool_args(a):
    k = pair(a['kernelSize'])
    s = pair(a['stride']) if 'stride' in a else k
    p = pair(a.get('padding', 0))
    return tuple(k), tuple(s), tuple(p)


def f_maxpool(ins, a):
    k, s, p = pool_args(a)
    return nchw_to_nhwc(F.max_pool2d(nhwc_to_nchw(ins[0]), k, s, p, ceil_mode=a.get('ceilMode', False)))


def f_avgpool(ins, a):
    k, s, p = pool_args(a)
    y = F.avg_pool2d(nhwc_to_nchw(ins[0]), k, s, p, ceil_mode=a.get('ceilMode', False),
                     count_include_pad=a.get('countIncludePad', True))
    return nchw_to_nhwc(y)


def f_adaptive(ins, a):
    return nchw_to_nhwc(F.adaptive_avg_pool2d(nhwc_to_nchw(ins[0]), tuple(pair(a['outputSize']))))


def f_batchnorm(ins, a):
    x, mean, var = ins[0], ins[1], ins[2]
    weight = ins[3] if a.get('affine', True) else None
    bias = ins[4] if a.get('affine', True) else None
    y = F.batch_norm(nhwc_to_nchw(x), mean, var, weight, bias, training=False, eps=a.get('eps', 1e-5))
    return nchw_to_nhwc(y)


def f_lrn(ins, a):
    y = F.local_response_norm(nhwc_to_nchw(ins[0]), a['size'], alpha=a.get('alpha', 1e-4), beta=a.get('beta', 0.75),
                              k=a.get('k', 1.0))
    return nchw_to_nhwc(y)


NHWC_TO_NCHW_DIM = {0: 0, 1: 2, 2: 3, 3: 1}


def torch_dim(x, dim):
    d = dim % x.dim()
    return NHWC_TO_NCHW_DIM[d] if x.dim() == 4 else d


def f_softmax(ins, a, log=False):
    x = ins[0]
    d = torch_dim(x, a.get('dim', -1))
    y = (F.log_softmax if log else F.softmax)(nhwc_to_nchw(x), dim=d)
    return nchw_to_nhwc(y)


def f_channel_shuffle(ins, a):
    return nchw_to_nhwc(tv_shufflenetv2.channel_shuffle(nhwc_to_nchw(ins[0]), a['groups']))


def f_pad(ins, a):
    p = a['padding']
    if isinstance(p, int):
        (t, b), (l, r) = (p, p), (p, p)
    elif isinstance(p[0], int):
        (t, b), (l, r) = (p[0], p[0]), (p[1], p[1])
    else:
        (t, b), (l, r) = p
    return nchw_to_nhwc(F.pad(nhwc_to_nchw(ins[0]), (l, r, t, b), value=a.get('value', 0.0)))


def f_concat(ins, a):
    d = torch_dim(ins[0], a.get('dim', -1))
    return nchw_to_nhwc(torch.cat([nhwc_to_nchw(t) for t in ins], d))


def f_flatten(ins, a):
    # NHWC flatten: the TS side's layout (PyTorch flattens C-H-W; the Linear(flattenedFrom) layer case covers that).
    return ins[0].flatten(a.get('startDim', 1))


def act(fn):
    return lambda ins, a: nchw_to_nhwc(fn(nhwc_to_nchw(ins[0])))


FNS = {
    'conv2d': f_conv2d,
    'linear': f_linear,
    'maxPool2d': f_maxpool,
    'avgPool2d': f_avgpool,
    'adaptiveAvgPool2d': f_adaptive,
    'globalAvgPool': lambda ins, a: ins[0].mean(dim=(1, 2)),
    'batchNorm': f_batchnorm,
    'localResponseNorm': f_lrn,
    'dropout': lambda ins, a: F.dropout(ins[0], a['p'], training=False),
    'flatten': f_flatten,
    'softmax': f_softmax,
    'logSoftmax': partial(f_softmax, log=True),
    'relu': act(F.relu),
    'relu6': act(F.relu6),
    'leakyRelu': lambda ins, a: F.leaky_relu(ins[0], a.get('negativeSlope', 0.01)),
    'elu': lambda ins, a: F.elu(ins[0], a.get('alpha', 1.0)),
    'sigmoid': act(torch.sigmoid),
    'tanh': act(torch.tanh),
    'gelu': act(F.gelu),
    'silu': act(F.silu),
    'hardSigmoid': act(F.hardsigmoid),
    'hardSwish': act(F.hardswish),
    'channelShuffle': f_channel_shuffle,
    'pad': f_pad,
    'concat': f_concat,
}


def FN(name, op, inputs, **args):
    """inputs: list of (shape, scale, offset) or shape; seeds come from the case name."""
    specs = []
    for j, inp in enumerate(inputs):
        shape, scale, offset = (inp, 1.0, 0.0) if isinstance(inp[0], int) else (inp[0], inp[1], inp[2] if len(inp) > 2 else 0.0)
        specs.append(spec(shape, fnv1a(f'{name}/input{j}'), scale, offset))
    return dict(name=name, kind='fn', op=op, args=args, inputs=specs)


X = lambda shape, scale=1.0, offset=0.0: (list(shape), scale, offset)  # noqa: E731
POS = lambda shape: (list(shape), 0.5, 0.75)  # noqa: E731  [0.5, 1.0): variances

FN_CASES = [
    # conv2d: x NHWC, w HWIO [kh, kw, in/groups, out], optional bias
    FN('conv2d 3x3 pad 1 bias', 'conv2d', [[2, 6, 7, 3], [3, 3, 3, 5], [5]], padding=1),
    FN('conv2d stride 2 pad 1 even input', 'conv2d', [[1, 8, 8, 4], [3, 3, 4, 6]], stride=2, padding=1),
    FN('conv2d stride 2 pad 1 odd input', 'conv2d', [[1, 7, 9, 4], [3, 3, 4, 6], [6]], stride=2, padding=1),
    FN('conv2d stride 2 pad 0', 'conv2d', [[1, 9, 8, 3], [3, 3, 3, 4]], stride=2),
    FN('conv2d 7x7 stride 2 pad 3 (stem)', 'conv2d', [[1, 12, 11, 3], [7, 7, 3, 8], [8]], stride=2, padding=3),
    FN('conv2d 1x1 stride 2 (downsample)', 'conv2d', [[2, 7, 7, 8], [1, 1, 8, 16]], stride=2),
    FN('conv2d same 3x3', 'conv2d', [[1, 7, 8, 3], [3, 3, 3, 4], [4]], padding='same'),
    FN('conv2d same 4x4 even kernel', 'conv2d', [[1, 7, 8, 3], [4, 4, 3, 4]], padding='same'),
    FN('conv2d same stride 2', 'conv2d', [[1, 7, 8, 4], [3, 3, 4, 5]], stride=2, padding='same'),
    FN('conv2d valid', 'conv2d', [[1, 6, 6, 3], [3, 3, 3, 4]], padding='valid'),
    FN('conv2d padding [h, w]', 'conv2d', [[1, 6, 7, 3], [3, 5, 3, 4]], padding=[1, 2]),
    FN('conv2d per-side padding, 2x3 kernel, stride [2, 1]', 'conv2d', [[1, 7, 8, 3], [2, 3, 3, 4]], stride=[2, 1],
       padding=[[1, 0], [2, 1]]),
    FN('conv2d groups 2', 'conv2d', [[1, 6, 6, 4], [3, 3, 2, 6], [6]], padding=1, groups=2),
    FN('conv2d groups 4 stride 2', 'conv2d', [[2, 7, 7, 8], [3, 3, 2, 8]], stride=2, padding=1, groups=4),
    FN('conv2d depthwise', 'conv2d', [[1, 6, 6, 4], [3, 3, 1, 4], [4]], padding=1, groups=4),
    FN('conv2d depthwise multiplier 2 stride 2', 'conv2d', [[1, 7, 7, 4], [3, 3, 1, 8]], stride=2, padding=1, groups=4),
    FN('conv2d dilation 2', 'conv2d', [[1, 9, 9, 3], [3, 3, 3, 4], [4]], padding=2, dilation=2),
    FN('conv2d dilation [2, 1] same', 'conv2d', [[1, 8, 9, 3], [3, 3, 3, 4]], padding='same', dilation=[2, 1]),
    FN('conv2d stride 2 dilation 2 (wasm only)', 'conv2d', [[1, 9, 9, 3], [3, 3, 3, 4]], stride=2, padding=2, dilation=2),
    # linear: w [in, out]
    FN('linear bias', 'linear', [[3, 8], [8, 6], [6]]),
    FN('linear no bias', 'linear', [[4, 10], [10, 5]]),
    FN('linear rank 3 input', 'linear', [[2, 3, 8], [8, 6], [6]]),
    # maxPool2d
    FN('maxPool2d 2', 'maxPool2d', [[2, 8, 7, 3]], kernelSize=2),
    FN('maxPool2d 3 stride 2 pad 1', 'maxPool2d', [[1, 8, 9, 3]], kernelSize=3, stride=2, padding=1),
    FN('maxPool2d 3 stride 2 ceilMode', 'maxPool2d', [[1, 8, 8, 3]], kernelSize=3, stride=2, ceilMode=True),
    FN('maxPool2d 3 stride 2 pad 1 ceilMode', 'maxPool2d', [[1, 8, 7, 3]], kernelSize=3, stride=2, padding=1, ceilMode=True),
    FN('maxPool2d 2 stride 2 pad 1 ceilMode (last window dropped)', 'maxPool2d', [[1, 5, 5, 2]], kernelSize=2, stride=2,
       padding=1, ceilMode=True),
    FN('maxPool2d 3 stride 1 pad 1 ceilMode', 'maxPool2d', [[1, 6, 6, 3]], kernelSize=3, stride=1, padding=1, ceilMode=True),
    FN('maxPool2d [2, 3] stride [1, 2] pad [1, 1]', 'maxPool2d', [[1, 6, 7, 2]], kernelSize=[2, 3], stride=[1, 2], padding=[1, 1]),
    FN('maxPool2d negative input with padding', 'maxPool2d', [X([1, 5, 5, 2], 1.0, -1.0)], kernelSize=3, stride=2, padding=1),
    # avgPool2d
    FN('avgPool2d 2', 'avgPool2d', [[2, 8, 7, 3]], kernelSize=2),
    FN('avgPool2d 3 stride 2 pad 1 countIncludePad', 'avgPool2d', [[1, 8, 9, 3]], kernelSize=3, stride=2, padding=1),
    FN('avgPool2d 3 stride 2 pad 1 exclude pad', 'avgPool2d', [[1, 8, 9, 3]], kernelSize=3, stride=2, padding=1,
       countIncludePad=False),
    FN('avgPool2d 3 stride 2 ceilMode', 'avgPool2d', [[1, 8, 8, 3]], kernelSize=3, stride=2, ceilMode=True),
    FN('avgPool2d 3 stride 2 ceilMode exclude pad', 'avgPool2d', [[1, 8, 8, 3]], kernelSize=3, stride=2, ceilMode=True,
       countIncludePad=False),
    FN('avgPool2d 3 stride 2 pad 1 ceilMode', 'avgPool2d', [[1, 8, 7, 3]], kernelSize=3, stride=2, padding=1, ceilMode=True),
    FN('avgPool2d 3 stride 2 pad 1 ceilMode exclude pad', 'avgPool2d', [[1, 8, 7, 3]], kernelSize=3, stride=2, padding=1,
       ceilMode=True, countIncludePad=False),
    FN('avgPool2d 2 stride 2 pad 1 ceilMode', 'avgPool2d', [[1, 5, 5, 2]], kernelSize=2, stride=2, padding=1, ceilMode=True),
    FN('avgPool2d 2 stride 2 pad 1 ceilMode exclude pad', 'avgPool2d', [[1, 5, 5, 2]], kernelSize=2, stride=2, padding=1,
       ceilMode=True, countIncludePad=False),
    FN('avgPool2d [3, 2] stride [2, 1] pad [1, 0] exclude pad', 'avgPool2d', [[1, 7, 6, 2]], kernelSize=[3, 2],
       stride=[2, 1], padding=[1, 0], countIncludePad=False),
    FN('avgPool2d 3 stride 2 pad 1 (ShuffleNetV1 shortcut)', 'avgPool2d', [[1, 7, 7, 4]], kernelSize=3, stride=2, padding=1),
    # adaptiveAvgPool2d
    FN('adaptiveAvgPool2d 13 -> 6', 'adaptiveAvgPool2d', [[1, 13, 13, 3]], outputSize=6),
    FN('adaptiveAvgPool2d 7 -> 3', 'adaptiveAvgPool2d', [[2, 7, 7, 3]], outputSize=3),
    FN('adaptiveAvgPool2d 5 -> 2', 'adaptiveAvgPool2d', [[1, 5, 5, 4]], outputSize=2),
    FN('adaptiveAvgPool2d 3 -> 5 (up)', 'adaptiveAvgPool2d', [[1, 3, 3, 3]], outputSize=5),
    FN('adaptiveAvgPool2d 4 -> 7 (up)', 'adaptiveAvgPool2d', [[1, 4, 4, 2]], outputSize=7),
    FN('adaptiveAvgPool2d [5, 7] -> [2, 3]', 'adaptiveAvgPool2d', [[1, 5, 7, 3]], outputSize=[2, 3]),
    FN('adaptiveAvgPool2d [6, 4] -> [3, 8] (down and up)', 'adaptiveAvgPool2d', [[1, 6, 4, 2]], outputSize=[3, 8]),
    FN('adaptiveAvgPool2d -> 1', 'adaptiveAvgPool2d', [[2, 5, 6, 3]], outputSize=1),
    FN('adaptiveAvgPool2d same size', 'adaptiveAvgPool2d', [[1, 4, 5, 3]], outputSize=[4, 5]),
    FN('globalAvgPool', 'globalAvgPool', [[2, 5, 6, 4]]),
    # batchNorm (eval, given statistics): x, mean, variance, weight, bias
    FN('batchNorm', 'batchNorm', [[2, 4, 5, 6], X([6], 0.5), POS([6]), X([6], 0.5, 1.0), X([6], 0.5)]),
    FN('batchNorm eps 1e-3', 'batchNorm', [[1, 3, 3, 5], X([5], 0.5), X([5], 0.01, 0.005), X([5], 0.5, 1.0), X([5], 0.5)],
       eps=1e-3),
    FN('batchNorm no affine', 'batchNorm', [[1, 3, 4, 5], X([5], 0.5), POS([5])], affine=False),
    FN('batchNorm rank 2', 'batchNorm', [[4, 6], X([6], 0.5), POS([6]), X([6], 0.5, 1.0), X([6], 0.5)]),
    # localResponseNorm
    FN('localResponseNorm size 5 (defaults)', 'localResponseNorm', [X([1, 3, 4, 8], 8.0)], size=5),
    FN('localResponseNorm size 5 AlexNet-like', 'localResponseNorm', [X([1, 3, 4, 8], 8.0)], size=5, alpha=0.01, beta=0.75, k=2.0),
    FN('localResponseNorm size 4 (even)', 'localResponseNorm', [X([1, 3, 3, 7], 4.0)], size=4, alpha=0.1, beta=0.6, k=1.0),
    FN('localResponseNorm size 5 > channels', 'localResponseNorm', [X([2, 2, 3, 3], 4.0)], size=5, alpha=0.2, beta=0.75, k=1.5),
    FN('localResponseNorm size 1', 'localResponseNorm', [X([1, 2, 3, 4], 4.0)], size=1, alpha=0.3, beta=0.5, k=1.0),
    # dropout (eval), flatten, softmax
    FN('dropout eval is identity', 'dropout', [[2, 3, 4, 5]], p=0.5, training=False),
    FN('flatten startDim 1', 'flatten', [[2, 3, 4, 5]], startDim=1),
    FN('flatten startDim 2', 'flatten', [[2, 3, 4, 5]], startDim=2),
    FN('softmax rank 2 dim -1', 'softmax', [X([3, 7], 6.0)], dim=-1),
    FN('softmax rank 2 dim 0', 'softmax', [X([3, 7], 6.0)], dim=0),
    FN('softmax rank 4 channels (dim 3)', 'softmax', [X([2, 3, 4, 5], 6.0)], dim=3),
    FN('softmax rank 4 height (dim 1)', 'softmax', [X([2, 3, 4, 5], 6.0)], dim=1),
    FN('logSoftmax rank 2 dim -1', 'logSoftmax', [X([3, 7], 6.0)], dim=-1),
    FN('logSoftmax rank 2 dim 0', 'logSoftmax', [X([3, 7], 6.0)], dim=0),
    FN('logSoftmax rank 4 channels (dim 3)', 'logSoftmax', [X([2, 3, 4, 5], 6.0)], dim=3),
    FN('logSoftmax rank 4 width (dim 2)', 'logSoftmax', [X([2, 3, 4, 5], 6.0)], dim=2),
    FN('logSoftmax large logits', 'logSoftmax', [X([2, 9], 200.0)], dim=-1),
    # activations
    FN('relu', 'relu', [X([2, 4, 4, 3], 8.0)]),
    FN('relu6', 'relu6', [X([2, 4, 4, 3], 16.0)]),
    FN('leakyRelu default slope', 'leakyRelu', [X([2, 4, 4, 3], 8.0)]),
    FN('leakyRelu slope 0.2', 'leakyRelu', [X([2, 4, 4, 3], 8.0)], negativeSlope=0.2),
    FN('elu alpha 1', 'elu', [X([2, 4, 4, 3], 8.0)]),
    FN('elu alpha 0.5', 'elu', [X([2, 4, 4, 3], 8.0)], alpha=0.5),
    FN('sigmoid', 'sigmoid', [X([2, 4, 4, 3], 16.0)]),
    FN('tanh', 'tanh', [X([2, 4, 4, 3], 8.0)]),
    FN('gelu', 'gelu', [X([2, 4, 4, 3], 10.0)]),
    FN('silu', 'silu', [X([2, 4, 4, 3], 16.0)]),
    FN('hardSigmoid', 'hardSigmoid', [X([2, 4, 4, 3], 10.0)]),
    FN('hardSwish', 'hardSwish', [X([2, 4, 4, 3], 10.0)]),
    FN('relu rank 2', 'relu', [X([5, 7], 2.0)]),
    # channels
    FN('channelShuffle 3 groups of 4', 'channelShuffle', [[1, 2, 3, 12]], groups=3),
    FN('channelShuffle 2 groups', 'channelShuffle', [[2, 2, 2, 8]], groups=2),
    FN('pad 1', 'pad', [[1, 3, 4, 2]], padding=1),
    FN('pad [h, w]', 'pad', [[1, 3, 4, 2]], padding=[2, 1], value=0.25),
    FN('pad per side with value', 'pad', [[1, 3, 4, 2]], padding=[[1, 2], [0, 3]], value=-1.5),
    FN('concat channels', 'concat', [[2, 3, 4, 2], [2, 3, 4, 5], [2, 3, 4, 1]]),
    FN('concat height (dim 1)', 'concat', [[1, 2, 4, 3], [1, 5, 4, 3]], dim=1),
    FN('concat rank 2 dim 0', 'concat', [[2, 5], [3, 5]], dim=0),
]


def run_fn(case):
    ins = [torch.from_numpy(realise_spec(s)) for s in case['inputs']]
    y = FNS[case['op']](ins, case['args'])
    return [y]


# ----------------------------------------------------------------------------------------------
# Modules: layer classes, BatchNorm2d training, blocks. The PyTorch module is built here; its state is filled from
# the formula per key; the TS side builds its own module from the case name.


def state_spec(case_name, key, t):
    """The spec of a state-dict tensor by its key and role (PyTorch layout)."""
    shape = list(t.shape)
    seed = fnv1a(f'{case_name}/{key}')
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'num_batches_tracked':
        return dict(key=key, shape=shape, value=3)
    if leaf == 'running_var':
        return dict(key=key, **spec(shape, seed, 0.5, 0.75))  # [0.5, 1.0)
    if leaf == 'running_mean':
        return dict(key=key, **spec(shape, seed, 0.4))
    if len(shape) == 1 and leaf == 'weight':  # a norm's scale
        return dict(key=key, **spec(shape, seed, 0.5, 1.0))  # [0.75, 1.25)
    if leaf == 'bias':
        return dict(key=key, **spec(shape, seed, 0.4))
    if leaf == 'weight' and len(shape) in (2, 4):
        fan_in = int(np.prod(shape[1:]))
        return dict(key=key, **spec(shape, seed, math.sqrt(24.0 / fan_in)))  # var 2 / fanIn
    raise ValueError(f'no rule for {key} {shape}')


def fill_state(case_name, module):
    sd = module.state_dict()
    specs, new = [], {}
    for key, t in sd.items():
        sp = state_spec(case_name, key, t)
        specs.append(sp)
        if 'value' in sp:
            new[key] = torch.tensor(sp['value'], dtype=t.dtype)
        else:
            new[key] = torch.from_numpy(realise_spec(sp)).to(t.dtype)
    module.load_state_dict(new, strict=True)
    return specs


def run_module(case, module, inputs):
    module = module.double()
    case['state'] = fill_state(case['name'], module)
    module.eval()
    ins = [torch.from_numpy(realise_spec(s)) for s in inputs]
    case['inputs'] = inputs
    with torch.no_grad():
        y = module(*[nhwc_to_nchw(t) for t in ins])
    return [nchw_to_nhwc(y)]


def INP(case_name, shape, scale=1.0, offset=0.0, j=0):
    return spec(shape, fnv1a(f'{case_name}/input{j}'), scale, offset)


LAYER_CASES = [
    # (name, PyTorch module factory, input shape NHWC, input scale)
    ('Conv2d 3 -> 6, 3x3, pad 1', lambda: nn.Conv2d(3, 6, 3, padding=1), [2, 6, 7, 3], 1.0),
    ('Conv2d stride 2 pad 1 groups 2 no bias', lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False), [1, 8, 7, 4], 1.0),
    ('Conv2d same 4x4 (PyTorch padding=same)', lambda: nn.Conv2d(3, 4, 4, padding='same'), [1, 7, 6, 3], 1.0),
    ('Conv2d dilation 2 same', lambda: nn.Conv2d(3, 5, 3, padding='same', dilation=2), [1, 7, 7, 3], 1.0),
    ('Conv2d [1, 3] kernel padding [0, 1]', lambda: nn.Conv2d(3, 4, (1, 3), padding=(0, 1)), [1, 5, 6, 3], 1.0),
    ('Conv2d depthwise stride 2', lambda: nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6), [1, 7, 7, 6], 1.0),
    ('Linear 8 -> 5', lambda: nn.Linear(8, 5), [3, 8], 1.0),
    ('Linear no bias', lambda: nn.Linear(6, 4, bias=False), [2, 6], 1.0),
    ('Flatten + Linear(flattenedFrom)', lambda: nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 6)), [2, 3, 4, 5], 1.0),
    ('BatchNorm2d eval', lambda: nn.BatchNorm2d(6), [2, 4, 5, 6], 1.0),
    ('BatchNorm2d eval eps 1e-3', lambda: nn.BatchNorm2d(5, eps=1e-3), [1, 3, 3, 5], 1.0),
    ('BatchNorm2d eval affine false', lambda: nn.BatchNorm2d(4, affine=False), [1, 3, 3, 4], 1.0),
    ('MaxPool2d 3 stride 2 pad 1', lambda: nn.MaxPool2d(3, 2, 1), [1, 9, 8, 3], 1.0),
    ('MaxPool2d 3 stride 2 ceil_mode', lambda: nn.MaxPool2d(3, 2, ceil_mode=True), [1, 8, 8, 3], 1.0),
    ('AvgPool2d 3 stride 2 pad 1 count_include_pad False', lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), [1, 8, 7, 3], 1.0),
    ('AvgPool2d 2 stride 2 pad 1 ceil_mode', lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True), [1, 5, 5, 2], 1.0),
    ('AdaptiveAvgPool2d 6', lambda: nn.AdaptiveAvgPool2d(6), [1, 13, 13, 3], 1.0),
    ('AdaptiveAvgPool2d (5, 7) up', lambda: nn.AdaptiveAvgPool2d((5, 7)), [1, 3, 4, 2], 1.0),
    ('LocalResponseNorm 5', lambda: nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0), [1, 3, 3, 8], 8.0),
    ('Dropout eval', lambda: nn.Dropout(0.3), [2, 3, 3, 4], 1.0),
    ('Flatten', None, [2, 3, 4, 5], 1.0),
    ('Identity', lambda: nn.Identity(), [2, 3, 4, 5], 1.0),
    ('ChannelShuffle 3', lambda: nn.ChannelShuffle(3), [1, 2, 3, 9], 1.0),
    ('Softmax dim 3 (channels)', lambda: nn.Softmax(dim=1), [2, 3, 3, 5], 6.0),
    ('LogSoftmax', lambda: nn.LogSoftmax(dim=-1), [3, 7], 6.0),
    ('ReLU', lambda: nn.ReLU(), [2, 3, 3, 4], 8.0),
    ('ReLU6', lambda: nn.ReLU6(), [2, 3, 3, 4], 16.0),
    ('LeakyReLU 0.1', lambda: nn.LeakyReLU(0.1), [2, 3, 3, 4], 8.0),
    ('ELU 0.5', lambda: nn.ELU(0.5), [2, 3, 3, 4], 8.0),
    ('Sigmoid', lambda: nn.Sigmoid(), [2, 3, 3, 4], 16.0),
    ('Tanh', lambda: nn.Tanh(), [2, 3, 3, 4], 8.0),
    ('GELU', lambda: nn.GELU(), [2, 3, 3, 4], 10.0),
    ('SiLU', lambda: nn.SiLU(), [2, 3, 3, 4], 16.0),
    ('Hardsigmoid', lambda: nn.Hardsigmoid(), [2, 3, 3, 4], 10.0),
    ('Hardswish', lambda: nn.Hardswish(), [2, 3, 3, 4], 10.0),
    ('Sequential conv-bn-relu-maxpool', lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                                              nn.ReLU(), nn.MaxPool2d(2)), [1, 6, 6, 3], 1.0),
]


def run_layer(name, make, shape, scale):
    case = dict(name=name, kind='layer')
    if make is None:
        # nn.Flatten on NCHW gives C-H-W order; the TS layer flattens NHWC: compare with PyTorch's flatten of NHWC.
        ins = [INP(name, shape, scale)]
        case['state'], case['inputs'] = [], ins
        return case, [torch.from_numpy(realise_spec(ins[0])).flatten(1)]
    ys = run_module(case, make(), [INP(name, shape, scale)])
    return case, ys


# BatchNorm2d in training: outputs and running statistics after one and two steps.
BN_TRAIN_CASES = [
    ('BatchNorm2d train momentum 0.1', dict(c=5, momentum=0.1), [2, 3, 4, 5]),
    ('BatchNorm2d train momentum 0.3', dict(c=4, momentum=0.3), [3, 2, 3, 4]),
    ('BatchNorm2d train eps 1e-3 momentum 0.01', dict(c=6, momentum=0.01, eps=1e-3), [2, 3, 3, 6]),
    ('BatchNorm2d train two values per channel', dict(c=3, momentum=0.1), [2, 1, 1, 3]),
]


def run_bn_train(name, cfg, shape):
    m = nn.BatchNorm2d(cfg['c'], momentum=cfg['momentum'], eps=cfg.get('eps', 1e-5)).double()
    case = dict(name=name, kind='bn-train', args=cfg)
    case['state'] = fill_state(name, m)
    m.train()
    # Offsets so that the batch statistics differ visibly from the running ones.
    ins = [INP(name, shape, 2.0, 0.25, 0), INP(name, shape, 1.5, -0.3, 1)]
    case['inputs'] = ins
    outs = []
    for sp in ins:
        with torch.no_grad():
            y = m(nhwc_to_nchw(torch.from_numpy(realise_spec(sp))))
        outs += [nchw_to_nhwc(y), m.running_mean.clone(), m.running_var.clone(),
                 m.num_batches_tracked.to(torch.float64).reshape([])]
    # Then the gradients of sum(y * dy) in training mode, for the first input: dx, dweight, dbias.
    dy = INP(name, shape, 1.0, 0.1, 2)
    case['grad'] = dict(dy=dy)
    x = nhwc_to_nchw(torch.from_numpy(realise_spec(ins[0]))).requires_grad_(True)
    m.zero_grad()
    (m(x) * nhwc_to_nchw(torch.from_numpy(realise_spec(dy)))).sum().backward()
    outs += [nchw_to_nhwc(x.grad), m.weight.grad.clone(), m.bias.grad.clone()]
    return case, outs


# Blocks


class SEBottleneck(tv_resnet.Bottleneck):
    """MMPretrain's SE-ResNet bottleneck: SE (1x1 convs with bias, ReLU then Sigmoid) after bn3, before the add."""

    def __init__(self, inplanes, planes, se_channels, **kw):
        super().__init__(inplanes, planes, **kw)
        self.se = SqueezeExcitation(planes * 4, se_channels)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.se(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class DepthwiseSeparable(nn.Module):
    """MobileNetV1's unit: 3x3 depthwise conv-bn-relu, then 1x1 pointwise conv-bn-relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = Conv2dNormActivation(cin, cin, 3, stride=stride, groups=cin)
        self.pointwise = Conv2dNormActivation(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class MMConvModule(nn.Module):
    """mmcv's ConvModule with BN: children conv, bn (bias only without norm), activation last."""

    def __init__(self, cin, cout, k, stride=1, padding=0, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.activate = nn.ReLU() if act else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.activate(x) if self.activate is not None else x


class MMShuffleUnit(nn.Module):
    """MMPretrain's ShuffleNetV1 ShuffleUnit (mmpretrain/models/backbones/shufflenet_v1.py), rebuilt: grouped 1x1
    compress + BN + ReLU, 3x3 depthwise + BN, channel shuffle, grouped 1x1 expand + BN; 'add': relu(x + out);
    'concat': cat(avgpool(x), relu(out))."""

    def __init__(self, cin, cout, groups=3, first_block=True, combine='add'):
        super().__init__()
        self.groups, self.combine = groups, combine
        bottleneck = cout // 4
        if combine == 'add':
            assert cin == cout
            stride = 1
        else:
            stride = 2
            cout -= cin
            self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        g1 = 1 if first_block else groups
        self.g_conv_1x1_compress = MMConvModule(cin, bottleneck, 1, groups=g1)
        self.depthwise_conv3x3_bn = MMConvModule(bottleneck, bottleneck, 3, stride=stride, padding=1, groups=bottleneck, act=False)
        self.g_conv_1x1_expand = MMConvModule(bottleneck, cout, 1, groups=groups, act=False)
        self.act = nn.ReLU()

    def forward(self, x):
        out = self.g_conv_1x1_compress(x)
        out = self.depthwise_conv3x3_bn(out)
        if self.groups > 1:
            out = tv_shufflenetv2.channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.combine == 'concat':
            return torch.cat((self.avgpool(x), self.act(out)), 1)
        return self.act(x + out)


def tv_down(cin, cout, stride):
    return nn.Sequential(tv_resnet.conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


MBV3_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)

BLOCK_CASES = [
    # (name, factory, input shape NHWC, input scale, input offset)
    ('ConvNormAct 3x3 stride 2 (Conv2dNormActivation)', lambda: Conv2dNormActivation(8, 16, 3, stride=2), [2, 7, 7, 8], 2.0, 0.0),
    ('ConvNormAct no norm relu6 (Conv2dNormActivation)', lambda: Conv2dNormActivation(6, 8, 3, norm_layer=None, activation_layer=nn.ReLU6),
     [1, 5, 6, 6], 2.0, 0.0),
    ('ConvNormAct hardswish 5x5 dilation 2', lambda: Conv2dNormActivation(4, 8, 5, dilation=2, activation_layer=nn.Hardswish),
     [1, 9, 9, 4], 2.0, 0.0),
    ('SEModule (SqueezeExcitation)', lambda: SqueezeExcitation(32, 8), [2, 4, 4, 32], 2.0, 0.0),
    ('SEModule hardsigmoid gate (SqueezeExcitation)', lambda: SqueezeExcitation(16, 8, scale_activation=nn.Hardsigmoid),
     [1, 3, 3, 16], 2.0, 0.0),
    ('BasicBlock', lambda: tv_resnet.BasicBlock(16, 16), [1, 6, 6, 16], 2.0, 0.0),
    ('BasicBlock with downsample', lambda: tv_resnet.BasicBlock(16, 32, 2, downsample=tv_down(16, 32, 2)), [2, 7, 7, 16], 2.0, 0.0),
    ('Bottleneck', lambda: tv_resnet.Bottleneck(64, 16), [1, 5, 5, 64], 2.0, 0.0),
    ('Bottleneck stride 2 with downsample', lambda: tv_resnet.Bottleneck(32, 16, 2, downsample=tv_down(32, 64, 2)), [1, 7, 7, 32], 2.0, 0.0),
    ('Bottleneck ResNeXt 32x4d', lambda: tv_resnet.Bottleneck(64, 64, groups=32, base_width=4, downsample=tv_down(64, 256, 1)),
     [1, 4, 4, 64], 2.0, 0.0),
    ('Bottleneck with SE', lambda: SEBottleneck(64, 16, 4), [1, 5, 5, 64], 2.0, 0.0),
    ('DepthwiseSeparable stride 2', lambda: DepthwiseSeparable(16, 32, 2), [1, 7, 7, 16], 2.0, 0.0),
    ('InvertedResidual v2 expand 1', lambda: tv_mbv2.InvertedResidual(16, 8, 1, 1), [1, 6, 6, 16], 2.0, 0.0),
    ('InvertedResidual v2 expand 6 residual', lambda: tv_mbv2.InvertedResidual(8, 8, 1, 6), [2, 5, 5, 8], 2.0, 0.0),
    ('InvertedResidual v2 expand 6 stride 2', lambda: tv_mbv2.InvertedResidual(8, 16, 2, 6), [1, 7, 7, 8], 2.0, 0.0),
    ('InvertedResidual v3 SE hardswish 5x5 residual',
     lambda: tv_mbv3.InvertedResidual(tv_mbv3.InvertedResidualConfig(16, 5, 48, 16, True, 'HS', 1, 1, 1.0), MBV3_NORM),
     [1, 6, 6, 16], 2.0, 0.0),
    ('InvertedResidual v3 SE relu stride 2',
     lambda: tv_mbv3.InvertedResidual(tv_mbv3.InvertedResidualConfig(16, 3, 64, 24, True, 'RE', 2, 1, 1.0), MBV3_NORM),
     [1, 7, 7, 16], 2.0, 0.0),
    ('InvertedResidual v3 no expansion relu stride 2',
     lambda: tv_mbv3.InvertedResidual(tv_mbv3.InvertedResidualConfig(16, 3, 16, 24, False, 'RE', 2, 1, 1.0), MBV3_NORM),
     [1, 6, 6, 16], 2.0, 0.0),
    # Post-ReLU inputs (>= 0), as inside a network, and signed ones.
    ('ShuffleUnitV1 stride 1 (MMPretrain)', lambda: MMShuffleUnit(48, 48, 3, first_block=False, combine='add'), [1, 5, 5, 48], 1.0, 0.5),
    ('ShuffleUnitV1 stride 2 (MMPretrain)', lambda: MMShuffleUnit(24, 48, 3, first_block=True, combine='concat'), [1, 6, 6, 24], 1.0, 0.5),
    ('ShuffleUnitV1 stride 2 signed input (MMPretrain)', lambda: MMShuffleUnit(24, 48, 3, first_block=False, combine='concat'),
     [1, 5, 5, 24], 2.0, 0.0),
    ('ShuffleUnitV2 stride 1', lambda: tv_shufflenetv2.InvertedResidual(32, 32, 1), [1, 5, 5, 32], 2.0, 0.0),
    ('ShuffleUnitV2 stride 2', lambda: tv_shufflenetv2.InvertedResidual(16, 32, 2), [2, 6, 6, 16], 2.0, 0.0),
    ('Inception', lambda: tv_googlenet.Inception(16, 8, 8, 12, 4, 6, 6), [2, 7, 7, 16], 2.0, 0.0),
    ('Inception odd size', lambda: tv_googlenet.Inception(12, 4, 4, 8, 4, 4, 4), [1, 5, 6, 12], 2.0, 0.0),
]


def run_block(name, make, shape, scale, offset):
    case = dict(name=name, kind='block')
    ys = run_module(case, make(), [INP(name, shape, scale, offset)])
    return case, ys


# ----------------------------------------------------------------------------------------------
# PyTorch's default initialisation, measured, for the init test: U(-b, b) with b = 1/sqrt(fanIn).


def init_stats():
    torch.manual_seed(0)
    out = []
    for name, m in [
        ('Conv2d(64, 128, 3)', nn.Conv2d(64, 128, 3)),
        ('Conv2d(32, 64, 3, groups=4)', nn.Conv2d(32, 64, 3, groups=4)),
        ('Conv2d(16, 16, 5, groups=16)', nn.Conv2d(16, 16, 5, groups=16)),
        ('Linear(1000, 500)', nn.Linear(1000, 500)),
    ]:
        row = dict(name=name)
        for p in ('weight', 'bias'):
            t = getattr(m, p).detach().to(torch.float64)
            row[p] = dict(count=t.numel(), maxAbs=float(t.abs().max()), mean=float(t.mean()), var=float(t.var(unbiased=False)))
        out.append(row)
    return out


# ----------------------------------------------------------------------------------------------


# Where a case's reference goes: the generic cases to OUT_DIR/cases, a family's blocks to <package>/test/fixtures/blocks/<family>
# (the blocks live in the family's file, in its model package, and are tested there).
PACKAGES = os.path.join(HERE, '..', '..')
FAMILY_OF_BLOCK = {
    'BasicBlock': 'resnet', 'Bottleneck': 'resnet', 'Inception': 'googlenet',
    'DepthwiseSeparable': 'mobilenet', 'InvertedResidual': 'mobilenet', 'ShuffleUnitV1': 'shufflenet', 'ShuffleUnitV2': 'shufflenet',
}
FAMILY_FIXTURES = {
    'resnet': os.path.join(PACKAGES, 'models-classic', 'test', 'fixtures', 'blocks', 'resnet'),
    'googlenet': os.path.join(PACKAGES, 'models-classic', 'test', 'fixtures', 'blocks', 'googlenet'),
    'mobilenet': os.path.join(PACKAGES, 'models-efficient', 'test', 'fixtures', 'blocks', 'mobilenet'),
    'shufflenet': os.path.join(PACKAGES, 'models-efficient', 'test', 'fixtures', 'blocks', 'shufflenet'),
}


def fixture_of(case):
    """The file (without extension) a case is written to."""
    family = FAMILY_OF_BLOCK.get(case['name'].split(' ')[0]) if case['kind'] == 'block' else None
    return FAMILY_FIXTURES[family] if family else os.path.join(OUT_DIR, 'cases')


def main():
    files = {}  # path -> (cases, blobs, [offset])

    def add(case, outs):
        cases, blobs, offset = files.setdefault(fixture_of(case), ([], [], [0]))
        case['outputs'] = []
        for t in outs:
            a = t.detach().contiguous().numpy().astype('<f4')
            case['outputs'].append(dict(shape=list(t.shape), offset=offset[0]))
            blobs.append(a.ravel())
            offset[0] += a.size
        cases.append(case)

    for c in FN_CASES:
        add(c, run_fn(c))
    for name, make, shape, scale in LAYER_CASES:
        add(*run_layer(name, make, shape, scale))
    for name, cfg, shape in BN_TRAIN_CASES:
        add(*run_bn_train(name, cfg, shape))
    for name, make, shape, scale, off in BLOCK_CASES:
        add(*run_block(name, make, shape, scale, off))

    names = [c['name'] for cases, _, _ in files.values() for c in cases]
    assert len(names) == len(set(names)), 'case names must be unique'
    for path, (cases, blobs, _) in files.items():
        doc = dict(
            generator='packages/layers/scripts/make-layer-fixtures.py',
            torch=torch.__version__,
            torchvision=torchvision.__version__,
            formulaCheck=dict(seed=12345, values=[float(v) for v in values(8, 12345)],
                              fnv1a={'': fnv1a(''), 'conv1.weight': fnv1a('conv1.weight')}),
        )
        if path == os.path.join(OUT_DIR, 'cases'):
            doc['init'] = init_stats()
        doc['cases'] = cases
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = np.concatenate(blobs).astype('<f4')
        with open(path + '.bin', 'wb') as f:
            f.write(data.tobytes())
        with open(path + '.json', 'w') as f:
            json.dump(doc, f, indent=1)
            f.write('\n')
        kinds = {}
        for c in cases:
            kinds[c['kind']] = kinds.get(c['kind'], 0) + 1
        print(f'{os.path.relpath(path, PACKAGES)}: {len(cases)} cases {kinds}, {data.size} floats ({data.nbytes} bytes)')


if __name__ == '__main__':
    main()
