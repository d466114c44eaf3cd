// Tests of `qreg info`, run in-process through run_cli on the committed PyTorch MLP
// (tests/data/onnx/mlp.onnx, made by tests/data/onnx/make_reference.py: 784-64-32-10, nn.Linear).
// Expected values are the model's architecture: Gemm(784→64) has 784·64 + 64 = 50240 parameters,
// Gemm(64→32) 2080, Gemm(32→10) 330; the three Gemms are quantized layers 0, 1, 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/cli_run.hpp"

namespace {

const std::string kMlp = std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/mlp.onnx";

TEST(InfoCommand, JsonListsNodesShapesParametersAndLayers) {
  const CliRun r = run({"info", "--model", kMlp, "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["command"], "info");
  EXPECT_EQ(doc["model"], kMlp);
  EXPECT_EQ(doc["input_shape"], nlohmann::json::array({784}));
  const auto& nodes = doc["nodes"];
  ASSERT_EQ(nodes.size(), 5u);
  const char* ops[] = {"Gemm", "Relu", "Gemm", "Relu", "Gemm"};
  const std::int64_t params[] = {50240, 0, 2080, 0, 330};
  const std::int64_t width[] = {64, 64, 32, 32, 10};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(nodes[i]["index"], i);
    EXPECT_EQ(nodes[i]["op"], ops[i]);
    EXPECT_EQ(nodes[i]["output_shape"], nlohmann::json::array({width[i]}));
    EXPECT_EQ(nodes[i]["parameters"], params[i]);
    EXPECT_EQ(nodes[i]["quantized"], i % 2 == 0);
  }
  EXPECT_EQ(nodes[0]["name"], "/fc1/Gemm");
  EXPECT_EQ(nodes[0]["layer"], 0);
  EXPECT_TRUE(nodes[1]["layer"].is_null());
  EXPECT_EQ(nodes[4]["layer"], 2);
  EXPECT_EQ(doc["total_parameters"], 52650);
  EXPECT_EQ(doc["quantized_layers"], 3);
  EXPECT_EQ(doc["quantizable_parameters"], 784 * 64 + 64 * 32 + 32 * 10);
}

TEST(InfoCommand, TableAndCsvToFile) {
  const CliRun table = run({"info", "--model", kMlp});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("/fc2/Gemm"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("52650"), std::string::npos) << table.out;

  const std::string path = ::testing::TempDir() + "qreg_test_info.csv";
  std::filesystem::remove(path);
  const CliRun csv = run({"info", "--model", kMlp, "--format", "csv", "--out", path});
  ASSERT_EQ(csv.rc, 0) << csv.err;
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("index,name,op,output_shape,parameters,layer"), std::string::npos) << text;
  EXPECT_NE(text.find("/fc3/Gemm"), std::string::npos) << text;
}

TEST(InfoCommand, MissingModelFileIsRuntimeErrorNamingThePath) {
  const std::string path = std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/no_such_model.onnx";
  const CliRun r = run({"info", "--model", path});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(InfoCommand, UnsupportedOpIsRuntimeErrorNamingTheNode) {
  const CliRun r = run({"info", "--model", std::string(QREG_SOURCE_DIR) + "/tests/data/onnx/unsupported.onnx"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("LeakyRelu"), std::string::npos) << r.err;
}

TEST(InfoCommand, ModelOptionIsRequired) { EXPECT_EQ(run({"info"}).rc, 2); }

}  // namespace
