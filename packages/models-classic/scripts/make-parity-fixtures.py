"""Makes the fixtures of test/parity.test.ts: logits of the reference PyTorch models on weights and inputs that
both sides compute from one formula, so that no weights are committed.

Run with Debian's PyTorch 1.13 / torchvision 0.14 (the `python3` on PATH has no torch):

    /usr/bin/python3 packages/models-classic/scripts/make-parity-fixtures.py [ids...]

(about a minute for all of them; with ids, it only prints their rows of the table and writes nothing). Writes test/fixtures/parity/parity.json (per model: its PyTorch state-dict keys, shapes and a checksum of each
tensor, the input's shape and scale, where its logits are) and test/fixtures/parity/parity.bin (the logits,
float32 little-endian). The references: torchvision's alexnet, vgg*, googlenet, resnet*, resnext*; PyTorch
rebuilds of MMPretrain's LeNet-5, of this package's `alexnet_2012`, of MMPretrain's ResNet_CIFAR (torchvision's
ResNet with a 3x3 stem and no max pool) and of the ResNet paper's CIFAR networks (as scripts/count-models.py).

The formula (test/parity.test.ts has the same one):

    fnv1a(s)       32-bit FNV-1a of the ASCII key
    hash(i, seed)  h = i * 0x9E3779B1 + seed (mod 2^32), then h ^= h >> 16; h *= 0x7FEB352D; h ^= h >> 15;
                   h *= 0x846CA68B; h ^= h >> 16 (all mod 2^32)
    u(i, seed)     (hash(i, seed) >> 8) / 2^24 - 0.5: a multiple of 2^-24 in [-0.5, 0.5), exact in float32

and each tensor of the state dict, in PyTorch's layout, flat index i, u = u(i, fnv1a(key)), rounded once from
float64 to float32:

    weight, rank >= 2 (conv / linear)   u * sqrt(16 / fan_in), fan_in = prod(shape[1:]) (variance 4/3 / fan_in)
    weight, rank 1 (BatchNorm gamma)    1 + u / 2
    bias (conv, linear, BatchNorm beta) u / 8
    running_mean                        u / 8
    running_var                         1 / 2 + |u|
    num_batches_tracked                 0 (left as PyTorch makes it)

and the input, NCHW: u(i, fnv1a('input')) * input_scale. Computed in float64 (model.double()), eval mode; the
logits are cast to float32.

The gain 16 keeps every model's logits between about 0.1 and 200 (std); 24 (He's) makes ResNet-50's 1e5, 12 makes
VGG-16's mostly bias. Deep random ReLU nets map different inputs to strongly correlated logits (the part that the
two images of a batch do not share is 4-80% of the std, printed as 'diff/std'); the test checks that part on its
own too.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

from reference_models import CifarResNet, cifar_stem

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support"))
from fixtures import checksum, fnv1a  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "parity")

M32 = np.uint32


def unit(n, seed):
    """u(i, seed) for i = 0 .. n-1, as float64 (exact multiples of 2^-24)."""
    out = np.empty(n, dtype=np.float64)
    chunk = 1 << 22
    with np.errstate(over="ignore"):
        for start in range(0, n, chunk):
            h = np.arange(start, min(n, start + chunk), dtype=np.uint32)
            h = h * M32(0x9E3779B1) + M32(seed)
            h ^= h >> M32(16)
            h *= M32(0x7FEB352D)
            h ^= h >> M32(15)
            h *= M32(0x846CA68B)
            h ^= h >> M32(16)
            out[start:start + len(h)] = (h >> M32(8)).astype(np.float64) / 16777216.0 - 0.5
    return out


def tensor_values(key, shape):
    """The float32 values of state-dict tensor `key` (PyTorch layout), flat."""
    name = key.rsplit(".", 1)[-1]
    n = int(np.prod(shape)) if len(shape) else 1
    if name == "num_batches_tracked":
        return np.zeros(n, dtype=np.float32)
    u = unit(n, fnv1a(key))
    if name == "weight" and len(shape) >= 2:
        v = u * math.sqrt(16.0 / int(np.prod(shape[1:])))
    elif name == "weight":
        v = 1.0 + u / 2
    elif name in ("bias", "running_mean"):
        v = u / 8
    elif name == "running_var":
        v = 0.5 + np.abs(u)
    else:
        raise ValueError(f"no rule for state-dict key {key}")
    return v.astype(np.float32)


# ------------------------------------------------------------------------------------------------------------
# Rebuilds of the models torchvision does not have


class LeNet5(nn.Module):
    """MMPretrain's LeNet5 (mmpretrain/models/backbones/lenet.py) with its classifier, for 28x28 input (padding 2)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, stride=1, padding=2), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5, stride=1), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(16, 120, 5, stride=1), nn.Tanh(),
        )
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class AlexNet2012(nn.Module):
    """The two-GPU AlexNet as packages/models-classic/src/alexnet.ts builds it (same children, same indices)."""

    def __init__(self, num_classes=1000):
        super().__init__()
        lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4, padding=0), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),  # 0-3
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),  # 4-7
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),  # 8-9
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),  # 10-11
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),  # 12-14
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 36, 4096), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def resnet18_cifar():
    return cifar_stem(torchvision.models.resnet18(num_classes=10))


tv = torchvision.models

# id: (builder, numClasses, input NCHW, input scale, what the reference is, params the reference must have)
# Input sizes: small, but chosen so that the last feature maps are more than 1x1 (the flatten order of the first
# classifier layer matters: 4x4 -> 6x6 for alexnet, 3x3 -> 6x6 for alexnet_2012, 3x3 -> 7x7 for VGG), ceil_mode
# rounds up at every max pool of GoogLeNet (80 -> 40 -> 20 -> 10 -> 5 -> 3), and ResNet's stride-2 layers see
# both even and odd sizes (72 -> 36 -> 18 -> 9 -> 5 -> 3). alexnet_2012's input is scaled by 128 so that its
# local response normalisation (alpha 1e-4) changes the activations by several percent, not by 1e-5.
MODELS = {
    "lenet5": (lambda: LeNet5(10), 10, [2, 1, 28, 28], 2, "PyTorch rebuild of MMPretrain's LeNet5", 61_706),
    "alexnet": (lambda: tv.alexnet(), 1000, [2, 3, 160, 160], 2, "torchvision alexnet", 61_100_840),
    "alexnet_2012": (lambda: AlexNet2012(1000), 1000, [2, 3, 160, 160], 128, "PyTorch rebuild of src/alexnet.ts alexnet_2012", 60_965_224),
    "vgg11": (lambda: tv.vgg11(), 1000, [2, 3, 96, 96], 2, "torchvision vgg11", 132_863_336),
    "vgg11_bn": (lambda: tv.vgg11_bn(), 1000, [2, 3, 96, 96], 2, "torchvision vgg11_bn", 132_868_840),
    "vgg16": (lambda: tv.vgg16(), 1000, [2, 3, 96, 96], 2, "torchvision vgg16", 138_357_544),
    "googlenet": (lambda: tv.googlenet(aux_logits=False, init_weights=False, transform_input=False), 1000, [2, 3, 80, 80], 2,
                  "torchvision googlenet(aux_logits=False, transform_input=False)", 6_624_904),
    "resnet18": (lambda: tv.resnet18(), 1000, [2, 3, 72, 72], 2, "torchvision resnet18", 11_689_512),
    "resnet50": (lambda: tv.resnet50(), 1000, [2, 3, 72, 72], 2, "torchvision resnet50", 25_557_032),
    "resnext50_32x4d": (lambda: tv.resnext50_32x4d(), 1000, [2, 3, 72, 72], 2, "torchvision resnext50_32x4d", 25_028_904),
    "resnet18_cifar": (resnet18_cifar, 10, [2, 3, 32, 32], 2, "torchvision resnet18(num_classes=10), 3x3 stem, no max pool", 11_173_962),
    "resnet20_cifar": (lambda: CifarResNet(20, 10), 10, [2, 3, 32, 32], 2, "PyTorch rebuild of the paper's CIFAR ResNet-20", 269_722),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    only = set(sys.argv[1:])
    entries, blob = [], bytearray()
    print(f"{'id':18s} {'keys':>5s} {'params':>12s} {'input':>16s} {'logits std':>11s} {'min':>9s} {'max':>9s} {'diff/std':>8s}  top-1")
    for mid, (build, classes, shape, scale, ref, want_params) in MODELS.items():
        if only and mid not in only:
            continue
        torch.manual_seed(0)
        model = build()
        params = sum(p.numel() for p in model.parameters())
        if params != want_params:
            raise SystemExit(f"{mid}: the reference has {params} parameters, expected {want_params}")
        model = model.double().eval()
        keys = []
        with torch.no_grad():
            for key, t in model.state_dict(keep_vars=True).items():
                shp = list(t.shape)
                v = tensor_values(key, shp)
                if not key.endswith("num_batches_tracked"):
                    t.copy_(torch.from_numpy(v.astype(np.float64)).reshape(shp))
                keys.append([key, shp, checksum(v)])
            x = torch.from_numpy((unit(int(np.prod(shape)), fnv1a("input")) * scale).astype(np.float32).astype(np.float64)).reshape(shape)
            y = model(x).numpy().astype(np.float32)
        assert y.shape == (shape[0], classes), y.shape
        assert np.isfinite(y).all()
        offset = len(blob) // 4
        blob += y.astype("<f4").tobytes()
        entries.append({
            "id": mid, "reference": ref, "numClasses": classes, "params": params,
            "input": {"shape": shape, "scale": scale},
            "logits": {"offset": offset, "shape": list(y.shape), "std": float(y.std()), "absmax": float(np.abs(y).max())},
            "keys": keys,
        })
        top1 = y.argmax(1).tolist()
        diff = float((y[0] - y[1]).std() / y.std())
        print(f"{mid:18s} {len(keys):5d} {params:12,d} {'x'.join(map(str, shape)):>16s} {y.std():11.4g} {y.min():9.4g} {y.max():9.4g} {diff:8.3f}  {top1}")
        del model

    # Values the test recomputes first, so that a difference in the formula itself is told apart from a model bug.
    probe = unit(8, fnv1a("input"))
    doc = {
        "generator": "packages/models-classic/scripts/make-parity-fixtures.py",
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "formulaCheck": {
            "fnv1a": {s: fnv1a(s) for s in ["", "input", "features.0.weight", "layer1.0.bn1.running_var"]},
            "inputU": [float(v) for v in probe],
            "values": {k: [float(v) for v in tensor_values(k, s)[:4]] for k, s in [
                ("features.0.weight", [6, 1, 5, 5]), ("bn1.weight", [64]), ("fc.bias", [10]),
                ("bn1.running_mean", [16]), ("bn1.running_var", [16])]},
        },
        "models": entries,
    }
    if only:
        print("(only some ids: fixtures not written)")
        return
    with open(os.path.join(OUT, "parity.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(OUT, "parity.bin"), "wb") as f:
        f.write(bytes(blob))
    sizes = {n: os.path.getsize(os.path.join(OUT, n)) for n in ["parity.json", "parity.bin"]}
    print(f"wrote {OUT}: " + ", ".join(f"{n} {s:,d} bytes" for n, s in sizes.items()))


if __name__ == "__main__":
    main()
