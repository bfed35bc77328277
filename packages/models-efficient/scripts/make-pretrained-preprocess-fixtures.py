"""Makes test/fixtures/pretrained/preprocess.json for test/pretrained-preprocess.test.ts: what torchvision's evaluation
transforms make of the committed photos (test-support/photos/*.jpg), for each distinct preprocessing of the weights
table (packages/models-classic/src/pretrained/table.ts: resize, crop, interpolation, mean, std), and bicubic (EXTRA).

Run with Debian's torchvision 0.14 and PIL (the `python3` on PATH has no torch):

    /usr/bin/python3 packages/models-efficient/scripts/make-pretrained-preprocess-fixtures.py

torchvision's transforms on a PIL image, as `weights.transforms()` applies them (ImageClassification): Resize(resize,
interpolation) (PIL's resize, antialiased), CenterCrop(crop), ToTensor (/255), Normalize(mean, std). Stored per photo
and preprocessing, small (no full tensors):

  decoded   shape and a weighted checksum of PIL's decoded RGB pixels (the test's decoder must give the same bytes)
  cropped   shape, plain sum and weighted checksum of the uint8 image after Resize + CenterCrop: every later step is a
            fixed affine map per channel, so equal bytes here mean the same input tensor up to float rounding
  tensor    per-channel mean and std of the normalised CHW tensor, and 128 sampled values (6 decimals) [y, x, c, value] at
            positions from a fixed seed

weighted checksum: sum over the flat HWC bytes of (i mod 65521 + 1) * byte, mod 2^32.
"""
import json
import os
import re

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', '..')
PHOTOS = os.path.join(ROOT, 'test-support', 'photos')
TABLE = os.path.join(ROOT, 'packages', 'models-classic', 'src', 'pretrained', 'table.ts')
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'pretrained', 'preprocess.json')
MODES = {'bilinear': T.InterpolationMode.BILINEAR, 'bicubic': T.InterpolationMode.BICUBIC}


def weighted(a):
    v = np.ascontiguousarray(a, dtype=np.uint8).reshape(-1).astype(np.int64)
    w = np.arange(v.size, dtype=np.int64) % 65521 + 1
    return int((v * w).sum() % (1 << 32))


def table_preprocessing():
    """The distinct preprocess objects of the table (resize, crop, interpolation, mean, std)."""
    text = open(TABLE).read()
    found = re.findall(
        r"preprocess: \{\s*resize: (\d+),\s*crop: (\d+),\s*interpolation: '(\w+)',\s*mean: \[([^\]]+)\],\s*std: \[([^\]]+)\]",
        text)
    assert found, 'no preprocess found in table.ts'
    out = []
    for r, c, i, m, s in found:
        p = {'resize': int(r), 'crop': int(c), 'interpolation': i,
             'mean': [float(x) for x in m.split(',')], 'std': [float(x) for x in s.split(',')]}
        if p not in out:
            out.append(p)
    return out


# Beyond the table (whose entries all use bilinear today): bicubic, which PretrainedPreprocess allows and Resize supports.
EXTRA = [{'resize': 256, 'crop': 224, 'interpolation': 'bicubic',
          'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]}]


def main():
    cases = []
    rng = np.random.default_rng(16)
    for name in sorted(os.listdir(PHOTOS)):
        if not name.endswith('.jpg'):
            continue
        img = Image.open(os.path.join(PHOTOS, name)).convert('RGB')
        decoded = np.asarray(img)
        for p in table_preprocessing() + EXTRA:
            geo = T.Compose([T.Resize(p['resize'], interpolation=MODES[p['interpolation']]), T.CenterCrop(p['crop'])])
            cropped = np.asarray(geo(img))
            x = T.Normalize(p['mean'], p['std'])(T.ToTensor()(geo(img))).numpy()  # CHW float32
            c, h, w = x.shape
            ys, xs, cs = rng.integers(0, h, 128), rng.integers(0, w, 128), rng.integers(0, c, 128)
            cases.append({
                'photo': name, 'preprocess': p,
                'decoded': {'shape': list(decoded.shape), 'weighted': weighted(decoded)},
                'cropped': {'shape': list(cropped.shape), 'sum': int(cropped.astype(np.int64).sum()),
                            'weighted': weighted(cropped)},
                'tensor': {
                    'mean': [float(v) for v in x.reshape(c, -1).mean(1, dtype=np.float64)],
                    'std': [float(v) for v in x.reshape(c, -1).std(1, dtype=np.float64)],
                    'samples': [[int(a), int(b), int(k), round(float(x[k, a, b]), 6)] for a, b, k in zip(ys, xs, cs)],
                },
            })
            print(f"{name:14s} {p['resize']} {p['crop']} {p['interpolation']}: cropped sum {cases[-1]['cropped']['sum']}")
    doc = {'generator': 'packages/models-efficient/scripts/make-pretrained-preprocess-fixtures.py',
           'torchvision': torchvision.__version__, 'torch': torch.__version__, 'pil': Image.__version__, 'cases': cases}
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT}: {os.path.getsize(OUT):,d} bytes')


if __name__ == '__main__':
    main()
