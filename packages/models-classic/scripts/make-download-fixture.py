#!/usr/bin/env python3
"""Writes the fixture checkpoint of test/pretrained-download.test.ts: a torchvision-format state dict (torch.save of
an OrderedDict of float32 tensors, the zip format of PyTorch >= 1.6) for LeNet-5 with 3 input channels and 1,000
classes (the test registers it as a test-only ImageNet entry), named as torchvision names its files:
`<name>-<first 8 hex digits of its SHA-256>.pth`.

Values: the fixture formula (test-support/fixtures.py, seeded by fnv1a of 'pretrained.' + key), scaled by 1/8 and
rounded to multiples of 1/64, so that the committed file compresses. Run with Debian's PyTorch:

    /usr/bin/python3 packages/models-classic/scripts/make-download-fixture.py
"""
import collections
import hashlib
import os
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'test-support'))
from fixtures import fnv1a, realise  # noqa: E402

SHAPES = [
    ('features.0.weight', (6, 3, 5, 5)),
    ('features.0.bias', (6,)),
    ('features.3.weight', (16, 6, 5, 5)),
    ('features.3.bias', (16,)),
    ('features.6.weight', (120, 16, 5, 5)),
    ('features.6.bias', (120,)),
    ('classifier.0.weight', (84, 120)),
    ('classifier.0.bias', (84,)),
    ('classifier.2.weight', (1000, 84)),
    ('classifier.2.bias', (1000,)),
]

out = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'download'
out.mkdir(parents=True, exist_ok=True)
for old in out.glob('lenet5_imagenet_fixture-*.pth'):
    old.unlink()
sd = collections.OrderedDict()
for key, shape in SHAPES:
    v = np.round(realise(shape, fnv1a('pretrained.' + key)) * 8) / 64  # multiples of 1/64 in [-1/16, 1/16]
    sd[key] = torch.from_numpy(v.astype(np.float32))
tmp = out / 'tmp.pth'
torch.save(sd, tmp)
digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
final = out / f'lenet5_imagenet_fixture-{digest[:8]}.pth'
tmp.rename(final)
print(f'wrote {final} ({final.stat().st_size} bytes, sha256 {digest})')
