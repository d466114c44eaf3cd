// Tests of ONNX import and export (core/onnx_import, core/onnx_export).
//
// Expected values come from PyTorch: tests/data/onnx/make_reference.py (run by hand with the
// Debian python3-torch 1.13; seed and inputs fixed there) exports three small models (mlp: Gemm
// and Relu; cnn: Conv, MaxPool, BatchNormalization, a residual Add, AveragePool, Flatten, Gemm;
// misc: Reshape with -1 and 0, MatMul+Add, Identity, Dropout, Constant, GlobalAveragePool,
// Softmax) and saves PyTorch's outputs for a fixed batch x and the gradients of
// L = Σ r ⊙ output (fixed r) with respect to x and every parameter.
//
// Tolerance (kRelTol): the engine and PyTorch sum the same float32 products in different orders
// and block sizes. Each rounding contributes at most ε = 2⁻²⁴ relative to a partial sum, and over a
// sum of K terms the errors add like a random walk, ≈ ε·√K relative to the result's scale. We
// accept |ours − torch| ≤ kRelTol·√K_max·max(1, |torch|) with kRelTol = 1e-6 (about 17 ε) and
// K_max the longest reduction of the model's forward or backward pass (mlp: 784 inputs of fc1;
// cnn: a conv weight gradient sums over N·H·W = 3·12·12; misc: 48 inputs of the MatMul). The
// observed errors are ≤ 7e-7 (10× under the bound); a dropped bias or a wrong transposition gives
// errors of 1e-3..1e-1.
// The export round trip must reproduce the graph and its forward output bitwise (same engine,
// same parameter values); the exported file is checked by onnx.checker (python3-onnx) when that
// is installed, else that test is skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/npy.hpp"
#include "core/onnx_export.hpp"
#include "core/onnx_import.hpp"

namespace qreg {
namespace {

constexpr double kRelTol = 1e-6;

std::string data_path(const std::string& file) { return std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/" + file; }
std::string temp_path(const std::string& file) { return ::testing::TempDir() + "qreg_test_onnx_" + file; }
Tensor reference(const std::string& model, const std::string& what) {
  return read_npy_float(data_path(model + "_" + what + ".npy"));
}

std::vector<std::string> op_list(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.emplace_back(op_name(n.op));
  return ops;
}

int param_id(const Graph& g, const std::string& name) {
  for (std::size_t i = 0; i < g.params.size(); ++i)
    if (g.params[i].name == name) return static_cast<int>(i);
  ADD_FAILURE() << "no parameter " << name;
  return 0;
}

void expect_close(const Tensor& ours, const Tensor& torch, double k_max, const std::string& what) {
  ASSERT_EQ(ours.shape(), torch.shape()) << what;
  const double tol = kRelTol * std::sqrt(k_max);
  double worst = 0.0;
  for (std::int64_t i = 0; i < ours.size(); ++i) {
    const double err = std::abs(double(ours[i]) - double(torch[i])) / std::max(1.0, std::abs(double(torch[i])));
    worst = std::max(worst, err);
  }
  EXPECT_LE(worst, tol) << what << ": worst scaled error " << worst;
}

Tensor transposed(const Tensor& t) {
  Tensor r({t.dim(1), t.dim(0)});
  r.matrix(t.dim(1)) = t.matrix(t.dim(0)).transpose();
  return r;
}

std::string error_of(const std::string& path) {
  try {
    import_onnx(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- structure -----------------------------------------------------------------------------

TEST(OnnxImport, MlpStructure) {
  const Graph g = import_onnx(data_path("mlp.onnx"));
  EXPECT_EQ(op_list(g), (std::vector<std::string>{"Gemm", "Relu", "Gemm", "Relu", "Gemm"}));
  EXPECT_EQ(g.input_shape, (Shape{784}));
  EXPECT_EQ(g.value_shapes[static_cast<std::size_t>(g.output)], (Shape{10}));
  EXPECT_EQ(g.values[static_cast<std::size_t>(param_id(g, "fc1.weight"))].shape(), (Shape{64, 784}));  // [out, in]
  EXPECT_EQ(g.num_parameters(), 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
  EXPECT_EQ(g.quantized_nodes(), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(g.nodes[0].name, "/fc1/Gemm");
}

TEST(OnnxImport, CnnStructure) {
  const Graph g = import_onnx(data_path("cnn.onnx"));
  EXPECT_EQ(op_list(g), (std::vector<std::string>{"Conv", "Relu", "MaxPool", "BatchNormalization", "Conv", "Relu",
                                                  "Add", "Relu", "AveragePool", "Flatten", "Gemm"}));
  EXPECT_EQ(g.input_shape, (Shape{1, 12, 12}));
  const std::vector<Shape> out_shapes = {{4, 12, 12}, {4, 12, 12}, {4, 6, 6}, {4, 6, 6}, {4, 6, 6}, {4, 6, 6},
                                         {4, 6, 6},   {4, 6, 6},   {4, 3, 3}, {36},      {10}};
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    EXPECT_EQ(g.value_shapes[static_cast<std::size_t>(g.nodes[i].output)], out_shapes[i]) << g.nodes[i].name;
  EXPECT_EQ(g.nodes[0].attrs.ints.at("pads"), (std::vector<std::int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(g.nodes[3].params.size(), 4u);
  EXPECT_EQ(g.params[static_cast<std::size_t>(param_id(g, "bn1.running_var"))].role, ParamRole::BnVar);
  // Trainable: conv1 36+4, bn1 4+4, conv2 144+4, fc 360+10 (running statistics excluded).
  EXPECT_EQ(g.num_parameters(), 566);
  EXPECT_EQ(g.quantized_nodes(), (std::vector<int>{0, 4, 10}));
}

TEST(OnnxImport, MiscFoldsMatMulAddAndDropsNoOps) {
  const Graph g = import_onnx(data_path("misc.onnx"));
  // MatMul+Add -> Gemm; Identity, Dropout and Constant leave no node.
  EXPECT_EQ(op_list(g), (std::vector<std::string>{"Reshape", "Gemm", "Relu", "Reshape", "GlobalAveragePool", "Flatten",
                                                  "Gemm", "Softmax"}));
  EXPECT_EQ(g.nodes[0].attrs.ints.at("shape"), (std::vector<std::int64_t>{48}));       // [-1, 48]
  EXPECT_EQ(g.nodes[3].attrs.ints.at("shape"), (std::vector<std::int64_t>{4, 2, 2}));  // [0, 4, -1, 2]
  const Tensor& w = g.values[static_cast<std::size_t>(param_id(g, "w"))];
  EXPECT_EQ(w.shape(), (Shape{16, 48}));  // MatMul's [in, out] stored as Gemm's [out, in]
  EXPECT_EQ(g.params[static_cast<std::size_t>(param_id(g, "b"))].role, ParamRole::Bias);
  EXPECT_EQ(g.num_parameters(), 48 * 16 + 16 + 4 * 3 + 3);
}

// ---- numbers against PyTorch ------------------------------------------------------------------

struct ModelCase {
  const char* name;
  double k_max;  // largest fan-in (terms per dot product)
};
constexpr ModelCase kModels[] = {{"mlp", 784}, {"cnn", 3 * 12 * 12}, {"misc", 48}};

TEST(OnnxImport, ForwardMatchesPytorch) {
  for (const auto& m : kModels) {
    const Graph g = import_onnx(data_path(std::string(m.name) + ".onnx"));
    Executor ex(g);
    expect_close(ex.forward(reference(m.name, "input")), reference(m.name, "output"), m.k_max, m.name);
  }
}

TEST(OnnxImport, GradientsMatchPytorch) {
  for (const auto& m : kModels) {
    const Graph g = import_onnx(data_path(std::string(m.name) + ".onnx"));
    Executor ex(g);
    ex.forward(reference(m.name, "input"));
    ParamSet grads;
    ex.backward({{g.output, reference(m.name, "r")}}, g.values, grads);
    expect_close(ex.grad(0), reference(m.name, "grad_input"), m.k_max, std::string(m.name) + " dL/dx");
    int compared = 0;
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      if (!g.params[i].trainable()) continue;
      Tensor want = reference(m.name, "grad_" + g.params[i].name);
      if (want.shape() != grads[i].shape() && want.rank() == 2) want = transposed(want);  // folded MatMul weight
      expect_close(grads[i], want, m.k_max, std::string(m.name) + " dL/d" + g.params[i].name);
      ++compared;
    }
    EXPECT_GT(compared, 0);
  }
}

// ---- export -----------------------------------------------------------------------------------

void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(op_list(a), op_list(b));
  EXPECT_EQ(a.input_shape, b.input_shape);
  EXPECT_EQ(a.value_shapes, b.value_shapes);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    EXPECT_EQ(a.nodes[i].name, b.nodes[i].name);
    EXPECT_EQ(a.nodes[i].inputs, b.nodes[i].inputs) << a.nodes[i].name;
    EXPECT_EQ(a.nodes[i].params, b.nodes[i].params) << a.nodes[i].name;
    EXPECT_EQ(a.nodes[i].attrs.ints, b.nodes[i].attrs.ints) << a.nodes[i].name;
    EXPECT_EQ(a.nodes[i].attrs.floats, b.nodes[i].attrs.floats) << a.nodes[i].name;
  }
  ASSERT_EQ(a.params.size(), b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_EQ(a.params[i].name, b.params[i].name);
    EXPECT_EQ(a.params[i].role, b.params[i].role);
    ASSERT_EQ(a.values[i].shape(), b.values[i].shape());
    EXPECT_EQ(std::memcmp(a.values[i].data(), b.values[i].data(), sizeof(float) * std::size_t(a.values[i].size())), 0);
  }
}

TEST(OnnxExport, RoundTripIsBitwiseIdentical) {
  for (const auto& m : kModels) {
    const Graph g = import_onnx(data_path(std::string(m.name) + ".onnx"));
    const std::string path = temp_path(std::string(m.name) + ".onnx");
    export_onnx(g, g.values, path);
    const Graph back = import_onnx(path);
    expect_same_graph(g, back);
    const Tensor x = reference(m.name, "input");
    Executor e1(g), e2(back);
    const Tensor& y1 = e1.forward(x);
    const Tensor& y2 = e2.forward(x);
    ASSERT_EQ(y1.shape(), y2.shape());
    EXPECT_EQ(std::memcmp(y1.data(), y2.data(), sizeof(float) * std::size_t(y1.size())), 0) << m.name;
  }
}

TEST(OnnxExport, WritesTheGivenParameterSet) {
  const Graph g = import_onnx(data_path("mlp.onnx"));
  ParamSet scaled = g.values;
  for (float& v : scaled[0].values()) v *= 2.0f;
  const std::string path = temp_path("mlp_scaled.onnx");
  export_onnx(g, scaled, path);
  const Graph back = import_onnx(path);
  EXPECT_EQ(std::memcmp(back.values[0].data(), scaled[0].data(), sizeof(float) * std::size_t(scaled[0].size())), 0);
}

TEST(OnnxExport, PassesOnnxChecker) {
  if (std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-onnx is not installed";
  std::string files;
  for (const auto& m : kModels) {
    const Graph g = import_onnx(data_path(std::string(m.name) + ".onnx"));
    for (const int opset : {11, 13, 17}) {
      const std::string path = temp_path(std::string(m.name) + "_opset" + std::to_string(opset) + ".onnx");
      export_onnx(g, g.values, path, opset);
      files += " '" + path + "'";
    }
  }
  // One interpreter for all files (each start costs ~0.3 s); full_check adds shape inference.
  const std::string cmd =
      "/usr/bin/python3 -c \"import onnx, sys\n"
      "for f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)\"" +
      files;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(OnnxExport, RejectsBadArguments) {
  const Graph g = import_onnx(data_path("mlp.onnx"));
  EXPECT_THROW(export_onnx(g, g.values, temp_path("bad.onnx"), 10), UsageError);
  ParamSet short_set(g.values.begin(), g.values.end() - 1);
  EXPECT_THROW(export_onnx(g, short_set, temp_path("bad.onnx")), Error);
}

// ---- errors -----------------------------------------------------------------------------------

TEST(OnnxImport, UnsupportedOpNamesNodeAndOp) {
  const std::string msg = error_of(data_path("unsupported.onnx"));
  EXPECT_NE(msg.find("unsupported.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'/LeakyRelu'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(LeakyRelu): unsupported op"), std::string::npos) << msg;
}

TEST(OnnxImport, UnsupportedAttributeValueNamesNode) {
  const std::string msg = error_of(data_path("grouped_conv.onnx"));
  EXPECT_NE(msg.find("grouped_conv.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(Conv)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("group=2"), std::string::npos) << msg;
}

TEST(OnnxImport, TruncatedOrMissingFileNamesTheFile) {
  for (const std::string file : {"truncated.onnx", "no_such_model.onnx", "make_reference.py"}) {
    const std::string msg = error_of(data_path(file));
    EXPECT_EQ(msg.rfind(data_path(file), 0), 0u) << msg;
  }
}

}  // namespace
}  // namespace qreg
