"""Exports what the peer benchmark (run.mjs) compares, into a temporary folder that is never committed.

For each torchvision model id given: a seeded random-weight model in eval mode, with its BatchNorm statistics and
affine parameters drawn at random too (so that folding them is exercised, not multiplied by one), and writes
  <id>.safetensors   its state dict (PyTorch layout; written by hand: Debian has no safetensors package)
  <id>.onnx          torch.onnx.export, opset 13, constant folding, a dynamic batch axis
  <id>.logits.bin    float32 [2, 1000]: its logits for input.bin
and once, input.bin: float32 [2, 3, 224, 224] (NCHW), a fixed seeded input.
A model whose files exist from the same script version is skipped.

Run with Debian's interpreter (torch lives only there):  /usr/bin/python3 export.py --out DIR resnet18 ...
"""

import argparse
import json
import os
import struct
import sys

VERSION = 1  # bump when what is written changes, so that old exports are redone

try:
    import torch
    import torchvision
except ImportError as err:  # run.mjs checks this first; this is for a direct call
    sys.exit(f"export.py needs PyTorch and torchvision under this interpreter ({sys.executable}): {err}")


def write_safetensors(path, state):
    header = {}
    blobs = []
    offset = 0
    for key, t in state.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dtype = "F32"
        elif t.dtype == torch.int64:
            dtype = "I64"
        else:
            raise SystemExit(f"{key}: unexpected dtype {t.dtype}")
        data = t.numpy().tobytes()
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def randomise_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 224, 224, generator=gen)
    input_path = os.path.join(args.out, "input.bin")
    x.numpy().astype("<f4").tofile(input_path)

    stamp_path = os.path.join(args.out, "export.json")
    try:
        with open(stamp_path) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        stamp = {}
    if stamp.get("version") != VERSION or stamp.get("torch") != torch.__version__:
        stamp = {"version": VERSION, "torch": torch.__version__, "torchvision": torchvision.__version__, "models": []}

    for mid in args.models:
        files = [os.path.join(args.out, f"{mid}{ext}") for ext in (".safetensors", ".onnx", ".logits.bin")]
        if mid in stamp["models"] and all(os.path.exists(f) for f in files):
            continue
        if not hasattr(torchvision.models, mid):
            sys.exit(f"export.py: torchvision {torchvision.__version__} has no model '{mid}'")
        print(f"export.py: exporting {mid}", file=sys.stderr, flush=True)
        torch.manual_seed(0)
        model = getattr(torchvision.models, mid)(weights=None)
        randomise_batchnorm(model, torch.Generator().manual_seed(2))
        model.eval()
        with torch.no_grad():
            logits = model(x)
        write_safetensors(files[0], model.state_dict())
        torch.onnx.export(
            model,
            x[:1],
            files[1] + ".part",
            opset_version=13,
            do_constant_folding=True,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
        os.replace(files[1] + ".part", files[1])
        logits.numpy().astype("<f4").tofile(files[2])
        if mid not in stamp["models"]:
            stamp["models"].append(mid)
        with open(stamp_path, "w") as f:
            json.dump(stamp, f)


if __name__ == "__main__":
    main()
