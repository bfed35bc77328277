"""Counts parameters and MACs of the models that the reference table does not list, on PyTorch rebuilds.

Run with Debian's PyTorch: /usr/bin/python3 packages/models-classic/scripts/count-models.py
Writes test/fixtures/counts.json, which the registry test compares with the real models and their cards.
MACs are counted as torchvision does: forward hooks on Conv2d (output elements x in/groups x kh x kw) and Linear
(output elements x in_features); params are learnable tensors only (BatchNorm running statistics excluded).
"""
import json
import os
import sys

import torchvision

from reference_models import CifarResNet, cifar_stem

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support"))
from fixtures import count  # noqa: E402


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
