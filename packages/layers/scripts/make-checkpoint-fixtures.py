#!/usr/bin/python3
"""Writes the checkpoint fixtures of @cnn/layers into test/fixtures/checkpoint/.

Run with Debian's Python, the one that has PyTorch 1.13 (the `python3` first on the PATH has none):

    /usr/bin/python3 packages/layers/scripts/make-checkpoint-fixtures.py

What it writes (all small; the tests compare every tensor with expected.json):

- net.pth / net.safetensors: the state dict of a small multi-block network (a conv with bias,
  two conv-without-bias + BatchNorm2d blocks with trained running statistics, a Linear head).
  net-p4.pth: the same state dict saved with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL...).
- dtypes.pth / dtypes.safetensors: one tensor per supported dtype, with the edge values of
  float16 and bfloat16 (subnormals, largest finite, infinities, NaN, negative zero).
- views.pth: a transposed view, a strided column, an expanded (stride 0) view and two tensors
  sharing one storage at different offsets.
- mmpretrain.pth: {'meta': {...plain Python values...}, 'state_dict': {...}} as MMPretrain saves.
- malicious.pth: a zip written by hand whose data.pkl calls os.system. This script never unpickles
  it; the reader must refuse it without running anything.
- expected.json: for every file, every tensor's key, dtype, shape and values, plus the pickle
  opcodes torch emitted (for the record).

Safetensors files are written by hand (Debian has no `safetensors` module): an 8-byte little-endian
header length, a JSON header padded with spaces to a multiple of 8, then the raw little-endian bytes.
"""
import json
import math
import os
import pickletools
import struct
import zipfile
from collections import OrderedDict

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'checkpoint')

SAFETENSORS_DTYPE = {
    torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
    torch.uint8: 'U8', torch.bool: 'BOOL',
}
DTYPE_NAME = {
    torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.float64: 'float64',
    torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8',
    torch.uint8: 'uint8', torch.bool: 'bool',
}


class Net(torch.nn.Module):
    """A stem conv with bias, two conv (no bias) + BatchNorm blocks, pooling and a Linear head."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = torch.nn.Sequential(
            torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU()),
            torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU()),
        )
        self.head = torch.nn.Linear(8, 5)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


def trained_net():
    torch.manual_seed(0)
    net = Net()
    net.train()
    with torch.no_grad():
        for _ in range(3):  # moves the running statistics away from 0/1; num_batches_tracked becomes 3
            net(torch.randn(2, 3, 8, 8))
    return net.state_dict()


def net_io(state_dict):
    """The net's eval-mode output on a fixed input: what a loader must reproduce from net.pth / net.safetensors."""
    net = Net()
    net.load_state_dict(state_dict)
    net.eval()
    x = torch.sin(torch.arange(2 * 3 * 8 * 8, dtype=torch.float32) * 0.37).reshape(2, 8, 8, 3)  # NHWC order
    with torch.no_grad():
        y = net(x.permute(0, 3, 1, 2).contiguous())
    return {'input_nhwc_shape': [2, 8, 8, 3], 'input_formula': 'sin(0.37 * i), i in NHWC order', 'output': [[float(v) for v in row] for row in y]}


def dtype_dict():
    inf, nan = float('inf'), float('nan')
    f16_edges = [0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 2.0 ** -24, 2.0 ** -14, 6.0975552e-05, inf, -inf, nan, 0.1, 3.140625]
    bf16_edges = [0.0, -0.0, 1.0, -2.5, 3.3895313892515355e38, 2.0 ** -133, 2.0 ** -126, inf, -inf, nan, 0.1, 1e-20]
    return OrderedDict([
        ('f32', torch.tensor([[1.5, -2.25, 3.0], [1e-30, -1e30, 0.1]], dtype=torch.float32)),
        ('f32_scalar', torch.tensor(0.75, dtype=torch.float32)),
        ('f16', torch.tensor(f16_edges, dtype=torch.float16)),
        ('bf16', torch.tensor(bf16_edges, dtype=torch.bfloat16).reshape(3, 4)),
        ('f64', torch.tensor([math.pi, -1e300, 5e-324, 1.0 / 3.0], dtype=torch.float64)),
        ('i64', torch.tensor([0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 123456789012], dtype=torch.int64)),
        ('i64_big', torch.tensor([2 ** 62 + 12345, -(2 ** 63)], dtype=torch.int64)),
        ('i32', torch.tensor([[2 ** 31 - 1, -(2 ** 31)], [7, -7]], dtype=torch.int32)),
        ('i16', torch.tensor([32767, -32768, 5], dtype=torch.int16)),
        ('i8', torch.tensor([127, -128, -1], dtype=torch.int8)),
        ('u8', torch.tensor([0, 255, 128], dtype=torch.uint8)),
        ('bool', torch.tensor([[True, False], [False, True]], dtype=torch.bool)),
        ('empty', torch.zeros(0, 3, dtype=torch.float32)),
    ])


def views_dict():
    base = torch.arange(20.0)
    grid = torch.arange(24.0).reshape(4, 6)
    return OrderedDict([
        ('t', torch.arange(12.0).reshape(3, 4).t()),        # stride (1, 4): a transposed view
        ('shared_a', base[:10].view(2, 5)),                 # storage shared with shared_b
        ('shared_b', base[5:].view(3, 5)),                  # storage offset 5, overlapping shared_a's data
        ('column', grid[1:, 2]),                            # offset 8, stride (6,)
        ('expanded', torch.tensor([1.0, -2.0, 3.0]).expand(2, 3)),  # stride (0, 1)
        ('permuted', torch.arange(24, dtype=torch.int64).reshape(2, 3, 4).permute(2, 0, 1)),
    ])


def mmpretrain_checkpoint(state_dict):
    meta = {
        'epoch': 3,
        'iter': 120,
        'mmpretrain_version': '1.0.0rc8',
        'experiment_name': 'resnet18_8xb32_in1k',
        'seed': -1234,
        'lr': 0.0125,
        'time': 'Thu Nov 27 18:36:00 2025',
        'flags': [True, False, None],
        'big': 2 ** 40,
        'huge': 2 ** 70,
        'dataset_meta': {'classes': ('cat', 'dog'), 'ids': [1, 2, 300, 70000]},
        'nested': {'a': [1, 2.5, 'x', []], 'b': {}, 'unicode': 'Grüße ✓'},
    }
    return {'meta': meta, 'state_dict': state_dict}


def storage_bytes(t):
    """The tensor's elements in row-major order as little-endian bytes."""
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.view(torch.uint8).numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    body = bytearray()
    for key, t in tensors.items():
        raw = storage_bytes(t)
        header[key] = {'dtype': SAFETENSORS_DTYPE[t.dtype], 'shape': list(t.shape), 'data_offsets': [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        f.write(body)


def json_number(x):
    if isinstance(x, float):
        if math.isnan(x):
            return 'NaN'
        if math.isinf(x):
            return 'Infinity' if x > 0 else '-Infinity'
    return x


def describe(tensors):
    out = []
    for key, t in tensors.items():
        flat = t.detach().contiguous().reshape(-1)
        if t.dtype in (torch.float16, torch.bfloat16, torch.float32):
            values = [json_number(float(v)) for v in flat.to(torch.float32).tolist()]
        elif t.dtype == torch.float64:
            values = [json_number(float(v)) for v in flat.tolist()]
        elif t.dtype == torch.bool:
            values = [1 if v else 0 for v in flat.tolist()]
        else:
            # int64 beyond 2**53 is not exact as a JSON number read by JavaScript: write those as strings.
            values = [v if abs(v) <= 2 ** 53 - 1 else str(v) for v in flat.tolist()]
        out.append({'key': key, 'dtype': DTYPE_NAME[t.dtype], 'shape': list(t.shape), 'values': values})
    return out


def pickle_opcodes(path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith('/data.pkl'))
        data = z.read(name)
    return sorted({op.name for op, _, _ in pickletools.genops(data)})


def write_malicious(path):
    # GLOBAL 'os system', the argument tuple, REDUCE, STOP: unpickling this with Python's pickle would run
    # the shell command. It is only ever written here, never loaded.
    command = b'echo cnn-checkpoint-fixture-must-never-run'
    pkl = (b'\x80\x02' + b'cos\nsystem\n' + b'q\x00' + b'X' + struct.pack('<I', len(command)) + command
           + b'\x85' + b'R' + b'q\x01' + b'.')
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_STORED) as z:
        for name, data in (('malicious/data.pkl', pkl), ('malicious/version', b'3\n')):
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)  # fixed time: reproducible bytes


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(('.pth', '.safetensors', '.json')):
            os.remove(os.path.join(OUT, name))

    net = trained_net()
    dtypes = dtype_dict()
    views = views_dict()
    mm_state = OrderedDict((k, v) for k, v in net.items() if k.startswith(('stem.', 'head.')))

    torch.save(net, os.path.join(OUT, 'net.pth'))
    torch.save(net, os.path.join(OUT, 'net-p4.pth'), pickle_protocol=4)
    write_safetensors(os.path.join(OUT, 'net.safetensors'), net, {'format': 'pt', 'source': 'make-checkpoint-fixtures.py'})
    torch.save(dtypes, os.path.join(OUT, 'dtypes.pth'))
    write_safetensors(os.path.join(OUT, 'dtypes.safetensors'), dtypes)
    torch.save(views, os.path.join(OUT, 'views.pth'))
    torch.save(mmpretrain_checkpoint(mm_state), os.path.join(OUT, 'mmpretrain.pth'))
    write_malicious(os.path.join(OUT, 'malicious.pth'))

    files = {
        'net.pth': 'net', 'net-p4.pth': 'net', 'net.safetensors': 'net',
        'dtypes.pth': 'dtypes', 'dtypes.safetensors': 'dtypes',
        'views.pth': 'views', 'mmpretrain.pth': 'mmpretrain',
    }
    expected = {
        'torch_version': torch.__version__,
        'groups': {'net': describe(net), 'dtypes': describe(dtypes), 'views': describe(views), 'mmpretrain': describe(mm_state)},
        'files': {name: {'group': group} for name, group in files.items()},
        'safetensors_metadata': {'net.safetensors': {'format': 'pt', 'source': 'make-checkpoint-fixtures.py'}, 'dtypes.safetensors': {}},
        'mmpretrain_meta': mmpretrain_checkpoint(mm_state)['meta'] | {'huge': str(2 ** 70)},
        'pickle_opcodes': {name: pickle_opcodes(os.path.join(OUT, name)) for name in files if name.endswith('.pth')},
        'net_io': net_io(net),
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write('\n')

    total = 0
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print(f'{size:8d}  {name}')
    print(f'{total:8d}  total')


if __name__ == '__main__':
    main()
