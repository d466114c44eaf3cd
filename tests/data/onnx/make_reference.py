#!/usr/bin/python3
"""Reference models and PyTorch results for tests/core/test_onnx.cpp (run by hand, not by CI).

    cd tests/data/onnx && /usr/bin/python3 make_reference.py

Needs the Debian python3-torch (1.13) and python3-onnx (1.12). For each model <m> it writes
  <m>.onnx               torch.onnx.export of the model in eval mode
  <m>_input.npy          x, a fixed input batch [N, ...] (float32)
  <m>_output.npy         the model's output for x (float32)
  <m>_r.npy              r, a fixed tensor shaped like the output
  <m>_grad_input.npy     dL/dx for L = sum(r * output)
  <m>_grad_<init>.npy    dL/d(parameter), named after the ONNX initializer it is exported as
                         (shaped like the PyTorch parameter, i.e. like the initializer)
Models:
  mlp   784-64-32-10 with ReLU (nn.Linear -> Gemm transB=1), opset 11, dynamic batch
  cnn   Conv, ReLU, MaxPool, BatchNormalization (eval, not foldable into the conv), a residual
        Add, AveragePool, Flatten, Gemm; opset 13, fixed batch
  misc  Reshape (-1 and, after an edit, 0), MatMul + Add(bias), Identity, Dropout, Constant,
        GlobalAveragePool, Flatten, Gemm, Softmax; opset 17, dynamic batch
Error cases: unsupported.onnx (a LeakyRelu), grouped_conv.onnx (Conv group=2, an unsupported
attribute value) and truncated.onnx (the first half of cnn.onnx).
"""
import numpy as np
import onnx
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(20220624)
torch.set_num_threads(1)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 64), nn.Linear(64, 32), nn.Linear(32, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(36, 10)

    def forward(self, x):                                # [N, 1, 12, 12]
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)       # [N, 4, 6, 6]
        h = self.bn1(h)                                  # after the pool: not folded into conv1
        h = F.relu(F.relu(self.conv2(h)) + h)            # residual Add
        h = F.avg_pool2d(h, 2, count_include_pad=False)  # [N, 4, 3, 3]; no Pad node
        return self.fc(torch.flatten(h, 1))


class Misc(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(48, 16) / 48**0.5)  # [in, out]: exported as MatMul
        self.b = nn.Parameter(torch.randn(16) * 0.1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):                                # [N, 3, 4, 4]
        h = F.relu(x.reshape(-1, 48) @ self.w + self.b)  # Reshape, MatMul, Add
        h = F.adaptive_avg_pool2d(h.reshape(-1, 4, 2, 2), 1)  # GlobalAveragePool
        return torch.softmax(self.fc(torch.flatten(h, 1)), dim=-1)


def export(model, x, name, opset, dynamic):
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    torch.onnx.export(model, x, name + ".onnx", opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamic_axes=axes, do_constant_folding=True)


def save(path, a):
    np.save(path, np.ascontiguousarray(a))


def reference(model, x, name, opset, dynamic=True):
    model.eval()
    export(model, x, name, opset, dynamic)
    x = x.clone().requires_grad_(True)
    y = model(x)
    r = torch.randn_like(y)
    (r * y).sum().backward()
    save(name + "_input.npy", x.detach().numpy())
    save(name + "_output.npy", y.detach().numpy())
    save(name + "_r.npy", r.numpy())
    save(name + "_grad_input.npy", x.grad.numpy())
    inits = {i.name for i in onnx.load(name + ".onnx").graph.initializer}
    for pname, p in model.named_parameters():
        assert pname in inits, (name, pname, inits)  # gradients are keyed by initializer name
        save(f"{name}_grad_{pname}.npy", p.grad.numpy())


def insert_after(graph, tensor, node):
    """Reroutes the consumers of `tensor` to node's output and inserts node after its producer."""
    out = node.output[0]
    for n in graph.node:
        for i, t in enumerate(n.input):
            if t == tensor:
                n.input[i] = out
    pos = next(i for i, n in enumerate(graph.node) if tensor in n.output)
    graph.node.insert(pos + 1, node)


def edit_misc():
    """Adds inference no-ops (Identity, Dropout) and a Reshape shape with a 0 entry."""
    model = onnx.load("misc.onnx")
    g = model.graph
    reshapes = [n for n in g.node if n.op_type == "Reshape"]
    mm = next(n for n in g.node if n.op_type == "MatMul")
    gemm = next(n for n in g.node if n.op_type == "Gemm")
    insert_after(g, mm.input[0], onnx.helper.make_node("Identity", [mm.input[0]], ["ident_out"], name="ident"))
    insert_after(g, gemm.input[0], onnx.helper.make_node("Dropout", [gemm.input[0]], ["drop_out"], name="drop"))
    # The second Reshape's shape [-1, 4, 2, 2] becomes the equivalent [0, 4, -1, 2] (a Constant node).
    shape = onnx.helper.make_tensor("shape0", onnx.TensorProto.INT64, [4], [0, 4, -1, 2])
    const = onnx.helper.make_node("Constant", [], ["shape0"], name="shape0_const", value=shape)
    g.node.insert(list(g.node).index(reshapes[1]), const)
    reshapes[1].input[1] = "shape0"
    onnx.checker.check_model(model)
    onnx.save(model, "misc.onnx")


def error_models():
    class Leaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return F.leaky_relu(self.fc(x), 0.1)

    export(Leaky().eval(), torch.randn(2, 4), "unsupported", 13, True)
    export(nn.Conv2d(2, 2, 3, groups=2).eval(), torch.randn(1, 2, 5, 5), "grouped_conv", 13, False)
    data = open("cnn.onnx", "rb").read()
    open("truncated.onnx", "wb").write(data[: len(data) // 2])


def main():
    reference(Mlp(), torch.rand(4, 784), "mlp", 11)
    cnn = Cnn()
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        cnn.bn1.running_mean.copy_(torch.randn(4) * 0.2)
        cnn.bn1.running_var.copy_(torch.rand(4) + 0.5)
        cnn.bn1.weight.copy_(torch.rand(4) + 0.5)
        cnn.bn1.bias.copy_(torch.randn(4) * 0.1)
    reference(cnn, torch.rand(3, 1, 12, 12), "cnn", 13, dynamic=False)
    reference(Misc(), torch.randn(3, 3, 4, 4), "misc", 17)
    edit_misc()
    error_models()


if __name__ == "__main__":
    main()
