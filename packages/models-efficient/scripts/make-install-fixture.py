"""Makes the fixtures of test/install.test.ts: a picture and PyTorch's top-5 classes of torchvision's mobilenet_v2 on
it, with weights that both sides compute from one formula, so that no weights are committed.

Run with Debian's PyTorch 1.13 / torchvision 0.14 (the `python3` on PATH has no torch):

    /usr/bin/python3 packages/models-efficient/scripts/make-install-fixture.py [--safetensors FILE]

(a few seconds). Writes test/fixtures/install/scene.png (a 256x256 RGB picture drawn here: sky, sun, hills, a house)
and test/fixtures/install/expected.json (the formula's name, the state-dict keys, shapes, dtypes and a checksum of
each tensor, the SHA-256 of the safetensors file, the picture's SHA-256, PyTorch's top-5 and the margins). With
--safetensors it keeps the weights file it made there (14 MB; the test makes its own, byte for byte the same).

The weights file is safetensors written by hand: an 8-byte little-endian header length, the header JSON (no spaces;
"__metadata__" {"format": "pt"} first, then the tensors in state-dict order with their offsets; padded with spaces to
a multiple of 8 bytes), then each tensor's raw little-endian data in that order: F32 for parameters and BatchNorm
statistics, I64 for num_batches_tracked. PyTorch's numbers come from that file as read back here.

The formula (test/install.test.ts has the same one), per state-dict key, in PyTorch's layout, flat index i:

    seed             fnv1a("cnn-install/mobilenet_v2/" + key), 32-bit FNV-1a of the ASCII string
    h(i, seed)       x = i * 0x85EBCA77 + seed; x ^= x >> 17; x *= 0xED5AD4BB; x ^= x >> 11; x *= 0xAC4C1B51;
                     x ^= x >> 15; x *= 0x31848BAB; x ^= x >> 14 (all mod 2^32)
    u(i, seed)       (h(i, seed) >> 8) / 2^24 - 1/2: a multiple of 2^-24 in [-1/2, 1/2), exact in float32

    conv weight (rank 4)              u * 1.4 * sqrt(12 / fan_in), fan_in = prod(shape[1:]) (variance 1.96 / fan_in)
    classifier weight (rank 2)        u * 2 * sqrt(12 / fan_in)
    BatchNorm weight (rank 1)         1 + u / 2
    bias (BatchNorm beta, classifier) u / 4
    running_mean                      u
    running_var                       1 / 2 + 2 |u|
    num_batches_tracked (int64)       seed mod 1000003

each value computed in float64 and rounded once to float32. The gains keep every block's output between about 1 and
7 (std) and spread the logits (std about 5), so that the top-5 is well apart from the rest; random networks map
every picture to strongly correlated logits, so the script also checks that the top-5 changes when the
preprocessing is wrong (channels swapped, no normalisation, the picture transposed).
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support"))
from fixtures import checksum, fnv1a  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "install")
PREFIX = "cnn-install/mobilenet_v2/"
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
# The smallest logit gap allowed between neighbours among the top 6: float32 noise in the logits is about 1e-4.
MIN_GAP = 0.02

M32 = np.uint32


def unit(n, seed):
    """u(i, seed) for i = 0 .. n-1, as float64 (exact multiples of 2^-24)."""
    with np.errstate(over="ignore"):
        x = np.arange(n, dtype=np.uint32) * M32(0x85EBCA77) + M32(seed)
        x ^= x >> M32(17)
        x *= M32(0xED5AD4BB)
        x ^= x >> M32(11)
        x *= M32(0xAC4C1B51)
        x ^= x >> M32(15)
        x *= M32(0x31848BAB)
        x ^= x >> M32(14)
    return (x >> M32(8)).astype(np.float64) / 16777216.0 - 0.5


def tensor_values(key, shape):
    """The values of state-dict tensor `key` (PyTorch's layout), flat: float32, or int64 for num_batches_tracked."""
    name = key.rsplit(".", 1)[-1]
    n = int(np.prod(shape)) if len(shape) else 1
    seed = fnv1a(PREFIX + key)
    if name == "num_batches_tracked":
        return np.full(n, seed % 1000003, dtype=np.int64)
    u = unit(n, seed)
    if name == "weight" and len(shape) == 4:
        v = u * 1.4 * math.sqrt(12.0 / int(np.prod(shape[1:])))
    elif name == "weight" and len(shape) == 2:
        v = u * 2.0 * math.sqrt(12.0 / shape[1])
    elif name == "weight":
        v = 1.0 + u / 2
    elif name == "bias":
        v = u / 4
    elif name == "running_mean":
        v = u
    elif name == "running_var":
        v = 0.5 + 2 * np.abs(u)
    else:
        raise ValueError(f"no rule for state-dict key {key}")
    return v.astype(np.float32)


def safetensors_bytes(entries):
    """entries: [(key, shape, values)] -> the file's bytes (see the docstring)."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    blobs = []
    for key, shape, v in entries:
        data = v.astype(v.dtype.newbyteorder("<")).tobytes()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[v.dtype]
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(raw):
    """The tensors of a safetensors file, by key (a reader of its own, to load what was written into PyTorch)."""
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[meta["dtype"]]
        out[key] = np.frombuffer(raw[base + a : base + b], dtype=dtype).reshape(meta["shape"])
    return out


# ------------------------------------------------------------------------------------------------------------
# The picture


def draw_scene(size=256):
    """A 256x256 RGB picture: a sky gradient, a sun, two hills, a house with a roof, a door and a window; edges
    anti-aliased by 4x4 supersampling. uint8, HWC."""
    ss = 4
    n = size * ss
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / ss
    img = np.zeros((n, n, 3))
    t = np.clip(y / 150, 0, 1)[..., None]
    img[:] = (1 - t) * np.array([40, 90, 185]) + t * np.array([175, 205, 240])

    def paint(mask, color):
        img[mask] = color

    paint((x - 196) ** 2 + (y - 52) ** 2 < 26**2, [255, 214, 70])
    far = y > 140 + 18 * np.sin(x / 31 + 1.0) + 0.0008 * (x - 200) ** 2
    paint(far, [95, 150, 80])
    near = y > 175 + 10 * np.sin(x / 17)
    shade = np.clip((y - 175) / 90, 0, 1)[..., None]
    img[near] = ((1 - shade) * np.array([70, 160, 60]) + shade * np.array([30, 95, 35]))[near]
    paint((x > 40) & (x < 128) & (y > 118) & (y < 196), [185, 60, 45])
    paint((y > 70) & (y <= 118) & (np.abs(x - 84) < (y - 70) * 1.1), [95, 45, 40])
    paint((x > 72) & (x < 96) & (y > 156) & (y < 196), [70, 40, 25])
    window = (x > 100) & (x < 120) & (y > 132) & (y < 150)
    paint(window, [225, 240, 250])
    paint(window & ((np.abs(x - 110) < 1.2) | (np.abs(y - 141) < 1.2)), [60, 40, 30])
    paint((x > 150) & (x < 156) & (y > 150) & (y < 200), [100, 70, 40])
    paint((x - 153) ** 2 + (y - 140) ** 2 < 20**2, [40, 120, 50])
    img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def preprocess(rgb, normalise=True):
    """torchvision's evaluation transform on a 256x256 picture: Resize(256) leaves it as it is, CenterCrop(224) takes
    rows and columns 16 .. 239, ToTensor scales to [0, 1], Normalize uses ImageNet's mean and std. NCHW float32."""
    crop = rgb[16:240, 16:240].astype(np.float32) / 255
    if normalise:
        crop = (crop - MEAN.astype(np.float32)) / STD.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)[None]))


def dump(doc):
    """JSON with one line per top-level field, and one line per state-dict key."""
    fields = []
    for k, v in doc.items():
        if k == "keys":
            rows = ",\n".join("  " + json.dumps(e, separators=(",", ":")) for e in v)
            fields.append(f" {json.dumps(k)}: [\n{rows}\n ]")
        else:
            fields.append(f" {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def top(logits, k):
    order = np.argsort(-logits, kind="stable")[:k]
    return [int(i) for i in order]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--safetensors", help="also keep the weights file here")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    model = torchvision.models.mobilenet_v2(num_classes=1000).eval()
    sd = model.state_dict()
    entries = [(k, list(t.shape), tensor_values(k, list(t.shape))) for k, t in sd.items()]
    raw = safetensors_bytes(entries)
    if args.safetensors:
        with open(args.safetensors, "wb") as f:
            f.write(raw)

    # PyTorch's weights are the file's, read back.
    tensors = read_safetensors(raw)
    assert list(tensors) == list(sd), "file keys differ from the state dict"
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)

    rgb = draw_scene()
    png = os.path.join(OUT, "scene.png")
    Image.fromarray(rgb, "RGB").save(png, optimize=True)
    back = np.asarray(Image.open(png).convert("RGB"))
    assert back.shape == (256, 256, 3) and np.array_equal(back, rgb), "the PNG does not round-trip"
    with open(png, "rb") as f:
        png_bytes = f.read()

    x = preprocess(rgb)
    with torch.no_grad():
        logits32 = model(x)[0].numpy()
        logits64 = model.double()(x.double())[0].numpy()
        model.float()
        probs32 = torch.softmax(torch.from_numpy(logits32), 0).numpy()
    top6 = top(logits64, 6)
    assert top(logits32, 5) == top6[:5], "float32 and float64 disagree on the top 5"
    sorted64 = logits64[top6]
    gaps = [float(sorted64[i] - sorted64[i + 1]) for i in range(5)]
    std = float(logits64.std())
    assert min(gaps) >= MIN_GAP, f"top-6 logits too close: gaps {gaps}; change the formula's gains or the picture"

    # The top 5 must depend on the picture as the preprocessing makes it.
    variants = {
        "channels swapped (BGR)": preprocess(rgb[..., ::-1]),
        "no normalisation": preprocess(rgb, normalise=False),
        "picture transposed": preprocess(np.ascontiguousarray(rgb.transpose(1, 0, 2))),
        "crop one pixel off": torch.from_numpy(
            np.ascontiguousarray(((rgb[17:241, 17:241].astype(np.float32) / 255 - MEAN.astype(np.float32)) / STD.astype(np.float32)).transpose(2, 0, 1)[None])
        ),
    }
    sensitivity = {}
    with torch.no_grad():
        for name, xv in variants.items():
            sensitivity[name] = top(model(xv)[0].numpy(), 5)
    for name in ("channels swapped (BGR)", "no normalisation", "picture transposed"):
        assert sensitivity[name] != top6[:5], f"the top 5 does not change with the {name}"

    doc = {
        "about": "test/install.test.ts: PyTorch's top-5 of torchvision mobilenet_v2 on scene.png, weights from the formula "
        "of scripts/make-install-fixture.py (which wrote this file)",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "model": "mobilenet_v2",
        "numClasses": 1000,
        "keyPrefix": PREFIX,
        "formulaCheck": {
            "fnv1a": {s: fnv1a(s) for s in ["", "a", PREFIX + "features.0.0.weight"]},
            "u": [float(v) for v in unit(8, 12345)],
        },
        "keys": [[k, shape, {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[v.dtype], checksum(v)] for k, shape, v in entries],
        "safetensors": {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()},
        "image": {
            "file": "scene.png",
            "sha256": hashlib.sha256(png_bytes).hexdigest(),
            "height": 256,
            "width": 256,
            "rgbSha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
        },
        "top5": {
            "indices": top6[:5],
            "scores": [float(probs32[i]) for i in top6[:5]],
            "logits": [float(logits32[i]) for i in top6[:5]],
        },
        "sixth": {"index": top6[5], "logit": float(logits32[top6[5]])},
        "logitStd": std,
        "gaps": gaps,
        "sensitivity": sensitivity,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(dump(doc))

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; {len(entries)} tensors, "
          f"{sum(v.size for _, _, v in entries)} values, safetensors {len(raw)} bytes sha256 {doc['safetensors']['sha256'][:16]}")
    print(f"scene.png {len(png_bytes)} bytes")
    print(f"top 5: {top6[:5]} scores {[round(s, 4) for s in doc['top5']['scores']]} logits {[round(v, 4) for v in doc['top5']['logits']]}")
    print(f"6th: {top6[5]} logit {doc['sixth']['logit']:.4f}; logit std {std:.3f}; gaps between ranks 1-6 "
          f"{[round(g, 4) for g in gaps]} (min {min(gaps):.4f}; 5th-6th {gaps[4]:.4f})")
    for name, t5 in sensitivity.items():
        print(f"  {name}: {t5}")


if __name__ == "__main__":
    main()
