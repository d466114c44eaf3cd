#!/usr/bin/python3
"""Paired, interleaved comparison of qreg's train step with PyTorch's, robust to a host whose
speed drifts (a shared VM here drifts by ±30% within minutes, so two programs run one after the
other for a minute each can differ by that much for reasons of neither).

Each round times PyTorch for about --seconds (in this process, bench/peer_train_torch.py's
models and step) and qreg's bench_train for about as long (a subprocess, its benchmark timer
excludes start-up), PyTorch first in even rounds and second in odd ones, and records the ratio
qreg/torch of samples per second. The two halves
of a round are seconds apart, so drift cancels in the ratio; the median over rounds and its
spread are printed per comparison.

    OPENBLAS_CORETYPE=Haswell /usr/bin/python3 bench/peer_pair.py build/bin/bench_train [--rounds 11]

Thread budget as in peer_train_torch.py: torch at 1 thread with OpenBLAS on every core, qreg at
QREG_BENCH_THREADS (default 2, the cores here).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_train_torch as peer  # noqa: E402

# (label, qreg benchmark name, torch model factory)
COMPARISONS = [
    ("MLP FP32 vs torch FP32", "train_step/mlp_fp32", lambda: peer.mlp()),
    ("MLP QAT-8 vs torch FakeQuantize-8", "train_step/mlp_qat8_tensor", lambda: peer.FakeQuantWeights(peer.mlp())),
    ("MLP QAT-8 vs torch manual STE-8", "train_step/mlp_qat8_tensor", lambda: peer.SteWeights(peer.mlp())),
    ("CNN FP32 vs torch FP32", "train_step/cnn_fp32", lambda: peer.cnn()),
    ("CNN QAT-8 vs torch FakeQuantize-8", "train_step/cnn_qat8_tensor", lambda: peer.FakeQuantWeights(peer.cnn())),
]


class TorchStep:
    def __init__(self, model):
        torch.manual_seed(0)
        self.model = model
        self.x = torch.rand(128, 1, 28, 28)
        self.y = torch.randint(0, 10, (128,))
        self.opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        self.run(3)  # warm-up

    def run(self, steps):
        for _ in range(steps):
            self.opt.zero_grad()
            F.cross_entropy(self.model(self.x), self.y).backward()
            self.opt.step()

    def rate(self, seconds):
        """Samples/s over at least `seconds`, after untimed steps for about 0.4·seconds: OpenBLAS's
        threads went to sleep and the caches went cold while qreg ran (Google Benchmark's own
        iteration-count estimation warms qreg up likewise)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.4 * seconds:
            self.run(1)
        steps, t0 = 0, time.perf_counter()
        while True:
            self.run(5)
            steps += 5
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                return steps * 128 / elapsed


def qreg_rate(binary, name, seconds):
    out = subprocess.run([binary, f"--benchmark_filter=^{name}/", f"--benchmark_min_time={seconds}",
                          "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b["name"].startswith(name + "/")]
    if len(runs) != 1:
        sys.exit(f"peer_pair: expected one run of {name}, got {[b['name'] for b in runs]}")
    return runs[0]["samples/s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench_train", help="path to qreg's bench_train")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--seconds", type=float, default=0.5, help="time per half round")
    ap.add_argument("--only", default="", help="run comparisons whose label contains this text")
    ap.add_argument("--verbose", action="store_true", help="print every round's pair")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, BLAS {peer.blas_library()} "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}); "
          f"{args.rounds} rounds of ~{args.seconds} s per side")
    for label, name, make in COMPARISONS:
        if args.only not in label:
            continue
        step = TorchStep(make())
        ratios, ours, theirs = [], [], []
        for r in range(args.rounds):
            if r % 2 == 0:  # alternate which side goes first (an ABBA order cancels order effects)
                t = step.rate(args.seconds)
                q = qreg_rate(args.bench_train, name, args.seconds)
            else:
                q = qreg_rate(args.bench_train, name, args.seconds)
                t = step.rate(args.seconds)
            theirs.append(t)
            ours.append(q)
            ratios.append(q / t)
            if args.verbose:
                print(f"  round {len(ratios)}: qreg {q:.0f}, torch {t:.0f}, ratio {q / t:.2f}", flush=True)
        ratios.sort()
        q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        print(f"{label:36s} ratio median {statistics.median(ratios):.2f} (quartiles {q1:.2f}-{q3:.2f}, "
              f"range {ratios[0]:.2f}-{ratios[-1]:.2f}); samples/s qreg {statistics.median(ours):.0f}, "
              f"torch {statistics.median(theirs):.0f}", flush=True)


if __name__ == "__main__":
    main()
