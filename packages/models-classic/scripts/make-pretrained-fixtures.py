"""Makes the fixtures of the weights table's key-map tests (test/pretrained-keymaps.test.ts here and
packages/models-efficient/test/pretrained-keymaps.test.ts): the layout of every published file and a few logits.

Run with Debian's PyTorch 1.13 / torchvision 0.14 (the `python3` on PATH has no torch), after
scripts/make-pretrained-table.py:

    /usr/bin/python3 packages/models-classic/scripts/make-pretrained-fixtures.py

Writes test/fixtures/pretrained/layouts.json.gz (gzip'd JSON) and test/fixtures/pretrained/logits.bin:

  layouts   per upstream layout, the state dict the published file holds, as [key, shape] in state_dict order:
            'torchvision:<id>'  torchvision's own builder with the options its weights are loaded with (GoogLeNet:
                                aux_logits=True, transform_input=True: the file holds the auxiliary heads), read from
                                torchvision itself, so the table's torchvision entries are `verified: true`;
            'mmpretrain:<id>'   MMPretrain's ImageClassifier (`backbone.` + `head.fc.`) REBUILT here from MMPretrain's
                                source (mmpretrain/models/backbones/seresnet.py, resnet.py, shufflenet_v1.py,
                                utils/se_layer.py, heads/linear_head.py), as there is no MMPretrain here: those entries
                                are `verified: false`.
  cases     logits of one representative per distinct (architecture, key map) that the model parity tests do not
            already cover: torchvision's GoogLeNet with transform_input and its aux heads (key map
            'torchvision-googlenet'), and the MMPretrain rebuilds of SE-ResNet-50 ('mmpretrain-seresnet') and
            ShuffleNetV1 1.0x g3 ('mmpretrain'). The identity map 'torchvision' is covered by test/parity.test.ts here
            and in models-efficient (alexnet, vgg11, vgg11_bn, vgg16, resnet18, resnet50, resnext50_32x4d,
            mobilenet_v2, mobilenet_v3_small/large, shufflenet_v2_x0_5/x1_0).

The cases' weights are not stored: every tensor of the upstream state dict is computed from test-support/fixtures.py's
formula, seeded with fnv1a(upstream key), in PyTorch's layout (the test has the same rule, `pretrainedValues`):

    weight, rank >= 2        realise(shape, seed, sqrt(16 / fan_in))   (variance 4/3 / fan_in)
    weight, rank 1 (BN)      realise(shape, seed, 0.5, 1)
    bias, running_mean       realise(shape, seed, 0.125)
    running_var              realise(shape, seed, 0.5, 1)
    num_batches_tracked      0

and the input, NCHW, realise(shape, fnv1a('input'), scale). Computed in float64, eval mode; logits cast to float32.
"""
import gzip
import importlib.util
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models import resnet as tv_resnet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test-support"))
from fixtures import checksum, fnv1a, make_divisible, realise  # noqa: E402

OUT = os.path.join(HERE, "..", "test", "fixtures", "pretrained")
TABLE = os.path.join(HERE, "..", "src", "pretrained", "table.ts")


def efficient_rebuilds():
    """packages/models-efficient/scripts/make-parity-fixtures.py, for its rebuild of MMPretrain's ShuffleNetV1."""
    path = os.path.join(ROOT, "packages", "models-efficient", "scripts", "make-parity-fixtures.py")
    spec = importlib.util.spec_from_file_location("efficient_parity", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.set_default_dtype(torch.float32)  # that script sets float64 as it loads
    return mod


# ------------------------------------------------------------------------------------------------------------
# MMPretrain's ImageClassifier, rebuilt: `backbone` (the network without its classifier), GlobalAveragePooling (no
# parameters), LinearClsHead (`head.fc`).


class ConvAct(nn.Module):
    """mmcv's ConvModule without a norm (SELayer's): 'conv' (with bias), then the activation."""

    def __init__(self, cin, cout, act):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)
        self.act = act

    def forward(self, x):
        return self.act(self.conv(x))


class SELayer(nn.Module):
    """MMPretrain's SELayer (utils/se_layer.py), ratio 16, divisor 8: pool, conv1 (ReLU), conv2 (Sigmoid), x * w."""

    def __init__(self, c, ratio=16, divisor=8):
        super().__init__()
        mid = make_divisible(c // ratio, divisor)
        self.conv1 = ConvAct(c, mid, nn.ReLU())
        self.conv2 = ConvAct(mid, c, nn.Sigmoid())

    def forward(self, x):
        return x * self.conv2(self.conv1(x.mean((2, 3), keepdim=True)))


class SEBottleneck(tv_resnet.Bottleneck):
    """MMPretrain's SEBottleneck (backbones/seresnet.py), style 'pytorch' (stride on the 3x3): ResNet's bottleneck
    (conv1/bn1, conv2/bn2, conv3/bn3, downsample.0/.1: resnet.py's names) with se_layer after bn3, before the addition."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1, norm_layer=None):
        super().__init__(inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer)
        self.se_layer = SELayer(planes * self.expansion)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se_layer(self.bn3(self.conv3(out)))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Head(nn.Module):
    def __init__(self, cin, classes=1000):
        super().__init__()
        self.fc = nn.Linear(cin, classes)


class SEResNetBackbone(tv_resnet.ResNet):
    """MMPretrain's ResNet backbone layout (conv1, bn1, layer1..4; no fc) with SEBottleneck."""

    def __init__(self, layers):
        super().__init__(SEBottleneck, layers)
        del self.fc
        del self.avgpool

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ShuffleNetV1Backbone(nn.Module):
    """MMPretrain's ShuffleNetV1 backbone (conv1, maxpool, layers), from the models-efficient parity rebuild."""

    def __init__(self, groups, widen):
        super().__init__()
        net = efficient_rebuilds().ShuffleNetV1(groups, widen)
        self.conv1, self.maxpool, self.layers = net.conv1, net.maxpool, net.layers

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        for layer in self.layers:
            x = layer(x)
        return x


class ImageClassifier(nn.Module):
    def __init__(self, backbone, channels):
        super().__init__()
        self.backbone = backbone
        self.head = Head(channels)

    def forward(self, x):
        return self.head.fc(self.backbone(x).mean((2, 3)))


MMPRETRAIN = {
    "seresnet50": lambda: ImageClassifier(SEResNetBackbone([3, 4, 6, 3]), 2048),
    "seresnet101": lambda: ImageClassifier(SEResNetBackbone([3, 4, 23, 3]), 2048),
    "shufflenet_v1_x1_0_g3": lambda: ImageClassifier(ShuffleNetV1Backbone(3, 1.0), 960),
}

# torchvision's builder options for its published weights (what `weights=...` sets), per id.
TORCHVISION_OPTIONS = {"googlenet": {"aux_logits": True, "transform_input": True, "init_weights": False}}

# (case name, layout, key map, our model options, input NCHW, input scale)
CASES = [
    ("googlenet", "torchvision:googlenet", "torchvision-googlenet", {"transformInput": True}, [2, 3, 80, 80], 2.0),
    ("seresnet50", "mmpretrain:seresnet50", "mmpretrain-seresnet", {}, [2, 3, 72, 72], 2.0),
    ("shufflenet_v1_x1_0_g3", "mmpretrain:shufflenet_v1_x1_0_g3", "mmpretrain", {}, [2, 3, 64, 64], 2.0),
]


def build(layout):
    source, zid = layout.split(":")
    torch.manual_seed(0)
    if source == "torchvision":
        return torchvision.models.get_model(zid, weights=None, **TORCHVISION_OPTIONS.get(zid, {}))
    return MMPRETRAIN[zid]()


def tensor_values(key, shape):
    """float32 values of upstream tensor `key` (PyTorch layout), flat; the test's `pretrainedValues`."""
    leaf = key.rsplit(".", 1)[-1]
    seed = fnv1a(key)
    if leaf == "num_batches_tracked":
        return np.zeros(int(np.prod(shape)) if shape else 1, dtype=np.float32)
    if leaf == "weight" and len(shape) >= 2:
        v = realise(shape, seed, math.sqrt(16.0 / int(np.prod(shape[1:]))))
    elif leaf == "weight" or leaf == "running_var":
        v = realise(shape, seed, 0.5, 1.0)
    elif leaf in ("bias", "running_mean"):
        v = realise(shape, seed, 0.125)
    else:
        raise ValueError(f"no rule for {key}")
    return v.astype(np.float32).reshape(-1)


def table_layouts():
    """The layouts the table's entries need: 'torchvision:<id>' or 'mmpretrain:<id>' per entry (read from table.ts)."""
    import re
    text = open(TABLE).read()
    pairs = re.findall(r"id: '([a-z0-9_]+)',\s*name: '[A-Za-z0-9_]+',\s*source: '([a-z]+)'", text)
    assert pairs, "no entries found in table.ts"
    return sorted({f"{src}:{zid}" for zid, src in pairs})


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    layouts = {}
    for name in table_layouts():
        model = build(name)
        layouts[name] = [[k, list(t.shape)] for k, t in model.state_dict().items()]
        print(f"{name:34s} {len(layouts[name]):5d} keys")
        del model

    cases, blob = [], bytearray()
    for case, layout, keymap, options, shape, scale in CASES:
        model = build(layout).double().eval()
        sums = {}
        with torch.no_grad():
            for key, t in model.state_dict(keep_vars=True).items():
                v = tensor_values(key, list(t.shape))
                sums[key] = checksum(v)
                if not key.endswith("num_batches_tracked"):
                    t.copy_(torch.from_numpy(v.astype(np.float64)).reshape(t.shape))
            x = torch.from_numpy(realise(shape, fnv1a("input"), scale))
            y = model(x)
            y = (y.logits if hasattr(y, "logits") else y).numpy().astype(np.float32)
        assert y.shape == (shape[0], 1000) and np.isfinite(y).all(), (case, y.shape)
        diff = float((y[0] - y[1]).std() / y.std())
        print(f"case {case:24s} logits std {y.std():.4g} absmax {np.abs(y).max():.4g} (image 0 - 1)/std {diff:.3f}")
        first = next(iter(sums))
        cases.append({
            "case": case, "layout": layout, "keyMap": keymap, "modelOptions": options,
            "input": {"shape": shape, "scale": scale},
            "logits": {"offset": len(blob) // 4, "shape": list(y.shape)},
            "checksum": {"key": first, "sum": sums[first]}, "checksumAll": sum(sums.values()) % (1 << 32),
        })
        blob += y.astype("<f4").tobytes()
        del model

    doc = {
        "generator": "packages/models-classic/scripts/make-pretrained-fixtures.py",
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "layouts": layouts, "cases": cases,
    }
    data = json.dumps(doc, separators=(",", ":")).encode()
    with gzip.GzipFile(os.path.join(OUT, "layouts.json.gz"), "wb", mtime=0) as f:
        f.write(data)
    with open(os.path.join(OUT, "logits.bin"), "wb") as f:
        f.write(bytes(blob))
    for n in ["layouts.json.gz", "logits.bin"]:
        print(f"wrote {n}: {os.path.getsize(os.path.join(OUT, n)):,d} bytes")


if __name__ == "__main__":
    main()
