"""Makes the fixtures of test/handover.test.ts: the hand-over of weights between this library and PyTorch, both ways,
with torchvision's shufflenet_v2_x0_5 (10 classes, 360,050 values: the smallest torchvision classifier).

Run with Debian's PyTorch 1.13 / torchvision 0.14 (the `python3` on PATH has no torch), after building the packages
(`npx turbo run build --filter=@cnn/models-efficient...`), from the repository root:

    /usr/bin/python3 packages/models-efficient/scripts/make-handover-fixtures.py

(about half a minute). Two directions:

1. From here to PyTorch. Node writes the weights as this library saves them: scripts/handover-save.ts, bundled with
   the repository's esbuild and run with Node, builds the model with weights set in this library's own layouts from
   the formula of test/handover-weights.ts and writes `saveWeights(model)` (safetensors). This script reads that file
   with a few lines of Python (Debian has no `safetensors` package): an 8-byte little-endian header length, the JSON
   header, then each tensor's raw little-endian bytes at its data_offsets. It loads the tensors into
   torchvision.models.shufflenet_v2_x0_5(num_classes=10) with load_state_dict(strict=True) and records the logits on
   the formula input (float64, eval mode, cast to float32), with each key's shape and checksum as loaded, so that the
   test can show it made the same file.

2. From PyTorch to here. A shufflenet_v2_x0_5 (10 classes, torch.manual_seed(0)'s initialisation) is trained by
   PyTorch for 30 SGD steps (lr 0.05, momentum 0.9, weight decay 1e-4) in training mode on one batch of 8 formula
   images of 64x64 with labels 0..7 (the first two are the test's input, so the trained network tells them apart),
   so that its BatchNorm statistics move and num_batches_tracked is 30, then saved with
   torch.save(model.state_dict(), ...) as test/fixtures/handover/pytorch-trained.pth (1.4 MB, committed: CI has no
   PyTorch). Its logits on the same input, in eval mode, are recorded.

Writes test/fixtures/handover/expected.json (and pytorch-trained.pth).
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test-support"))
from fixtures import checksum, fnv1a, realise  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.normpath(os.path.join(HERE, ".."))
ROOT = os.path.normpath(os.path.join(PKG, "..", ".."))
OUT = os.path.join(PKG, "test", "fixtures", "handover")
INPUT_SHAPE = [2, 64, 64, 3]  # NHWC, as the test's
INPUT_SEED = fnv1a("cnn-handover/input")
STEPS = 30  # PyTorch's training steps in direction 2


def read_safetensors(path):
    """{key: numpy array} of a safetensors file; the keys of a @cnn/train training checkpoint's optimizer
    (`__optimizer__/...`) are left out, so a run's last.safetensors reads the same way."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    out = {}
    for key, meta in header.items():
        if key == "__metadata__" or key.startswith("__optimizer__/"):
            continue
        a, b = meta["data_offsets"]
        out[key] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out, header.get("__metadata__", {}), raw


def nchw_input():
    x = realise(INPUT_SHAPE, INPUT_SEED, scale=4.0)  # float64 holding float32 values, NHWC
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def logits64(model):
    """Eval-mode logits in float64 (on a copy), cast to float32."""
    m = torchvision.models.shufflenet_v2_x0_5(num_classes=10)
    m.load_state_dict(model.state_dict())
    m = m.double().eval()
    with torch.no_grad():
        return m(nchw_input()).float().numpy()


def spread(logits):
    return {"std": float(logits.std()), "argmax": [int(i) for i in logits.argmax(1)]}


def key_rows(state):
    rows = []
    for k, t in state.items():
        v = t.detach().cpu().numpy()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[v.dtype]
        rows.append([k, list(v.shape), dtype, checksum(v)])
    return rows


def ours_to_pytorch():
    cache = os.path.join(PKG, "node_modules", ".cache")
    os.makedirs(cache, exist_ok=True)
    bundle = os.path.join(cache, "cnn-handover-save.mjs")
    subprocess.run(
        [os.path.join(ROOT, "node_modules", ".bin", "esbuild"), os.path.join(HERE, "handover-save.ts"), "--bundle",
         "--platform=node", "--format=esm", "--packages=external", f"--outfile={bundle}", "--log-level=warning"],
        check=True, cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ours.safetensors")
        subprocess.run(["node", bundle, path], check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tensors, meta, raw = read_safetensors(path)

    model = torchvision.models.shufflenet_v2_x0_5(num_classes=10)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    logits = logits64(model)
    return {
        "file": {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "metadata": meta},
        "keys": key_rows(model.state_dict()),
        "logits": [[float(v) for v in row] for row in logits],
        "spread": spread(logits),
    }


def pytorch_to_ours():
    torch.manual_seed(0)
    model = torchvision.models.shufflenet_v2_x0_5(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    more = realise([6, 64, 64, 3], fnv1a("cnn-handover/train"), 4.0).transpose(0, 3, 1, 2)
    x = torch.cat([nchw_input(), torch.from_numpy(np.ascontiguousarray(more))]).float()
    y = torch.arange(8)
    model.train()
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    path = os.path.join(OUT, "pytorch-trained.pth")
    torch.save(model.state_dict(), path)
    with open(path, "rb") as f:
        raw = f.read()
    logits = logits64(model)
    return {
        "file": {"name": "pytorch-trained.pth", "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()},
        "trainingLosses": losses,
        "numBatchesTracked": int(model.state_dict()["conv1.1.num_batches_tracked"]),
        "keys": key_rows(model.state_dict()),
        "logits": [[float(v) for v in row] for row in logits],
        "spread": spread(logits),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    doc = {
        "about": "test/handover.test.ts: weights saved by this library read by PyTorch (oursToPytorch), and a "
        "checkpoint trained and saved by PyTorch read by this library (pytorchToOurs), with PyTorch's logits; "
        "written by scripts/make-handover-fixtures.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "model": "shufflenet_v2_x0_5",
        "numClasses": 10,
        "input": {"shape": INPUT_SHAPE, "seed": INPUT_SEED, "scale": 4.0},
        "oursToPytorch": ours_to_pytorch(),
        "pytorchToOurs": pytorch_to_ours(),
    }
    text = json.dumps(doc, indent=1)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(text + "\n")
    for k in ("oursToPytorch", "pytorchToOurs"):
        d = doc[k]
        print(f"{k}: file {d['file']['bytes']} bytes sha256 {d['file']['sha256'][:16]}; logits std {d['spread']['std']:.3f}, "
              f"argmax {d['spread']['argmax']}")
    print(f"PyTorch training losses {[round(v, 4) for v in doc['pytorchToOurs']['trainingLosses']]}")


if __name__ == "__main__":
    main()
