// ONNX export and import of the training-side ops (docs/onnx.md, "Activation quantizer and dropout"):
// - a model with activation quantizers and dropout exports (opsets 11, 13, 17) and re-imports
//   to the same inference function: bitwise the same outputs (same engine, same parameter values),
//   ActQuant nodes with the same bits, names and running max; Dropout leaves no node on import
//   (it is the identity in inference);
// - the exported files pass onnx.checker(full_check) (python3-onnx), and the exported quantizer
//   pattern evaluated by numpy with the ONNX operator semantics (float32 Div, Round half to even,
//   Clip, Mul) gives bitwise our outputs; both skipped when python3 lacks onnx or numpy;
// - a quantizer that no training forward calibrated cannot be exported (Error), and a broken
//   pattern is an import Error naming the node.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/act_quant.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/npy.hpp"
#include "core/onnx_export.hpp"
#include "core/onnx_import.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;

std::string temp_path(const std::string& file) { return ::testing::TempDir() + "qreg_test_onnx_aq_" + file; }

bool python_has(const char* modules) {
  const std::string cmd = std::string("/usr/bin/python3 -c 'import ") + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// The model with calibrated quantizers: one training forward on `x`, running max written back.
ParamSet calibrated(const Graph& g, const Tensor& x) {
  ParamSet p = g.values;
  Executor ex(g);
  ex.forward(x, p, true);
  ex.update_running_stats(p);
  return p;
}

TEST(OnnxActQuant, RoundTripGivesTheSameFunction) {
  const Graph g = with_dropout(with_activation_quant(make_mlp({784, 32, 16, 10}, 2), 4), 0.3f);
  const Tensor x = random_tensor({5, 1, 28, 28}, 1, 0.0f, 1.0f);
  const ParamSet p = calibrated(g, x);
  Executor ex(g);
  const Tensor want = ex.forward(x, p);
  for (const int opset : {11, 13, 17}) {
    SCOPED_TRACE(opset);
    const std::string path = temp_path("mlp_opset" + std::to_string(opset) + ".onnx");
    export_onnx(g, p, path, opset);
    const Graph back = import_onnx(path);
    std::vector<const Node*> quantizers;
    for (const Node& n : back.nodes) {
      EXPECT_NE(n.op, OpType::Dropout);
      if (n.op == OpType::ActQuant) quantizers.push_back(&n);
    }
    ASSERT_EQ(quantizers.size(), 2u);
    EXPECT_EQ(activation_bits(back), 4);
    EXPECT_EQ(quantizers[0]->name, "Relu_2.act_quant");
    const auto m = static_cast<std::size_t>(quantizers[0]->params.at(0));
    EXPECT_EQ(back.params[m].name, "Relu_2.act_max");
    EXPECT_EQ(back.params[m].role, ParamRole::ActMax);
    Executor ex_back(back);
    const Tensor& got = ex_back.forward(x, back.values);
    ASSERT_EQ(got.shape(), want.shape());
    for (std::int64_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
  }
}

TEST(OnnxActQuant, ExportPassesCheckerAndNumpyAgreesBitwise) {
  if (!python_has("onnx, numpy")) GTEST_SKIP() << "python3 with onnx and numpy is not installed";
  // Relu → ActQuant(3 bits) alone: every ONNX op in the file is elementwise, so numpy's result
  // must equal ours bit for bit. Calibrated to max 1.75 (the first batch's max), so s = 0.25 and
  // the inputs (k + ½)·s are exact ties: they tell round-half-to-even from half-away-from-zero.
  const Graph g = with_activation_quant(test::single_op(OpType::Relu, {64}), 3);
  Tensor calib = random_tensor({8, 64}, 3, -1.0f, 1.5f);
  calib[0] = 1.75f;
  const ParamSet p = calibrated(g, calib);
  ASSERT_EQ(p.back()[0], 1.75f);
  Tensor x = random_tensor({8, 64}, 2, -1.0f, 3.0f);  // some above 1.75: clipped
  for (int k = 0; k < 8; ++k) x[k] = (static_cast<float>(k) + 0.5f) * 0.25f;
  const std::string model = temp_path("single.onnx"), in = temp_path("x.npy"), out = temp_path("y.npy");
  export_onnx(g, p, model, 13);
  write_npy(in, x);
  const std::string script =
      "import sys, onnx, numpy as np\n"
      "from onnx import numpy_helper\n"
      "m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)\n"
      "env = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}\n"
      "env[m.graph.input[0].name] = np.load(sys.argv[2])\n"
      "ops = {'Relu': lambda a: np.maximum(a, np.float32(0)), 'Div': np.divide, 'Round': np.round,\n"
      "       'Clip': np.clip, 'Mul': np.multiply}\n"
      "for n in m.graph.node: env[n.output[0]] = ops[n.op_type](*[env[i] for i in n.input]).astype(np.float32)\n"
      "np.save(sys.argv[3], env[m.graph.output[0].name])\n";
  const std::string py = temp_path("eval.py");
  {
    std::FILE* f = std::fopen(py.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(script.c_str(), f);
    std::fclose(f);
  }
  const std::string cmd = "/usr/bin/python3 '" + py + "' '" + model + "' '" + in + "' '" + out + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Executor ex(g);
  const Tensor& want = ex.forward(x, p);
  const Tensor got = read_npy_float(out);
  ASSERT_EQ(got.shape(), want.shape());
  int clipped = 0;
  for (std::int64_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << i;
    clipped += x[i] > p.back()[0];
  }
  EXPECT_GT(clipped, 0);  // the test covers the clipped range too
}

TEST(OnnxActQuant, BuiltInModelsPassTheChecker) {
  if (!python_has("onnx")) GTEST_SKIP() << "python3-onnx is not installed";
  std::string files;
  const Tensor x = random_tensor({2, 1, 28, 28}, 1, 0.0f, 1.0f);
  for (const Graph& base : {make_mlp({784, 16, 10}, 1), make_cnn(1)}) {
    const Graph g = with_dropout(with_activation_quant(base, 8), 0.1f);
    const ParamSet p = calibrated(g, x);
    for (const int opset : {11, 17}) {
      const std::string path = temp_path(base.name + std::to_string(opset) + ".onnx");
      export_onnx(g, p, path, opset);
      files += " '" + path + "'";
    }
  }
  const std::string cmd =
      "/usr/bin/python3 -c \"import onnx, sys\n"
      "for f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)\"" +
      files;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(OnnxActQuant, UncalibratedQuantizerIsNotExported) {
  const Graph g = with_activation_quant(make_mlp({4, 4, 2}, 1), 8);
  EXPECT_THROW(export_onnx(g, g.values, temp_path("uncalibrated.onnx")), Error);
}

TEST(OnnxActQuant, BrokenPatternIsAnErrorNamingTheNode) {
  if (!python_has("onnx")) GTEST_SKIP() << "python3-onnx is not installed";
  const Graph g = with_activation_quant(make_mlp({4, 4, 2}, 1), 8);
  const std::string path = temp_path("broken.onnx");
  export_onnx(g, calibrated(g, random_tensor({3, 4}, 1)), path);
  // Clip(r, 0, 0) instead of Clip(r, 0, 255): no longer the quantizer.
  const std::string cmd =
      "/usr/bin/python3 -c \"import onnx, sys\n"
      "m = onnx.load(sys.argv[1])\n"
      "c = [n for n in m.graph.node if n.op_type == 'Clip'][0]\n"
      "c.input[2] = c.input[1]\n"
      "onnx.save(m, sys.argv[1])\" '" +
      path + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  try {
    import_onnx(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("(Clip)"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace qreg
