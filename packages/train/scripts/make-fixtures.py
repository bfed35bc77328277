#!/usr/bin/python3
"""Writes the PyTorch reference values that @cnn/train's tests reproduce.

Run with Debian's PyTorch (the python3 on the PATH may lack torch):

    /usr/bin/python3 packages/train/scripts/make-fixtures.py

It writes, under packages/train/test/fixtures/:
  losses.json      F.cross_entropy values and d(loss.sum())/d(logits) for hard and soft targets, with and
                   without label smoothing and class weights, for every reduction.
  optimizers.json  N = 10 steps of SGD / Adam / AdamW configurations on a tiny linear model with a fixed
                   quadratic loss: the gradients PyTorch saw and the parameters after every step.
  schedulers.json  the learning rate of two parameter groups over 30 steps of each torch.optim.lr_scheduler
                   configuration (t = 0 is before the first step).
  clip.json        torch.nn.utils.clip_grad_norm_ on fixed gradients: the total norm and the clipped values.

Everything runs in float32 on the CPU; values are stored as JSON numbers (float32 values are exact in them).
"""
import json
import math
import os
import warnings

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


def values(t):
    return t.detach().to(torch.float64).reshape(-1).tolist() if t.dim() > 0 else float(t)


def host(t):
    return {'shape': list(t.shape), 'data': values(t)}


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)')


# ---------------------------------------------------------------------------------------------- losses

def loss_fixtures():
    g = torch.Generator().manual_seed(1)
    n, c = 6, 5
    logits = (torch.randn(n, c, generator=g) * 2).float()
    labels = torch.tensor([0, 3, 1, 4, 3, 2])
    soft = torch.softmax(torch.randn(n, c, generator=g) * 3, dim=1).float()
    weight = torch.tensor([0.5, 1.0, 2.0, 0.25, 1.5])
    cases = []
    for target_kind in ('hard', 'soft'):
        target = labels if target_kind == 'hard' else soft
        for smoothing in (0.0, 0.1, 0.3):
            for w in (None, weight):
                for reduction in ('mean', 'sum', 'none'):
                    x = logits.clone().requires_grad_(True)
                    loss = F.cross_entropy(x, target, weight=w, reduction=reduction, label_smoothing=smoothing)
                    loss.sum().backward()
                    cases.append({
                        'name': f'{target_kind} smoothing={smoothing} weight={"yes" if w is not None else "no"} {reduction}',
                        'target': labels.tolist() if target_kind == 'hard' else host(soft),
                        'labelSmoothing': smoothing,
                        'weight': None if w is None else values(w),
                        'reduction': reduction,
                        'loss': values(loss),
                        'grad': host(x.grad),
                    })
    write('losses.json', {'torch': torch.__version__, 'logits': host(logits), 'cases': cases})


# ------------------------------------------------------------------------------------------ optimizers

STEPS = 10


def tiny_model():
    """fc.weight [3, 4], fc.bias [3], bn.weight [3], bn.bias [3] (PyTorch's layouts), fixed values."""
    g = torch.Generator().manual_seed(2)
    return {
        'fc.weight': (torch.randn(3, 4, generator=g) * 0.5).float(),
        'fc.bias': (torch.randn(3, generator=g) * 0.1).float(),
        'bn.weight': (1 + torch.randn(3, generator=g) * 0.1).float(),
        'bn.bias': (torch.randn(3, generator=g) * 0.1).float(),
    }


def tiny_data():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 4, generator=g).float()
    y = torch.randn(8, 3, generator=g).float()
    return x, y


def tiny_loss(p, x, y):
    """mean((bn.weight * (x @ fc.weight^T + fc.bias) + bn.bias - y)^2): a quadratic in each parameter."""
    out = (x @ p['fc.weight'].t() + p['fc.bias']) * p['bn.weight'] + p['bn.bias']
    return ((out - y) ** 2).mean()


NO_DECAY = ['fc.bias', 'bn.weight', 'bn.bias']  # what noDecayOn: 'bn_bias' leaves out

OPTIMIZERS = [
    # name, class, torch kwargs, no-decay split?, lr per step (None: constant)
    ('sgd', 'SGD', dict(lr=0.1), False, None),
    ('sgd momentum', 'SGD', dict(lr=0.1, momentum=0.9), False, None),
    ('sgd momentum dampening', 'SGD', dict(lr=0.1, momentum=0.9, dampening=0.3), False, None),
    ('sgd nesterov', 'SGD', dict(lr=0.1, momentum=0.9, nesterov=True), False, None),
    ('sgd weight decay', 'SGD', dict(lr=0.1, momentum=0.9, weight_decay=0.05), False, None),
    ('sgd nesterov weight decay no-decay bn_bias', 'SGD', dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05), True, None),
    ('sgd momentum lr changed', 'SGD', dict(lr=0.1, momentum=0.9), False, [0.1] * 4 + [0.05] * 3 + [0.01] * 3),
    ('adam', 'Adam', dict(lr=0.05), False, None),
    ('adam betas eps', 'Adam', dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3), False, None),
    ('adam weight decay', 'Adam', dict(lr=0.05, weight_decay=0.1), False, None),
    ('adam amsgrad', 'Adam', dict(lr=0.05, amsgrad=True), False, None),
    ('adamw', 'AdamW', dict(lr=0.05, weight_decay=0.1), False, None),
    ('adamw default decay', 'AdamW', dict(lr=0.05), False, None),
    ('adamw no-decay bn_bias lr changed', 'AdamW', dict(lr=0.05, weight_decay=0.1), True, [0.05] * 5 + [0.02] * 5),
    ('adamw amsgrad', 'AdamW', dict(lr=0.05, weight_decay=0.1, amsgrad=True), False, None),
]


def optimizer_fixtures():
    init = tiny_model()
    x, y = tiny_data()
    configs = []
    for name, cls, kwargs, split, lrs in OPTIMIZERS:
        p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
        if split:
            decay = [v for k, v in p.items() if k not in NO_DECAY]
            no_decay = [v for k, v in p.items() if k in NO_DECAY]
            groups = [{'params': decay}, {'params': no_decay, 'weight_decay': 0.0}]
        else:
            groups = list(p.values())
        opt = getattr(torch.optim, cls)(groups, **kwargs)
        steps = []
        for i in range(STEPS):
            if lrs is not None:
                for group in opt.param_groups:
                    group['lr'] = lrs[i]
            opt.zero_grad()
            loss = tiny_loss(p, x, y)
            loss.backward()
            grads = {k: values(v.grad) for k, v in p.items()}
            opt.step()
            steps.append({'loss': float(loss), 'grads': grads, 'params': {k: values(v) for k, v in p.items()}})
        options = {k: v for k, v in kwargs.items() if k != 'betas'}
        if 'betas' in kwargs:
            options['betas'] = list(kwargs['betas'])
        configs.append({'name': name, 'optimizer': cls, 'options': options, 'noDecayBnBias': split, 'lrs': lrs, 'steps': steps})
    write('optimizers.json', {
        'torch': torch.__version__,
        'init': {k: host(v) for k, v in init.items()},
        'x': host(x),
        'y': host(y),
        'configs': configs,
    })


# ------------------------------------------------------------------------------------------ schedulers

SCHEDULE_STEPS = 30
BASE_LRS = [0.1, 0.02]


def scheduler_fixtures():
    from torch.optim import lr_scheduler as S

    def run(build):
        params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
        opt = torch.optim.SGD([{'params': [params[0]], 'lr': BASE_LRS[0]}, {'params': [params[1]], 'lr': BASE_LRS[1]}], lr=BASE_LRS[0])
        sched = build(opt)
        lrs = [[g['lr'] for g in opt.param_groups]]
        for _ in range(SCHEDULE_STEPS):
            opt.step()
            sched.step()
            lrs.append([g['lr'] for g in opt.param_groups])
        return lrs

    cases = [
        ('step', {'type': 'step', 'stepSize': 7, 'gamma': 0.5}, lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        ('multistep', {'type': 'multistep', 'milestones': [5, 12, 20], 'gamma': 0.3},
         lambda o: S.MultiStepLR(o, milestones=[5, 12, 20], gamma=0.3)),
        ('cosine', {'type': 'cosine', 'tMax': 30, 'etaMin': 0}, lambda o: S.CosineAnnealingLR(o, T_max=30)),
        ('cosine past tMax', {'type': 'cosine', 'tMax': 10, 'etaMin': 0.001},
         lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
        ('linear warm-up', {'type': 'linear', 'startFactor': 0.1, 'length': 5},
         lambda o: S.LinearLR(o, start_factor=0.1, total_iters=5)),
        ('linear decay', {'type': 'linear', 'startFactor': 1.0, 'endFactor': 0.05, 'length': 20},
         lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=20)),
        ('warm-up then cosine',
         {'type': 'sequential', 'milestones': [5], 'schedules': [
             {'type': 'linear', 'startFactor': 0.01, 'length': 5}, {'type': 'cosine', 'tMax': 25, 'etaMin': 0}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=5), S.CosineAnnealingLR(o, T_max=25)], milestones=[5])),
        ('warm-up then multistep',
         {'type': 'sequential', 'milestones': [3], 'schedules': [
             {'type': 'linear', 'startFactor': 0.25, 'length': 3}, {'type': 'multistep', 'milestones': [10, 20], 'gamma': 0.1}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=3), S.MultiStepLR(o, milestones=[10, 20], gamma=0.1)], milestones=[3])),
        ('warm-up, step, cosine',
         {'type': 'sequential', 'milestones': [4, 12], 'schedules': [
             {'type': 'linear', 'startFactor': 0.2, 'length': 4}, {'type': 'step', 'stepSize': 3, 'gamma': 0.5},
             {'type': 'cosine', 'tMax': 18, 'etaMin': 0.0005}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=4), S.StepLR(o, step_size=3, gamma=0.5),
                                      S.CosineAnnealingLR(o, T_max=18, eta_min=0.0005)], milestones=[4, 12])),
    ]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # SequentialLR calls scheduler.step(0), which PyTorch marks deprecated
        for name, spec, build in cases:
            out.append({'name': name, 'spec': spec, 'lrs': run(build)})
    write('schedulers.json', {'torch': torch.__version__, 'baseLrs': BASE_LRS, 'steps': SCHEDULE_STEPS, 'cases': out})


# -------------------------------------------------------------------------------------------- clipping

def clip_fixtures():
    g = torch.Generator().manual_seed(4)
    grads = [torch.randn(3, 4, generator=g).float(), torch.randn(5, generator=g).float(), torch.randn(2, 2, 2, generator=g).float()]
    cases = []
    for max_norm, norm_type in ((1.0, 2.0), (100.0, 2.0), (0.5, math.inf), (10.0, math.inf)):
        ps = [torch.zeros_like(t, requires_grad=True) for t in grads]
        for p, t in zip(ps, grads):
            p.grad = t.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        cases.append({
            'maxNorm': max_norm,
            'normType': 'inf' if math.isinf(norm_type) else norm_type,
            'totalNorm': float(total),
            'clipped': [host(p.grad) for p in ps],
        })
    write('clip.json', {'torch': torch.__version__, 'grads': [host(t) for t in grads], 'cases': cases})


if __name__ == '__main__':
    torch.set_default_dtype(torch.float32)
    loss_fixtures()
    optimizer_fixtures()
    scheduler_fixtures()
    clip_fixtures()
