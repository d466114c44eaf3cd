#!/usr/bin/python3
"""PyTorch peer for qreg's train step: samples/s of one SGD step (forward, cross-entropy,
backward, update) of the MLP 784-256-256-10 and the small CNN at batch 128 on Fashion-MNIST-shaped
inputs, FP32; with PyTorch's FakeQuantize on the weights (8-bit per-tensor symmetric QAT); and
with a manual straight-through quantizer (w + (q(w) − w).detach(), q as qreg's: Δ = max|w|/127).
Run with Debian's python3-torch (scripts/setup-debian --peers, which also installs OpenBLAS:
Debian's torch calls libblas.so.3, the reference BLAS unless OpenBLAS provides it):

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer_train_torch.py [torch_threads]

torch's own thread pool defaults to 1 thread: OpenBLAS already runs its GEMMs on every core, so
the thread budget is the machine's (compare with qreg at --threads = cores). Prints the BLAS in
use, a 1024³ sgemm rate and medians of 5 repetitions of 50 steps each. Compare with bench_engine
and bench_train in the same session.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10))


class FakeQuantWeights(nn.Module):
    """Wraps a model so Linear/Conv weights go through torch.ao FakeQuantize (8-bit, symmetric)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.fq = nn.ModuleDict()
        for name, m in model.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                self.fq[name.replace(".", "_")] = torch.ao.quantization.FakeQuantize(
                    observer=torch.ao.quantization.MovingAverageMinMaxObserver, quant_min=-127, quant_max=127,
                    dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)

    def forward(self, x):
        for name, m in self.model.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                w = self.fq[name.replace(".", "_")](m.weight)
                x = F.linear(x, w, m.bias) if isinstance(m, nn.Linear) else F.conv2d(x, w, m.bias, padding=1)
            elif isinstance(m, (nn.ReLU, nn.MaxPool2d, nn.Flatten)):
                x = m(x)
        return x


class SteWeights(nn.Module):
    """Wraps a model so Linear/Conv weights are q(w) in the forward and pass gradients straight through."""

    def __init__(self, model, bits=8):
        super().__init__()
        self.model = model
        self.qmax = 2 ** (bits - 1) - 1

    def quant(self, w):
        step = w.detach().abs().max() / self.qmax
        q = torch.clamp(torch.round(w.detach() / step), -self.qmax, self.qmax) * step
        return w + (q - w.detach())

    def forward(self, x):
        for m in self.model.modules():
            if isinstance(m, nn.Linear):
                x = F.linear(x, self.quant(m.weight), m.bias)
            elif isinstance(m, nn.Conv2d):
                x = F.conv2d(x, self.quant(m.weight), m.bias, padding=1)
            elif isinstance(m, (nn.ReLU, nn.MaxPool2d, nn.Flatten)):
                x = m(x)
        return x


def blas_rate():
    a = torch.rand(1024, 1024)
    b = torch.rand(1024, 1024)
    a @ b
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * 1024 ** 3 / statistics.median(times) / 1e9


def blas_library():
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line}
        return ", ".join(sorted(libs)) or "unknown"
    except OSError:
        return "unknown"


def bench(model, steps=50, reps=5):
    torch.manual_seed(0)
    x = torch.rand(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rates = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        rates.append(steps * 128 / (time.perf_counter() - t0))
    return statistics.median(rates[1:])  # first repetition warms up


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    rate = blas_rate()
    print(f"torch {torch.__version__}, torch threads {threads}, BLAS {blas_library()} "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}), sgemm 1024^3 {rate:.1f} GFLOP/s")
    print("batch 128, samples/s (median of 5)")
    for name, make in (("mlp", mlp), ("cnn", cnn)):
        print(f"{name} fp32       {bench(make()):10.0f}")
        print(f"{name} fakequant8 {bench(FakeQuantWeights(make())):10.0f}")
        print(f"{name} ste8       {bench(SteWeights(make())):10.0f}")


if __name__ == "__main__":
    main()
