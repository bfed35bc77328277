"""Writes src/pretrained/table.ts: the published ImageNet-1k weights of the zoo, one entry per file.

Run with Debian's torchvision 0.14 (the `python3` on PATH has no torch):

    /usr/bin/python3 packages/models-classic/scripts/make-pretrained-table.py

torchvision's rows come from torchvision itself: for every zoo id that torchvision has a builder of the same name for,
each member of its Weights enum gives the URL, the published acc@1 / acc@5 and the evaluation transforms
(`weights.transforms()`: resize, crop, interpolation, mean, std). Left out: weights that are not an ImageNet-1k
classifier (VGG16_Weights.IMAGENET1K_FEATURES, whose classifier is not trained: no published accuracy).

MMPretrain's rows are the MMPRETRAIN list below, copied as facts from open-mmlab/mmpretrain's model-zoo metafiles
(configs/<family>/metafile.yml: weights URL, Top 1 / Top 5) and configs (the test pipeline of
configs/_base_/datasets/imagenet_bs*_pil_resize.py: ResizeEdge(256, short edge, pillow backend, bilinear) then
CenterCrop(224); data_preprocessor mean/std in 0..255, divided by 255 here). Only ids whose architecture matches
MMPretrain's exactly are listed; their key layout is rebuilt from MMPretrain's source (no MMPretrain here), so they are
`verified: false`.

Order (the default rule): per id, the entry listed first is the default that `loadPretrained(id)` picks; torchvision's
own DEFAULT (its best published weights) first, then its other weights in the enum's order, then MMPretrain's.
"""
import json
import os
import re
import sys

import torchvision
from torchvision.models import get_model_weights, list_models

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "pretrained", "table.ts")

# The zoo's ids (node -e "import('@cnn/models-efficient').then(m => console.log(m.listModels().join(' ')))").
ZOO = """alexnet alexnet_2012 googlenet lenet5 mobilenet_v1 mobilenet_v2 mobilenet_v3_large mobilenet_v3_small resnet101
resnet110_cifar resnet152 resnet18 resnet18_cifar resnet20_cifar resnet32_cifar resnet34 resnet34_cifar
resnet44_cifar resnet50 resnet50_cifar resnet56_cifar resnext101_32x8d resnext50_32x4d seresnet101 seresnet50
seresnext50_32x4d shufflenet_v1_x0_5_g1 shufflenet_v1_x0_5_g2 shufflenet_v1_x0_5_g3 shufflenet_v1_x1_0_g1
shufflenet_v1_x1_0_g2 shufflenet_v1_x1_0_g3 shufflenet_v1_x1_0_g4 shufflenet_v1_x1_0_g8 shufflenet_v1_x1_5_g1
shufflenet_v1_x1_5_g2 shufflenet_v1_x1_5_g3 shufflenet_v1_x2_0_g1 shufflenet_v1_x2_0_g2 shufflenet_v1_x2_0_g3
shufflenet_v1_x2_0_g4 shufflenet_v1_x2_0_g8 shufflenet_v2_x0_5 shufflenet_v2_x1_0 shufflenet_v2_x1_5
shufflenet_v2_x2_0 vgg11 vgg11_bn vgg13 vgg13_bn vgg16 vgg16_bn vgg19 vgg19_bn""".split()

# Key maps (src/pretrained/keymaps.ts) and model options per id, where not the plain identity.
TV_KEYMAP = {"googlenet": "torchvision-googlenet"}
TV_MODEL_OPTIONS = {"googlenet": {"transformInput": True}}
TV_LICENSE = "BSD-3-Clause"

MM_PREPROCESS = {
    "resize": 256, "crop": 224, "interpolation": "bilinear",
    "mean": [123.675 / 255, 116.28 / 255, 103.53 / 255], "std": [58.395 / 255, 57.12 / 255, 57.375 / 255],
}
# (id, metafile model name, weights URL, top-1, top-5, key map), from configs/<family>/metafile.yml.
MMPRETRAIN = [
    ("seresnet50", "seresnet50_8xb32_in1k",
     "https://download.openmmlab.com/mmclassification/v0/se-resnet/se-resnet50_batch256_imagenet_20200804-ae206104.pth",
     77.74, 93.84, "mmpretrain-seresnet"),
    ("seresnet101", "seresnet101_8xb32_in1k",
     "https://download.openmmlab.com/mmclassification/v0/se-resnet/se-resnet101_batch256_imagenet_20200804-ba5b51d4.pth",
     78.26, 94.07, "mmpretrain-seresnet"),
    ("shufflenet_v1_x1_0_g3", "shufflenet-v1-1x_16xb64_in1k",
     "https://download.openmmlab.com/mmclassification/v0/shufflenet_v1/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth",
     68.13, 87.81, "mmpretrain"),
]
MM_LICENSE = "Apache-2.0"

HASH = re.compile(r"-([0-9a-f]{8,})\.pth$")  # torch.hub checks every hex digit after the last "-"


def torchvision_rows(zid):
    if zid not in list_models():
        return []
    enum = get_model_weights(zid)
    members = list(enum)
    default = enum.DEFAULT
    members.sort(key=lambda w: 0 if w == default else 1)  # stable: the rest keep the enum's order
    rows = []
    for w in members:
        metrics = w.meta.get("_metrics", {}).get("ImageNet-1K", {})
        if len(w.meta.get("categories") or []) != 1000 or "acc@1" not in metrics or metrics["acc@1"] != metrics["acc@1"]:
            continue  # not a trained ImageNet-1k classifier (VGG16's IMAGENET1K_FEATURES: acc nan)
        t = w.transforms()
        interp = t.interpolation.value
        assert interp in ("bilinear", "bicubic"), (zid, interp)
        file = w.url.rsplit("/", 1)[1]
        rows.append({
            "id": zid, "name": w.name, "source": "torchvision", "dataset": "imagenet-1k",
            "url": w.url, "file": file, "sha256Prefix": HASH.search(file).group(1),
            "keyMap": TV_KEYMAP.get(zid, "torchvision"), "license": TV_LICENSE,
            "top1": metrics["acc@1"], "top5": metrics["acc@5"],
            "preprocess": {"resize": t.resize_size[0], "crop": t.crop_size[0], "interpolation": interp,
                           "mean": list(t.mean), "std": list(t.std)},
            **({"modelOptions": TV_MODEL_OPTIONS[zid]} if zid in TV_MODEL_OPTIONS else {}),
            "verified": True,
        })
    return rows


def mmpretrain_rows(zid):
    rows = []
    for mid, name, url, top1, top5, keymap in MMPRETRAIN:
        if mid != zid:
            continue
        file = url.rsplit("/", 1)[1]
        rows.append({
            "id": zid, "name": "mmpretrain", "source": "mmpretrain", "dataset": "imagenet-1k",
            "url": url, "file": file, "sha256Prefix": HASH.search(file).group(1), "keyMap": keymap,
            "license": MM_LICENSE, "top1": top1, "top5": top5, "preprocess": MM_PREPROCESS, "verified": False,
        })
    return rows


def ts_value(v):
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k}: {ts_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(ts_value(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(round(v, 12)).rstrip("0").rstrip(".") if "e" not in repr(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def main():
    rows = []
    for zid in ZOO:
        rows += torchvision_rows(zid) + mmpretrain_rows(zid)
    known = {m for m, *_ in MMPRETRAIN}
    assert known <= set(ZOO), known - set(ZOO)
    lines = [
        "// GENERATED by packages/models-classic/scripts/make-pretrained-table.py from torchvision "
        f"{torchvision.__version__.split('+')[0]}'s",
        "// Weights enums and MMPretrain's model-zoo metafiles; edit the script, not this file.",
        "//",
        "// One entry per published ImageNet-1k weights file (see `types.ts` for the fields). The default rule: per id, the",
        "// entry listed first is the default (`loadPretrained(id)` without `weights`): torchvision's DEFAULT (its best",
        "// published weights) first, then its other weights in its enum's order, then MMPretrain's. MMPretrain entries are",
        "// `verified: false`: their key layout was rebuilt from MMPretrain's source, not read from MMPretrain itself.",
        "import type { PretrainedEntry } from './types';",
        "",
        "/** Every published weights file the zoo can load, in the order `listPretrained()` shows them. */",
        "export const PRETRAINED_TABLE: readonly PretrainedEntry[] = [",
    ]
    for r in rows:
        lines.append("  " + ts_value(r) + ",")
    lines.append("];")
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as f:
        f.write(text)
    per = {}
    for r in rows:
        per[r["source"]] = per.get(r["source"], 0) + 1
    print(f"wrote {os.path.relpath(OUT)}: {len(rows)} entries {per}; ids: {len({r['id'] for r in rows})}", file=sys.stderr)


if __name__ == "__main__":
    main()
