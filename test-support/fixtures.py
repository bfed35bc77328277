"""The helpers the fixture scripts (packages/*/scripts/*.py) share; the TypeScript side is fixtures.ts beside it.

Tensors are not stored in the fixtures but generated, here and in the tests, from the same formula, so both sides hold
bit-identical float32 values. A script imports this module after putting this folder on its path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'test-support'))
    from fixtures import fnv1a, values

Needs numpy; `count` and `channel_shuffle` take PyTorch modules and tensors (Debian's python3-torch) but the module
imports without PyTorch.
"""
import numpy as np

MASK = 0xFFFFFFFF


# ----------------------------------------------------------------------------------------------
# The formula and the seeds (fixtures.ts: formula, fnv1a)


def values(count, seed):
    """value(i, seed) for i in [0, count): float32, exactly as fixtures.ts's `formula(count, seed)` computes it.

    h = (i * 0x9E3779B1 + seed * 0x85EBCA77 + 0x165667B1) mod 2^32
    h ^= h >> 16; h = h * 0x85EBCA6B mod 2^32; h ^= h >> 13; h = h * 0xC2B2AE35 mod 2^32; h ^= h >> 16
    value = (h >> 8) / 2^24 - 0.5
    """
    i = np.arange(count, dtype=np.uint64)
    h = (i * np.uint64(0x9E3779B1) + np.uint64((seed * 0x85EBCA77) & MASK) + np.uint64(0x165667B1)) & np.uint64(MASK)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(MASK)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(MASK)
    h ^= h >> np.uint64(16)
    v = (h >> np.uint64(8)).astype(np.float64) / 16777216.0 - 0.5
    f = v.astype(np.float32)
    assert np.array_equal(f.astype(np.float64), v)  # exact: no rounding to worry about
    return f


def realise(shape, seed, scale=1.0, offset=0.0):
    """float64 array of float32(value * scale + offset) in `shape`: exactly the float32 values the test makes."""
    n = int(np.prod(shape)) if len(shape) else 1
    v = values(n, seed).astype(np.float64) * scale + offset
    return v.astype(np.float32).astype(np.float64).reshape(shape)


def fnv1a(s):
    """32-bit FNV-1a of an ASCII string: the fixtures seed a state-dict tensor with fnv1a of a name and its key."""
    h = 0x811C9DC5
    for ch in s.encode('ascii'):
        h = ((h ^ ch) * 0x01000193) & MASK
    return h


def checksum(v):
    """Sum of the 32-bit words of the little-endian data mod 2^32 (a float32 counts as its bit pattern, an int64 as its
    two words), as fixtures.ts's `checksum`: the test recomputes it to show both sides made the same tensor."""
    # int() first: numpy would take uint64 % int via float64 and lose the low bits of sums above 2^53
    words = np.frombuffer(v.astype(v.dtype.newbyteorder('<')).tobytes(), dtype='<u4')
    return int(words.astype(np.uint64).sum()) % (1 << 32)


# ----------------------------------------------------------------------------------------------
# Rebuilding and counting models


def pair(v):
    """An int or a pair as a two-element list ([3, 3] for 3)."""
    return [v, v] if isinstance(v, int) else list(v)


def make_divisible(value, divisor=8, min_value=None, min_ratio=0.9):
    """MMPretrain's make_divisible: `value` rounded to a multiple of `divisor`, at least min_ratio of it."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < min_ratio * value else new


def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle of an NCHW tensor."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


def count(model, shape=(1, 3, 224, 224)):
    """{'params', 'macs'} of a PyTorch model on a zero input of `shape`, as torchvision counts them: MACs by forward
    hooks on Conv2d (output elements x in/groups x kh x kw) and Linear (output elements x in_features); params are the
    learnable tensors only (BatchNorm's running statistics excluded)."""
    import torch
    import torch.nn as nn

    macs = 0

    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(shape))
    for h in hs:
        h.remove()
    return {'params': sum(p.numel() for p in model.parameters()), 'macs': macs}
