"""PyTorch's side of the training benchmark (train-peers.mjs): one process, one model, one thread count.

Mirrors cnn's lenet5 (MMPretrain's LeNet-5, 28x28x1, padding 2), resnet20_cifar (the ResNet paper's CIFAR network,
reference_models.py of @cnn/models-classic), resnet18_cifar (torchvision's ResNet-18 with MMPretrain's CIFAR stem)
and mobilenet_v2 (torchvision's, 1000 classes, dropout 0.2); BatchNorm eps 1e-5 and momentum 0.1 everywhere, as in
cnn. NCHW eager, float32, random data made before the timed loop, warm-up excluded. One step: zero_grad, forward,
cross-entropy, backward, SGD (momentum 0.9) step, loss.item(). Prints one line `RESULT <json>` with every timed
step in milliseconds.

Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 torch_step.py '<json: model, threads, batch, size, channels,
classes, warmup, minIters, minSeconds, maxIters>'
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torchvision

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'models-classic', 'scripts'))
from reference_models import CifarResNet, cifar_stem  # noqa: E402


class LeNet5(nn.Module):
    """MMPretrain's LeNet5 with its classifier, for 28x28 input (the first convolution pads by 2), as cnn's lenet5."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(16, 120, 5), nn.Tanh(),
        )
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def build(name, classes):
    if name == 'lenet5':
        return LeNet5(classes)
    if name == 'resnet20_cifar':
        return CifarResNet(20, classes)
    if name == 'resnet18_cifar':
        return cifar_stem(torchvision.models.resnet18(num_classes=classes))
    if name == 'mobilenet_v2':
        return torchvision.models.mobilenet_v2(num_classes=classes)
    raise SystemExit(f'torch_step.py: unknown model {name}')


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg['threads'])
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = build(cfg['model'], cfg['classes'])
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    b, c, s = cfg['batch'], cfg['channels'], cfg['size']
    x = torch.randn(b, c, s, s)
    y = torch.randint(0, cfg['classes'], (b,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(cfg['warmup']):
        step()
    times = []
    t_start = time.perf_counter()
    while len(times) < cfg['maxIters'] and (
        len(times) < cfg['minIters'] or time.perf_counter() - t_start < cfg['minSeconds']
    ):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    info = f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads ({torch.__config__.parallel_info().splitlines()[0] if hasattr(torch.__config__, 'parallel_info') else ''})"
    print('RESULT ' + json.dumps({'times': times, 'info': info}), flush=True)


main()
