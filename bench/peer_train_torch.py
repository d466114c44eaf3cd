#!/usr/bin/python3
"""PyTorch peer for bench_engine's train step: samples/s of one SGD step (forward, cross-entropy,
backward, update) of the MLP 784-256-256-10 and the small CNN at batch 128, FP32, and the same
with PyTorch's FakeQuantize on the weights (8-bit QAT). Run with Debian's python3-torch:

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer_train_torch.py [threads]

Prints medians of 5 repetitions of 50 steps each. Compare with bench_engine's BM_MlpTrainStep /
BM_CnnTrainStep on the same machine and thread count.
"""
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
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} thread(s), batch 128, samples/s (median of 5)")
    for name, make in (("mlp", mlp), ("cnn", cnn)):
        print(f"{name} fp32       {bench(make()):10.0f}")
        print(f"{name} fakequant8 {bench(FakeQuantWeights(make())):10.0f}")


if __name__ == "__main__":
    main()
