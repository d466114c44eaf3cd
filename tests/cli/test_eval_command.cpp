// `qreg eval` against PyTorch. The committed reference model tests/data/onnx/mlp.onnx (made by
// tests/data/onnx/make_reference.py) comes with a 4-sample input batch and PyTorch's logits for
// it. The test labels each sample with PyTorch's own argmax, so PyTorch's fp32 accuracy on this
// data is exactly 1 and its mean cross-entropy is computed here, in double, from PyTorch's logits.
// qreg must reproduce both: accuracy exactly (the top-2 margin is checked to exceed the engine's
// float error by orders of magnitude) and the loss within 1e-5 absolute (logits agree to ~1e-6,
// see test_onnx.cpp, and the loss is 1-Lipschitz in each logit).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/npy.hpp"
#include "tests/cli/cli_run.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/";

// A 1-D little-endian int64 .npy (format 1.0), written by hand so the test does not rely on the
// reader under test's twin writer.
void write_labels_npy(const fs::path& path, const std::vector<std::int64_t>& labels) {
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(labels.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream os(path, std::ios::binary);
  os.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  os.put(static_cast<char>(len & 0xff));
  os.put(static_cast<char>(len >> 8));
  os << header;
  os.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size() * 8));
}

class EvalCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("qreg_eval_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::create_directories(dir_);
    const qreg::Tensor logits = qreg::read_npy_float(kDir + "mlp_output.npy");  // PyTorch's
    const std::int64_t n = logits.dim(0), c = logits.dim(1);
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<double> z(logits.data() + i * c, logits.data() + (i + 1) * c);
      const auto best = std::max_element(z.begin(), z.end()) - z.begin();
      double second = -1e30, lse = 0;
      for (std::int64_t k = 0; k < c; ++k) {
        if (k != best) second = std::max(second, z[k]);
        lse += std::exp(z[k] - z[best]);
      }
      ASSERT_GT(z[best] - second, 1e-4) << "sample " << i << " too close to a tie for an exact accuracy check";
      torch_loss_ += std::log(lse) / static_cast<double>(n);  // -log softmax at the argmax
      labels.push_back(best);
    }
    labels_ = (dir_ / "labels.npy").string();
    write_labels_npy(labels_, labels);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string labels_;
  double torch_loss_ = 0;
};

TEST_F(EvalCommand, Fp32MatchesPytorchAccuracyAndLoss) {
  const CliRun r = run({"eval", "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy", "--labels", labels_,
                        "--bits", "32,16,8,2", "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "eval");
  EXPECT_EQ(j["samples"], 4);
  ASSERT_EQ(j["results"].size(), 4u);
  const auto& fp32 = j["results"][0];
  EXPECT_EQ(fp32["bits"], 32);
  EXPECT_EQ(fp32["accuracy"].get<double>(), 1.0);
  EXPECT_NEAR(fp32["loss"].get<double>(), torch_loss_, 1e-5);
  // 16-bit steps are ~max|w|/32767: the loss moves by far less than 1e-3.
  EXPECT_NEAR(j["results"][1]["loss"].get<double>(), torch_loss_, 1e-3);
  // Every quantized row reports one step per quantized layer (3 Gemm layers in the MLP).
  for (int k = 1; k < 4; ++k) EXPECT_EQ(j["results"][k]["layers"].size(), 3u);
  // 2-bit weights (codes −1, 0, 1) change the network visibly.
  EXPECT_GT(std::abs(j["results"][3]["loss"].get<double>() - torch_loss_), 1e-3);
}

TEST_F(EvalCommand, BadInputsGiveOneLineErrors) {
  const CliRun bits =
      run({"eval", "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy", "--labels", labels_, "--bits", "1"});
  EXPECT_EQ(bits.rc, 2) << bits.err;
  const CliRun missing = run({"eval", "--model", kDir + "none.onnx", "--data", kDir + "mlp_input.npy"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("none.onnx"), std::string::npos) << missing.err;
  const CliRun shape =
      run({"eval", "--model", kDir + "cnn.onnx", "--data", kDir + "mlp_input.npy", "--labels", labels_});
  EXPECT_EQ(shape.rc, 1);
  EXPECT_NE(shape.err.find("do not fit the model input"), std::string::npos) << shape.err;
  const CliRun unlabeled = run({"eval", "--model", kDir + "mlp.onnx", "--data", kDir + "mlp_input.npy"});
  EXPECT_EQ(unlabeled.rc, 1);
  EXPECT_NE(unlabeled.err.find("no labels"), std::string::npos) << unlabeled.err;
}

}  // namespace
