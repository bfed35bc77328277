"""Counts parameters and MACs of the efficient models the reference table does not list, on PyTorch rebuilds.

Run with Debian's PyTorch: /usr/bin/python3 packages/models-efficient/scripts/count-models.py
Writes test/fixtures/counts.json. MACs as torchvision counts them (conv and linear layers, forward hooks, 224x224);
params are learnable tensors only. The rebuilds follow MMPretrain's ShuffleNetV1 and SE-ResNet definitions.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support"))
from fixtures import channel_shuffle, count, make_divisible  # noqa: E402


def conv_bn(i, o, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(i, o, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(o)]
    return nn.Sequential(*layers, nn.ReLU()) if act else nn.Sequential(*layers)


class ShuffleUnit(nn.Module):
    def __init__(self, inp, out, groups, first_block, combine):
        super().__init__()
        self.groups, self.combine = groups, combine
        mid = out // 4
        if combine == "concat":
            out -= inp
        self.conv1 = conv_bn(inp, mid, 1, groups=1 if first_block else groups)
        self.dw = conv_bn(mid, mid, 3, stride=2 if combine == "concat" else 1, groups=mid, act=False)
        self.conv4 = conv_bn(mid, out, 1, groups=groups, act=False)

    def forward(self, x):
        # MMPretrain's order: compress, depthwise, shuffle, expand (counts do not depend on it).
        y = self.conv4(channel_shuffle(self.dw(self.conv1(x)), self.groups))
        if self.combine == "add":
            return torch.relu(x + y)
        return torch.relu(torch.cat([nn.functional.avg_pool2d(x, 3, 2, 1), y], 1))


class ShuffleNetV1(nn.Module):
    CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088), 8: (384, 768, 1536)}

    def __init__(self, groups, widen):
        super().__init__()
        c = int(24 * widen)
        self.conv1 = conv_bn(3, c, 3, stride=2)
        stages = []
        for s, (ch, n) in enumerate(zip(self.CHANNELS[groups], (4, 8, 4))):
            out = make_divisible(ch * widen, 8)
            units = []
            for i in range(n):
                units.append(ShuffleUnit(c, out, groups, s == 0 and i == 0, "concat" if i == 0 else "add"))
                c = out
            stages.append(nn.Sequential(*units))
        self.layers = nn.Sequential(*stages)
        self.fc = nn.Linear(c, 1000)

    def forward(self, x):
        x = self.layers(nn.functional.max_pool2d(self.conv1(x), 3, 2, 1))
        return self.fc(x.mean((2, 3)))


class SE(nn.Module):
    def __init__(self, c, ratio=16):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c // ratio, 1)
        self.conv2 = nn.Conv2d(c // ratio, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv2(torch.relu(self.conv1(x.mean((2, 3), keepdim=True)))))


def with_se(model):
    """MMPretrain's SE-ResNet: SE after the last BatchNorm of every bottleneck, before the addition."""
    for layer in [model.layer1, model.layer2, model.layer3, model.layer4]:
        for block in layer:
            block.bn3 = nn.Sequential(block.bn3, SE(block.bn3.num_features))
    return model


counts = {}
for groups in (1, 2, 3, 4, 8):
    for widen, tag in ((0.5, "x0_5"), (1.0, "x1_0"), (1.5, "x1_5"), (2.0, "x2_0")):
        try:
            model = ShuffleNetV1(groups, widen)
        except ValueError as err:  # channels that the groups do not divide: MMPretrain cannot build it either
            print(f"shufflenet_v1_{tag}_g{groups}: not buildable ({err})")
            continue
        counts[f"shufflenet_v1_{tag}_g{groups}"] = count(model)
counts["seresnext50_32x4d"] = count(with_se(torchvision.models.resnext50_32x4d()))
counts["seresnet50"] = count(with_se(torchvision.models.resnet50()))

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "counts.json")
with open(out, "w") as f:
    json.dump(counts, f, indent=1, sort_keys=True)
for k, v in sorted(counts.items()):
    print(f"{k:28s} {v['params']:>12,d} {v['macs']:>16,d}")
