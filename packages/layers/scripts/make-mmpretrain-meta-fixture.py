"""Writes test/fixtures/checkpoint/mmpretrain-meta.pth for test/checkpoint-opaque.test.ts: a checkpoint shaped as
MMPretrain / MMEngine save one, whose `meta` holds what the restricted unpickler must pass over as inert data:

  numpy scalars (numpy.core.multiarray.scalar + numpy.dtype, via REDUCE and BUILD; their bytes via _codecs.encode),
  a numpy array (numpy.core.multiarray._reconstruct + BUILD), a dict subclass as mmengine's ConfigDict (NEWOBJ +
  SETITEMS on the object), an object with state as mmengine's HistoryBuffer (NEWOBJ + BUILD), and a bare reference
  to a class (a global used as a value);

next to a `state_dict` with MMPretrain's names (`backbone.` + `head.fc.`) for a tiny network: conv1 (3 -> 4, 3x3,
no bias), bn1, and head.fc (4 -> 3). The mmengine classes are stand-ins registered under mmengine's module names
(there is no mmengine here): the pickle names them exactly as a real checkpoint does, which is all the reader sees.

Run with Debian's PyTorch (the `python3` on PATH has no torch):

    /usr/bin/python3 packages/layers/scripts/make-mmpretrain-meta-fixture.py

Also writes mmpretrain-meta.json: the tensors' values (small), for the test to compare with.
"""
import collections
import json
import os
import sys
import types

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'checkpoint')


def fake_module(name, **attrs):
    """A module registered in sys.modules under `name` holding `attrs`, so that pickle names them as `name.X`."""
    parts = name.split('.')
    for i in range(1, len(parts)):  # the parent packages, which pickle imports first
        sys.modules.setdefault('.'.join(parts[:i]), types.ModuleType('.'.join(parts[:i])))
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        v.__module__ = name
        v.__qualname__ = k
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


class ConfigDict(dict):
    """Stand-in for mmengine.config.config.ConfigDict (a dict subclass: pickled by NEWOBJ, then SETITEMS)."""


class HistoryBuffer:
    """Stand-in for mmengine.logging.history_buffer.HistoryBuffer (pickled by NEWOBJ, then BUILD of its __dict__)."""

    def __init__(self, log_history, count_history, max_length=1000000):
        self._log_history = log_history
        self._count_history = count_history
        self.max_length = max_length


fake_module('mmengine.config.config', ConfigDict=ConfigDict)
fake_module('mmengine.logging.history_buffer', HistoryBuffer=HistoryBuffer)


def main():
    g = torch.Generator().manual_seed(0)
    state = collections.OrderedDict()
    state['backbone.conv1.weight'] = torch.randn(4, 3, 3, 3, generator=g)
    state['backbone.bn1.weight'] = torch.rand(4, generator=g) + 0.5
    state['backbone.bn1.bias'] = torch.randn(4, generator=g) / 8
    state['backbone.bn1.running_mean'] = torch.randn(4, generator=g) / 8
    state['backbone.bn1.running_var'] = torch.rand(4, generator=g) + 0.5
    state['backbone.bn1.num_batches_tracked'] = torch.tensor(7)
    state['head.fc.weight'] = torch.randn(3, 4, generator=g)
    state['head.fc.bias'] = torch.randn(3, generator=g)
    cfg = ConfigDict(type='ImageClassifier', backbone=ConfigDict(type='ResNet', depth=50))
    meta = {
        'mmengine_version': '0.10.4',
        'seed': np.int64(1234),
        'lr': np.float64(0.1),
        'best_score': np.float32(77.5),
        'score_dtype': np.dtype('float32'),
        'scores': np.array([76.5, 77.0, 77.5], dtype=np.float32),
        'cfg': cfg,
        'message_hub': {'log_scalars': {'train/loss': HistoryBuffer(np.array([2.5, 1.5]), np.array([1, 1]))}},
        'classifier_class': ConfigDict,
        'dataset_meta': {'classes': ('cat', 'dog', 'fish')},
        'epoch': 100,
    }
    path = os.path.join(OUT, 'mmpretrain-meta.pth')
    torch.save({'meta': meta, 'state_dict': state}, path)
    values = {k: [list(v.shape), v.flatten().tolist()] for k, v in state.items()}
    with open(os.path.join(OUT, 'mmpretrain-meta.json'), 'w') as f:
        json.dump({'generator': 'packages/layers/scripts/make-mmpretrain-meta-fixture.py', 'state_dict': values}, f)
        f.write('\n')
    print(f'wrote {path}: {os.path.getsize(path):,d} bytes')


if __name__ == '__main__':
    main()
