#!/usr/bin/env python3
"""Reference fixtures for @cnn/tensor's conv2d: forward output and both gradients from PyTorch.

Run with Debian's PyTorch (the `python3` on PATH may have no torch):

    /usr/bin/python3 packages/tensor/scripts/make-fixtures.py

Writes, next to the tests:

  test/fixtures/conv-grid.json  the case list (shapes, options, resolved padding, seeds, offsets)
  test/fixtures/conv-grid.bin   float32 little-endian; for each case y, dx, dw concatenated, in tfjs
                                layouts: y and dx NHWC, dw [kh, kw, cin / groups, cout]

Inputs are not stored. x (NHWC), w ([kh, kw, cin / groups, cout]) and dy (NHWC, the output's
shape) are `value(i, seed)` of their flat element index i, a formula test/conv-grid.test.ts
implements identically (see `values` below): an integer hash of (i, seed) whose top 24 bits give a
number in [-0.5, 0.5) that is a multiple of 2^-24, so it is exactly a float32 and both sides agree
bit for bit (no transcendental function whose last bit could differ between libm and V8).

y = conv2d(x, w), and dx, dw are the gradients of sum(y * dy), computed with
torch.nn.functional.conv2d in float64 (padding applied with F.pad, TensorFlow's asymmetric rule
for 'same') and cast to float32.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'test-support'))
from fixtures import pair, values  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, '..', 'test', 'fixtures')


def resolve_pad(pad, h, w, kh, kw, s, d):
    """Per-side padding [[top, bottom], [left, right]] and output size, as TensorFlow computes them."""
    eff = [(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1]
    size = [h, w]
    if pad == 'valid':
        sides = [[0, 0], [0, 0]]
    elif pad == 'same':
        sides = []
        for a in range(2):
            out = -(-size[a] // s[a])
            total = max((out - 1) * s[a] + eff[a] - size[a], 0)
            sides.append([total // 2, total - total // 2])
    elif isinstance(pad, int):
        sides = [[pad, pad], [pad, pad]]
    elif isinstance(pad[0], int):
        sides = [[pad[0], pad[0]], [pad[1], pad[1]]]
    else:
        sides = [list(pad[0]), list(pad[1])]
    out = [(size[a] + sides[a][0] + sides[a][1] - eff[a]) // s[a] + 1 for a in range(2)]
    return sides, out


def C(name, x, k, cout, groups=1, s=1, d=1, pad='valid'):
    """One case: x = [n, h, w, c]; k = kernel size or [kh, kw]; groups = 'dw' for depthwise (groups = c)."""
    n, h, w, c = x
    g = c if groups == 'dw' else groups
    return dict(name=name, x=list(x), k=pair(k), cout=cout, groups=g, depthwise=(groups == 'dw'),
                strides=pair(s), dilations=pair(d), pad=pad)


A = [[1, 2], [0, 3]]  # the asymmetric explicit padding of the brief

CASES = [
    # --- groups 1 ---
    C('plain k3 valid c3', [1, 7, 7, 3], 3, 4),
    C('plain k3 same c3 even', [1, 8, 8, 3], 3, 5, pad='same'),
    C('plain k3 s2 same n3 c5 odd', [3, 9, 9, 5], 3, 6, s=2, pad='same'),
    C('plain k5 same c6', [1, 10, 10, 6], 5, 8, pad='same'),
    C('plain k5 s2 valid n3 c8', [3, 11, 11, 8], 5, 8, s=2),
    C('plain k7 same c16', [1, 12, 12, 16], 7, 8, pad='same'),
    C('plain k7 s2 same c3 12x11', [1, 12, 11, 3], 7, 6, s=2, pad='same'),
    C('plain k1 valid c5 9x10', [1, 9, 10, 5], 1, 7),
    C('plain k1 s2 valid n3 c6 10x9', [3, 10, 9, 6], 1, 5, s=2),
    C('plain k1 s2 same c3 11x11', [1, 11, 11, 3], 1, 4, s=2, pad='same'),
    C('plain k1 pad[[1,2],[0,3]] c8 (pad > kernel)', [1, 8, 7, 8], 1, 16, pad=A),
    C('plain k3 pad[[1,2],[0,3]] c6', [1, 8, 9, 6], 3, 5, pad=A),
    C('plain k3 s2 pad[[2,0],[1,1]] n3 c5', [3, 7, 8, 5], 3, 8, s=2, pad=[[2, 0], [1, 1]]),
    C('plain k3 pad 1 c16', [1, 9, 8, 16], 3, 16, pad=1),
    C('plain k3 pad[1,2] c64 n3', [3, 8, 10, 64], 3, 16, pad=[1, 2]),
    C('plain k3x5 s[1,2] same c5', [1, 9, 10, 5], [3, 5], 6, s=[1, 2], pad='same'),
    C('plain k7 s2 pad[[3,2],[1,3]] c8', [1, 11, 12, 8], 7, 5, s=2, pad=[[3, 2], [1, 3]]),
    # dilation
    C('plain k3 d2 valid c8', [1, 11, 10, 8], 3, 8, d=2),
    C('plain k3 d2 same c6', [1, 10, 11, 6], 3, 6, d=2, pad='same'),
    C('plain k5 d2 same n3 c3', [3, 9, 9, 3], 5, 4, d=2, pad='same'),
    C('plain k7 d2 same c5', [1, 12, 12, 5], 7, 6, d=2, pad='same'),
    C('plain k3 d2 pad[[1,2],[0,3]] c8', [1, 10, 10, 8], 3, 8, d=2, pad=A),
    C('plain k1 d2 valid c6', [1, 7, 8, 6], 1, 6, d=2),
    C('plain k3x5 d[2,1] pad 1 c6', [1, 10, 9, 6], [3, 5], 5, d=[2, 1], pad=1),
    # stride 2 with dilation 2 (cnn's wasm kernel only)
    C('plain k3 s2 d2 same c6', [1, 11, 11, 6], 3, 6, s=2, d=2, pad='same'),
    C('plain k3 s2 d2 valid n3 c8', [3, 12, 10, 8], 3, 8, s=2, d=2),
    C('plain k5 s2 d2 pad[[1,2],[0,3]] c5', [1, 12, 12, 5], 5, 6, s=2, d=2, pad=A),
    # --- grouped ---
    C('groups2 k3 same c6', [1, 8, 8, 6], 3, 4, groups=2, pad='same'),
    C('groups2 k3 s2 valid n3 c8', [3, 9, 7, 8], 3, 6, groups=2, s=2),
    C('groups2 k5 d2 same c6', [1, 10, 10, 6], 5, 6, groups=2, d=2, pad='same'),
    C('groups2 k3 pad[[1,2],[0,3]] c6 cout10', [1, 8, 9, 6], 3, 10, groups=2, pad=A),
    C('groups2 k1 c16 (pointwise)', [1, 8, 8, 16], 1, 16, groups=2),
    C('groups2 k3 s2 d2 same c8', [1, 11, 11, 8], 3, 8, groups=2, s=2, d=2, pad='same'),
    C('groups4 k3 pad 1 c16', [1, 8, 8, 16], 3, 16, groups=4, pad=1),
    C('groups4 k1 s2 valid n3 c8', [3, 7, 7, 8], 1, 8, groups=4, s=2),
    C('groups4 k3 d2 pad[[1,2],[0,3]] c16', [1, 12, 11, 16], 3, 8, groups=4, d=2, pad=A),
    C('groups4 k5 s2 same c8 cout12', [1, 9, 9, 8], 5, 12, groups=4, s=2, pad='same'),
    C('groups4 k7 same c16 cout4', [1, 10, 10, 16], 7, 4, groups=4, pad='same'),
    C('groups4 k3 s2 d2 valid n3 c16', [3, 10, 9, 16], 3, 8, groups=4, s=2, d=2),
    C('groups32 k3 pad 1 c64', [1, 8, 8, 64], 3, 64, groups=32, pad=1),
    C('groups32 k3 s2 same n3 c64', [3, 7, 7, 64], 3, 64, groups=32, s=2, pad='same'),
    C('groups32 k3 d2 same c64', [1, 9, 10, 64], 3, 64, groups=32, d=2, pad='same'),
    C('groups32 k3 pad 1 c128 (ResNeXt)', [1, 8, 8, 128], 3, 128, groups=32, pad=1),
    C('groups32 k3 s2 same c128 (ResNeXt)', [1, 9, 9, 128], 3, 128, groups=32, s=2, pad='same'),
    C('groups32 k1 c128 cout64', [1, 7, 8, 128], 1, 64, groups=32),
    # --- depthwise (groups = channels) ---
    C('dw k3 same c8', [1, 8, 8, 8], 3, 8, groups='dw', pad='same'),
    C('dw k3 s2 same n3 c5', [3, 9, 9, 5], 3, 5, groups='dw', s=2, pad='same'),
    C('dw k5 d2 same c6', [1, 10, 10, 6], 5, 6, groups='dw', d=2, pad='same'),
    C('dw k7 valid c3 11x12', [1, 11, 12, 3], 7, 3, groups='dw'),
    C('dw k3 pad[[1,2],[0,3]] c64', [1, 8, 8, 64], 3, 64, groups='dw', pad=A),
    C('dw k5 s2 pad[[2,1],[1,2]] n3 c6', [3, 10, 9, 6], 5, 6, groups='dw', s=2, pad=[[2, 1], [1, 2]]),
    C('dw k3 s2 d2 same c16', [1, 12, 12, 16], 3, 16, groups='dw', s=2, d=2, pad='same'),
    C('dw k1 valid c16', [1, 7, 9, 16], 1, 16, groups='dw'),
    C('dw mult2 k3 pad 1 c8', [1, 8, 7, 8], 3, 16, groups='dw', pad=1),
    C('dw mult2 k3 s2 valid n3 c3', [3, 9, 9, 3], 3, 6, groups='dw', s=2),
    C('dw mult2 k5 d2 pad[[1,2],[0,3]] c5', [1, 10, 10, 5], 5, 10, groups='dw', d=2, pad=A),
    C('dw mult2 k1 valid c6', [1, 7, 7, 6], 1, 12, groups='dw'),
    C('dw mult2 k3 same c64', [1, 11, 11, 64], 3, 128, groups='dw', pad='same'),
    C('dw mult2 k7 s2 same c6 12x11', [1, 12, 11, 6], 7, 12, groups='dw', s=2, pad='same'),
    C('dw mult2 k3 s2 d2 same c6', [1, 12, 11, 6], 3, 12, groups='dw', s=2, d=2, pad='same'),
]


def run_case(idx, case):
    n, h, w, c = case['x']
    kh, kw = case['k']
    g, cout = case['groups'], case['cout']
    s, d = case['strides'], case['dilations']
    assert c % g == 0 and cout % g == 0, case['name']
    cig = c // g
    sides, (oh, ow) = resolve_pad(case['pad'], h, w, kh, kw, s, d)
    assert oh >= 1 and ow >= 1, case['name']
    seeds = [3 * idx + 1, 3 * idx + 2, 3 * idx + 3]
    x_shape, w_shape, y_shape = [n, h, w, c], [kh, kw, cig, cout], [n, oh, ow, cout]

    def tensor(shape, seed):
        v = values(int(np.prod(shape)), seed).reshape(shape)
        return torch.from_numpy(v.astype(np.float64))

    x = tensor(x_shape, seeds[0]).permute(0, 3, 1, 2).contiguous().requires_grad_(True)  # NCHW
    wt = tensor(w_shape, seeds[1]).permute(3, 2, 0, 1).contiguous().requires_grad_(True)  # OIHW
    dy = tensor(y_shape, seeds[2]).permute(0, 3, 1, 2)
    (t, b), (l, r) = sides
    xp = F.pad(x, (l, r, t, b))
    y = F.conv2d(xp, wt, stride=tuple(s), dilation=tuple(d), groups=g)
    assert list(y.shape) == [n, cout, oh, ow], (case['name'], y.shape, y_shape)
    (y * dy).sum().backward()

    y_nhwc = y.detach().permute(0, 2, 3, 1)
    dx_nhwc = x.grad.permute(0, 2, 3, 1)
    dw_hwio = wt.grad.permute(2, 3, 1, 0)
    parts = [t.contiguous().numpy().astype('<f4').ravel() for t in (y_nhwc, dx_nhwc, dw_hwio)]
    wasm_only = s != [1, 1] and d != [1, 1]
    meta = dict(case)
    meta.update(
        index=idx, w=w_shape, y=y_shape, pads=sides, seeds=dict(x=seeds[0], w=seeds[1], dy=seeds[2]),
        wasmOnly=wasm_only,
        multiplier=(cout // c) if case['depthwise'] else None,
    )
    del meta['k']
    return meta, parts


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    cases, blobs, offset = [], [], 0
    names = set()
    for idx, case in enumerate(CASES):
        assert case['name'] not in names, case['name']
        names.add(case['name'])
        meta, parts = run_case(idx, case)
        for key, arr in zip(('y', 'dx', 'dw'), parts):
            meta[key + 'Offset'] = offset
            offset += arr.size
            blobs.append(arr)
        cases.append(meta)
    data = np.concatenate(blobs).astype('<f4')
    assert np.isfinite(data).all()
    bin_path = os.path.join(OUT_DIR, 'conv-grid.bin')
    json_path = os.path.join(OUT_DIR, 'conv-grid.json')
    data.tofile(bin_path)
    doc = dict(
        about='Made by scripts/make-fixtures.py with torch.nn.functional.conv2d in float64, cast to float32. '
              'conv-grid.bin holds, per case, y, dx, dw (float32 LE, NHWC / NHWC / [kh, kw, cin/groups, cout]) '
              'at the given offsets (in floats). Inputs x, w, dy are value(i, seed) of the flat NHWC / HWIO / NHWC index.',
        formula='h = (i*0x9E3779B1 + seed*0x85EBCA77 + 0x165667B1) mod 2^32; h ^= h>>>16; h = h*0x85EBCA6B mod 2^32; '
                'h ^= h>>>13; h = h*0xC2B2AE35 mod 2^32; h ^= h>>>16; value = (h>>>8) / 2^24 - 0.5',
        formulaCheck=dict(seed=12345, values=[float(v) for v in values(8, 12345)]),
        torch=torch.__version__,
        floats=int(data.size),
        cases=cases,
    )
    with open(json_path, 'w') as fh:
        json.dump(doc, fh, indent=1)
        fh.write('\n')

    # Summary.
    size = os.path.getsize(bin_path)
    print(f'{len(cases)} cases, {data.size} floats, conv-grid.bin {size} bytes ({size / 1e6:.3f} MB), '
          f'conv-grid.json {os.path.getsize(json_path)} bytes; torch {torch.__version__}')
    print(f"{'#':>3} {'name':<46} {'x':<16} {'w':<15} {'y':<16} {'s':<6} {'d':<6} {'g':>3} pads")
    for m in cases:
        fmt = lambda v: 'x'.join(map(str, v))
        print(f"{m['index']:>3} {m['name']:<46} {fmt(m['x']):<16} {fmt(m['w']):<15} {fmt(m['y']):<16} "
              f"{fmt(m['strides']):<6} {fmt(m['dilations']):<6} {m['groups']:>3} {m['pads']}"
              f"{'  wasm-only' if m['wasmOnly'] else ''}")
    cover = lambda key: sorted({json.dumps(m[key]) if not isinstance(m[key], (int, str)) else m[key] for m in cases}, key=str)
    print('batch', sorted({m['x'][0] for m in cases}), '| kernel', sorted({k for m in cases for k in m['w'][:2]}),
          '| strides', cover('strides'), '| dilations', cover('dilations'))
    print('groups', sorted({m['groups'] for m in cases}), '| depthwise mult', sorted({m['multiplier'] for m in cases if m['depthwise']}),
          '| channels', sorted({m['x'][3] for m in cases}), '| spatial', sorted({v for m in cases for v in m['x'][1:3]}))
    print('pad forms', sorted({json.dumps(m['pad']) for m in cases}))
    print('wasm-only (stride > 1 with dilation > 1):', sum(m['wasmOnly'] for m in cases))
    if size > 1.5e6:
        sys.exit(f'conv-grid.bin is {size} bytes, over the 1.5 MB budget')


if __name__ == '__main__':
    main()
