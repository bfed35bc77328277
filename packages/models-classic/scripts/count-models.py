"""Counts parameters and MACs of the models that the reference table does not list, on PyTorch rebuilds.

Run with Debian's PyTorch: /usr/bin/python3 packages/models-classic/scripts/count-models.py
Writes test/fixtures/counts.json, which the registry test compares with the real models and their cards.
MACs are counted as torchvision does: forward hooks on Conv2d (output elements x in/groups x kh x kw) and Linear
(output elements x in_features); params are learnable tensors only (BatchNorm running statistics excluded).
"""
import json
import os

import torch
import torch.nn as nn
import torchvision


def count(model, shape):
    macs = 0

    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(shape))
    for h in hs:
        h.remove()
    return {"params": sum(p.numel() for p in model.parameters()), "macs": macs}


class PadShortcut(nn.Module):
    """The ResNet paper's option A: subsample and zero-pad channels."""

    def __init__(self, stride, extra):
        super().__init__()
        self.stride, self.extra = stride, extra

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class CifarBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = PadShortcut(stride, planes - inp) if stride != 1 or inp != planes else None

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class CifarResNet(nn.Module):
    """He et al. 2015, section 4.2."""

    def __init__(self, depth, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, inp = [], 16
        for planes, stride in [(16, 1), (32, 2), (64, 2)]:
            blocks = []
            for i in range(n):
                blocks.append(CifarBlock(inp, planes, stride if i == 0 else 1))
                inp = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def cifar_stem(model):
    """MMPretrain's ResNet_CIFAR: a 3x3 stride-1 stem and no max pool, on torchvision's ResNet."""
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


counts = {}
for depth in [20, 32, 44, 56, 110]:
    counts[f"resnet{depth}_cifar"] = count(CifarResNet(depth), (1, 3, 32, 32))
for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
    counts[f"{name}_cifar"] = count(cifar_stem(getattr(torchvision.models, name)(num_classes=10)), (1, 3, 32, 32))
counts["googlenet_aux"] = count(torchvision.models.googlenet(aux_logits=True, init_weights=False), (1, 3, 224, 224))

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "counts.json")
with open(out, "w") as f:
    json.dump(counts, f, indent=1, sort_keys=True)
for k, v in sorted(counts.items()):
    print(f"{k:20s} {v['params']:>12,d} {v['macs']:>16,d}")
