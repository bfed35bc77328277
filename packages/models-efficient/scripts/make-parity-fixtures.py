#!/usr/bin/env python3
"""Reference logits of the efficient families, from PyTorch, for test/parity.test.ts.

Run with Debian's PyTorch 1.13 and torchvision 0.14 (the `python3` on PATH may have no torch):

    /usr/bin/python3 packages/models-efficient/scripts/make-parity-fixtures.py

Models:
  torchvision's own modules   mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, shufflenet_v2_x0_5, shufflenet_v2_x1_0
  PyTorch rebuilds (below)    seresnet50 (MMPretrain's SE-ResNet-50, our keys layerX.Y.se.fc1 / fc2),
                              shufflenet_v1_x1_0_g3 (MMPretrain's ShuffleNetV1 backbone + fc, MMPretrain's keys),
                              mobilenet_v1 (the paper's Table 1, the keys of src/mobilenet-v1.ts)

Writes, next to the test:

  test/fixtures/parity/models.json  per model: every state-dict key with its PyTorch shape (in state_dict order),
                                    the scalar that sets the scale of each BatchNorm's running statistics, and where
                                    its logits lie in logits.bin
  test/fixtures/parity/logits.bin   float32 little-endian logits [2, 1000] per model, concatenated

Weights and inputs are not stored. Every tensor is computed from the formula of packages/layers' fixtures (its own
copy here and in the test):

    value(i, seed) = an integer hash of (flat index i, seed) whose top 24 bits give a multiple of 2^-24 in
                     [-0.5, 0.5), exactly a float32
    element i      = float32(value(i, seed) * scale + offset), computed in float64 then rounded once
    seed           = fnv1a32(model id + '/' + key)          (the input: fnv1a32(model id + '/input'))

over the flat index of the tensor in PyTorch's layout (OIHW conv weights, [out, in] linear weights). scale and
offset follow from the key's last part and the shape (`rule` below, the same in the test):

    conv / linear weight   scale sqrt(12 * GAIN / fan_in): zero mean, variance GAIN / fan_in (fan_in = in/groups * kh * kw)
    bias (any)             scale 0.2                      in [-0.1, 0.1)
    BatchNorm weight       scale 0.5, offset 1            in [0.75, 1.25)
    running_mean           scale 0.2 * sqrt(v)            v: the BatchNorm's scalar in models.json
    running_var            scale 0.5 * v, offset v        in [0.75 v, 1.25 v): positive
    num_batches_tracked    0

v is the mean over channels of the second moment of the BatchNorm's input on this very input batch, measured here
layer by layer (each BatchNorm's statistics set before the next one runs) and rounded to 3 significant digits, so
that every BatchNorm's output has roughly unit scale however deep the network: activations stay O(1), the logits keep
a spread, and the two images of the batch still give different logits (printed). The input is [2, 64, 64, 3] NHWC
(permuted to NCHW here) with scale 4 (values in [-2, 2)).

Everything runs in float64, in eval mode; logits are cast to float32. The test builds each model with
getModel(id), regenerates the state dict from the keys, shapes and scalars, loads it with loadTorchState (strict, no
key map: every PyTorch key must be the TypeScript model's) and compares the logits (max |a - b| / max |b| <= 1e-4).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet as tv_resnet
from torchvision.ops import SqueezeExcitation

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'test-support'))
from fixtures import channel_shuffle, fnv1a, make_divisible, realise, values  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'parity')
GAIN = 1.0
INPUT_SHAPE = [2, 64, 64, 3]  # NHWC
INPUT_SCALE = 4.0

torch.set_default_dtype(torch.float64)


# ----------------------------------------------------------------------------------------------
# The rule of the state-dict tensors (the formula is test-support/fixtures.py's, shared with the layers fixtures)


def rule(key, shape, bn_scalar):
    """(scale, offset) of a state-dict tensor, or a constant; the test's `rule` is the same."""
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'num_batches_tracked':
        return dict(value=0)
    if leaf == 'running_var':
        return dict(scale=0.5 * bn_scalar, offset=bn_scalar)
    if leaf == 'running_mean':
        return dict(scale=0.2 * math.sqrt(bn_scalar), offset=0.0)
    if leaf == 'bias':
        return dict(scale=0.2, offset=0.0)
    if leaf == 'weight' and len(shape) == 1:
        return dict(scale=0.5, offset=1.0)
    if leaf == 'weight' and len(shape) in (2, 4):
        fan_in = int(np.prod(shape[1:]))
        return dict(scale=math.sqrt(12.0 * GAIN / fan_in), offset=0.0)
    raise ValueError(f'no rule for {key} {shape}')


def round3(x):
    """x to 3 significant digits, as a float that JSON round-trips exactly."""
    return float(f'{x:.3g}')


# ----------------------------------------------------------------------------------------------
# The rebuilds


class SEBottleneck(tv_resnet.Bottleneck):
    """MMPretrain's SE-ResNet bottleneck (ResNet v1.5, the stride on the 3x3): after bn3 and before the addition, a
    squeeze-and-excitation layer (global average pool, 1x1 conv with bias C -> C/16, ReLU, 1x1 conv with bias
    C/16 -> C, Sigmoid, times the input). MMPretrain names it se_layer.conv1.conv / conv2.conv; our keys are
    se.fc1 / se.fc2 (torchvision's SqueezeExcitation, the same computation)."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1, norm_layer=None):
        super().__init__(inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer)
        c = planes * self.expansion
        self.se = SqueezeExcitation(c, c // 16)  # MMPretrain: make_divisible(c // 16, 8), equal for c in 256..2048

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.se(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


def se_resnet50():
    return tv_resnet.ResNet(SEBottleneck, [3, 4, 6, 3])


class ConvModule(nn.Module):
    """mmcv's ConvModule with a norm: conv (no bias), bn, optional ReLU; children 'conv', 'bn'."""

    def __init__(self, cin, cout, k, stride=1, padding=0, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU() if act else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.act(x) if self.act is not None else x


class ShuffleUnitV1(nn.Module):
    """MMPretrain's ShuffleUnit: compress (grouped 1x1 + ReLU) -> depthwise 3x3 (+bn) -> channel shuffle -> expand
    (grouped 1x1 + bn); 'concat' (stride 2): cat(avgpool3x3s2p1(x), relu(branch)); 'add': relu(x + branch)."""

    def __init__(self, cin, cout, groups, first_block, combine):
        super().__init__()
        self.groups, self.combine = groups, combine
        mid = cout // 4
        if combine == 'concat':
            cout -= cin
            self.avgpool = nn.AvgPool2d(3, 2, 1)
        stride = 2 if combine == 'concat' else 1
        self.g_conv_1x1_compress = ConvModule(cin, mid, 1, groups=1 if first_block else groups)
        self.depthwise_conv3x3_bn = ConvModule(mid, mid, 3, stride, 1, groups=mid, act=False)
        self.g_conv_1x1_expand = ConvModule(mid, cout, 1, groups=groups, act=False)

    def forward(self, x):
        out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
        if self.groups > 1:
            out = channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.combine == 'concat':
            return torch.cat((self.avgpool(x), F.relu(out)), 1)
        return F.relu(x + out)


class ShuffleNetV1(nn.Module):
    """MMPretrain's ShuffleNetV1 backbone (conv1, maxpool, layers) + GlobalAveragePooling + LinearClsHead's fc."""

    def __init__(self, groups=3, widen_factor=1.0, num_classes=1000):
        super().__init__()
        channels = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088), 8: (384, 768, 1536)}[groups]
        channels = [make_divisible(ch * widen_factor, 8) for ch in channels]
        c = int(24 * widen_factor)
        self.conv1 = ConvModule(3, c, 3, 2, 1)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layers = nn.ModuleList()
        for s, (ch, n) in enumerate(zip(channels, (4, 8, 4))):
            units = []
            for i in range(n):
                units.append(ShuffleUnitV1(c, ch, groups, s == 0 and i == 0, 'concat' if i == 0 else 'add'))
                c = ch
            self.layers.append(nn.Sequential(*units))
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        for layer in self.layers:
            x = layer(x)
        return self.fc(x.mean((2, 3)))


def conv_bn_relu(cin, cout, k, stride=1, groups=1):
    """Conv2dNormActivation's layout: '0' conv (no bias), '1' bn, '2' ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = conv_bn_relu(cin, cin, 3, stride, groups=cin)
        self.pointwise = conv_bn_relu(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


MOBILENET_V1_LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    """The paper's Table 1: conv 3x3 s2 to 32, 13 depthwise separable convolutions, global average pool, fc."""

    def __init__(self, num_classes=1000):
        super().__init__()
        layers, c = [conv_bn_relu(3, 32, 3, 2)], 32
        for out, stride in MOBILENET_V1_LAYERS:
            layers.append(DepthwiseSeparable(c, out, stride))
            c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(c, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


MODELS = [
    # (id, what it is, factory)
    ('mobilenet_v2', 'torchvision.models.mobilenet_v2', lambda: torchvision.models.mobilenet_v2()),
    ('mobilenet_v3_small', 'torchvision.models.mobilenet_v3_small', lambda: torchvision.models.mobilenet_v3_small()),
    ('mobilenet_v3_large', 'torchvision.models.mobilenet_v3_large', lambda: torchvision.models.mobilenet_v3_large()),
    ('shufflenet_v2_x0_5', 'torchvision.models.shufflenet_v2_x0_5', lambda: torchvision.models.shufflenet_v2_x0_5()),
    ('shufflenet_v2_x1_0', 'torchvision.models.shufflenet_v2_x1_0', lambda: torchvision.models.shufflenet_v2_x1_0()),
    ('seresnet50', "rebuild of MMPretrain's SE-ResNet-50 (torchvision ResNet + SE after bn3)", se_resnet50),
    ('shufflenet_v1_x1_0_g3', "rebuild of MMPretrain's ShuffleNetV1 x1.0 g3 (+ fc)", lambda: ShuffleNetV1(3, 1.0)),
    ('mobilenet_v1', "rebuild of the MobileNetV1 paper's Table 1", MobileNetV1),
]


# ----------------------------------------------------------------------------------------------


def fill(model_id, model, x):
    """Fills every state tensor from the formula; BatchNorm statistics scaled to their measured input, in order."""
    sd = model.state_dict()
    bn_keys = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            bn_keys[m] = name
    new = {}
    for key, t in sd.items():
        leaf = key.rsplit('.', 1)[-1]
        if leaf in ('running_mean', 'running_var', 'num_batches_tracked'):
            continue
        r = rule(key, list(t.shape), None)
        new[key] = torch.from_numpy(realise(list(t.shape), fnv1a(f'{model_id}/{key}'), r['scale'], r['offset']))
    # Statistics: neutral placeholders, then set in forward order by pre-hooks.
    for m, name in bn_keys.items():
        new[f'{name}.running_mean'] = torch.zeros(m.num_features)
        new[f'{name}.running_var'] = torch.ones(m.num_features)
        new[f'{name}.num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    model.load_state_dict(new, strict=True)
    model.eval()

    scalars = {}

    def pre_hook(m, inp):
        name = bn_keys[m]
        assert name not in scalars, f'{name} runs twice'
        v = round3(float(inp[0].pow(2).mean()))
        scalars[name] = v
        shape = [m.num_features]
        for leaf in ('running_mean', 'running_var'):
            r = rule(f'{name}.{leaf}', shape, v)
            t = torch.from_numpy(realise(shape, fnv1a(f'{model_id}/{name}.{leaf}'), r['scale'], r['offset']))
            getattr(m, leaf).copy_(t)

    hooks = [m.register_forward_pre_hook(pre_hook) for m in bn_keys]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    assert set(scalars) == set(bn_keys.values()), 'a BatchNorm did not run'
    return scalars


def run_model(model_id, make):
    model = make().double()
    x_nhwc = realise(INPUT_SHAPE, fnv1a(f'{model_id}/input'), INPUT_SCALE, 0.0)
    x = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous()
    scalars = fill(model_id, model, x)

    # What the test regenerates, checked against the model's own state (keys in order, every value).
    sd = model.state_dict()
    keys = []
    for key, t in sd.items():
        shape = list(t.shape)
        prefix = key.rsplit('.', 1)[0]
        r = rule(key, shape, scalars.get(prefix))
        if 'value' in r:
            assert int(t) == r['value'], key
        else:
            want = realise(shape, fnv1a(f'{model_id}/{key}'), r['scale'], r['offset'])
            assert np.array_equal(t.numpy(), want), key
        keys.append([key, shape])

    # Per-layer scale, for the printout: the largest |activation| after each top-level child.
    peaks = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: peaks.append((n, float(o.abs().max()))))
             for n, m in model.named_modules() if n.count('.') == 1 or n in ('conv1', 'conv5', 'fc')]
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    assert list(y.shape) == [2, 1000]
    std = float(y.std())
    sep = float((y[0] - y[1]).std()) / std
    print(f'{model_id:24s} {len(keys):4d} keys, {len(scalars):3d} BN, logits std {std:.3f}, '
          f'max |logit| {float(y.abs().max()):.3f}, std(y0 - y1) / std {sep:.3f}, '
          f'largest activation {max(p for _, p in peaks):.2f}')
    bn_list = [[name, scalars[name]] for name in scalars]
    return dict(id=model_id, source=None, keys=keys, bn=bn_list, logitsStd=std), y


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    models, blobs, offset = [], [], 0
    for model_id, source, make in MODELS:
        entry, y = run_model(model_id, make)
        entry['source'] = source
        a = y.numpy().astype('<f4')
        entry['logits'] = dict(shape=list(a.shape), offset=offset)
        blobs.append(a.ravel())
        offset += a.size
        models.append(entry)
    doc = dict(
        generator='packages/models-efficient/scripts/make-parity-fixtures.py',
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        gain=GAIN,
        input=dict(shape=INPUT_SHAPE, scale=INPUT_SCALE),
        formulaCheck=dict(seed=12345, values=[float(v) for v in values(8, 12345)],
                          fnv1a={'': fnv1a(''), 'mobilenet_v2/features.0.0.weight': fnv1a('mobilenet_v2/features.0.0.weight')}),
        models=models,
    )
    data = np.concatenate(blobs).astype('<f4')
    with open(os.path.join(OUT_DIR, 'logits.bin'), 'wb') as f:
        f.write(data.tobytes())
    with open(os.path.join(OUT_DIR, 'models.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    size = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in ('logits.bin', 'models.json'))
    print(f'{len(models)} models, {data.size} logits; fixtures {size} bytes')


if __name__ == '__main__':
    main()
