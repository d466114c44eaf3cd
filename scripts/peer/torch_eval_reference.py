#!/usr/bin/python3
"""Trains a small MLP on Fashion-MNIST with PyTorch, exports it to ONNX and prints PyTorch's own
test accuracy and mean cross-entropy, so that `qreg eval` on the exported file can be compared
with the peer on the same data (issue 3's check). Run with Debian's python3 (python3-torch):

    /usr/bin/python3 scripts/peer/torch_eval_reference.py /tmp/torch_mlp.onnx
    build/bin/qreg eval --model /tmp/torch_mlp.onnx --data fashion-mnist:test --bits 32,8,4
"""
import gzip
import sys

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load(split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x, dtype=torch.float32) / 255.0, torch.tensor(y, dtype=torch.int64)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/torch_mlp.onnx"
    torch.set_num_threads(1)
    torch.manual_seed(0)
    xtr, ytr = load("train")
    xte, yte = load("test")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(2):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(xte)
        loss = torch.nn.functional.cross_entropy(logits, yte).item()
        acc = (logits.argmax(1) == yte).float().mean().item()
    torch.onnx.export(model, xte[:1], out, opset_version=13, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    print(f"pytorch fp32 on fashion-mnist:test (10000): accuracy {acc:.4f}  loss {loss:.6f}  -> {out}")


if __name__ == "__main__":
    main()
