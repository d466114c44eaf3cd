// Training with activation quantization (--act-bits) and dropout (--dropout), train/regularizers.hpp,
// on small seeded teacher-student data (core/teacher_student):
// - 8-bit activations (alone, and with 8-bit weight QAT) reach near-FP32 accuracy: an MLP
//   16-32-32-4 trained 10 epochs on 2,048 samples, validated on 1,024 others of the same teacher.
//   Bound: within 0.03 of the FP32 run's final validation accuracy. An 8-bit step is max/255, so
//   the quantized forward is close to the float one, but the training trajectories still differ
//   (another loss surface, other rounding), which moves the final accuracy by about the binomial
//   standard error √(0.8·0.2/1024) ≈ 0.0125; 0.03 is 2.4 of those. Measured (seeded, so
//   reproducible): FP32 0.804, act-8 0.814, act-8 + QAT-8 0.819. For contrast 2-bit activations
//   reach 0.743, and the test asks them to stay 0.03 below both, so the comparison does see a
//   quantizer that matters;
// - the running max is trained state: positive after training, equal to the model file's;
// - determinism: bitwise the same state for 1 and 2 threads (QAT, activation quantization and
//   dropout together, on the conv/batch-norm model), and an interrupted run resumed from its
//   checkpoint equals the uninterrupted one (dropout masks come from (seed, epoch, step));
// - dropout acts only in training: a run with dropout differs from one without, and the streams
//   of the masks are apart from the shuffle and weight-noise streams;
// - a graph that does not carry the configured ops, or a bad option, is a UsageError.
// All determinism comparisons are exact: the design promises bitwise reproducibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/act_quant.hpp"
#include "core/error.hpp"
#include "core/models.hpp"
#include "core/onnx_import.hpp"
#include "core/parallel.hpp"
#include "core/teacher_student.hpp"
#include "tests/train/expect_same_state.hpp"
#include "train/checkpoint.hpp"
#include "train/regularizers.hpp"
#include "train/run_folder.hpp"

namespace fs = std::filesystem;

namespace qreg {
namespace {

Dataset data(std::int64_t n, Shape shape, std::uint64_t seed) {
  return make_synthetic({n, std::move(shape), 4, 16, seed});
}

/// Samples [begin, begin + n) of a teacher-student set: train and validation from one teacher.
Dataset slice(const Dataset& d, std::int64_t begin, std::int64_t n) {
  Dataset out = d;
  const std::int64_t f = d.inputs.size() / d.size();
  Shape shape = d.inputs.shape();
  shape[0] = n;
  out.inputs = Tensor(shape, std::span<const float>(d.inputs.data() + begin * f, static_cast<std::size_t>(n * f)));
  out.labels.assign(d.labels.begin() + begin, d.labels.begin() + begin + n);
  return out;
}

TrainConfig config(int bits, int act_bits, double dropout, int epochs) {
  TrainConfig c;
  c.weights = {TrainMode::Qat, bits, Granularity::Tensor};
  c.optimizer = {OptimizerKind::Sgd, 0.1, 0.9, 1e-4};
  c.epochs = epochs;
  c.batch = 32;
  c.seed = 11;
  c.probe_size = 16;
  c.act_bits = act_bits;
  c.dropout = dropout;
  return c;
}

TrainState run(const Graph& model, const Dataset& tr, const Dataset& va, const TrainConfig& cfg) {
  const Graph g = training_graph(model, cfg.act_bits, cfg.dropout);
  TrainState s = initial_state(g, cfg);
  train(g, tr, va, cfg, s);
  EXPECT_EQ(s.status, RunStatus::Completed);
  return s;
}

using qreg::testing::expect_same_state;

TEST(ActivationQuantTraining, EightBitsReachNearFp32Accuracy) {
  const Graph model = make_mlp({16, 32, 32, 4}, 1);
  const Dataset all = data(3072, {16}, 3), tr = slice(all, 0, 2048), va = slice(all, 2048, 1024);
  const double fp32 = run(model, tr, va, config(32, 32, 0.0, 10)).metrics.back().val_accuracy;
  const double act8 = run(model, tr, va, config(32, 8, 0.0, 10)).metrics.back().val_accuracy;
  const double both8 = run(model, tr, va, config(8, 8, 0.0, 10)).metrics.back().val_accuracy;
  const double act2 = run(model, tr, va, config(32, 2, 0.0, 10)).metrics.back().val_accuracy;
  EXPECT_GT(fp32, 0.7);  // the task is learnt at all
  EXPECT_NEAR(act8, fp32, 0.03);
  EXPECT_NEAR(both8, fp32, 0.03);
  EXPECT_LT(act2, std::min(fp32, act8) - 0.03);
  std::cout << "val accuracy: fp32 " << fp32 << ", act8 " << act8 << ", act8+qat8 " << both8 << ", act2 " << act2
            << "\n";
}

TEST(ActivationQuantTraining, RunningMaxIsTrainedStateAndReachesTheModelFile) {
  const fs::path dir = fs::path(QREG_BINARY_DIR) / "test_regularizers" / "model_file";
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  const TrainConfig cfg = config(8, 8, 0.2, 2);
  const Graph g = training_graph(make_mlp({16, 12, 4}, 4), 8, 0.2);
  RunRequest req;
  req.dir = dir;
  req.config = cfg;
  std::ostringstream log;
  ASSERT_EQ(run_in_folder(req, g, data(128, {16}, 8), data(32, {16}, 8), log).status, RunStatus::Completed);
  const TrainState s = load_checkpoint(dir / "checkpoint.bin").state;
  const Graph back = import_onnx((dir / "model.onnx").string());
  EXPECT_EQ(activation_bits(back), 8);
  int quantizers = 0;
  for (std::size_t p = 0; p < g.params.size(); ++p) {
    if (g.params[p].role != ParamRole::ActMax) continue;
    ++quantizers;
    EXPECT_GT(s.params[p][0], 0.0f) << g.params[p].name;
    for (std::size_t q = 0; q < back.params.size(); ++q)
      if (back.params[q].name == g.params[p].name) {
        EXPECT_EQ(back.values[q][0], s.params[p][0]);
      }
  }
  EXPECT_EQ(quantizers, 1);
  EXPECT_EQ(load_checkpoint(dir / "checkpoint.bin").config.at("act_bits"), 8);
}

TEST(ActivationQuantTraining, BitwiseIdenticalForOneAndTwoThreads) {
  const Graph model = make_residual_cnn(2);
  const Dataset tr = data(96, {2, 6, 6}, 5), va = data(32, {2, 6, 6}, 6);
  const TrainConfig cfg = config(4, 4, 0.3, 2);
  TrainState one, two;
  {
    const ThreadScope t(1);
    one = run(model, tr, va, cfg);
  }
  {
    const ThreadScope t(2);
    two = run(model, tr, va, cfg);
  }
  expect_same_state(one, two);
}

TEST(ActivationQuantTraining, ResumeAfterInterruptionMatchesUninterruptedRun) {
  const fs::path dir = fs::path(QREG_BINARY_DIR) / "test_regularizers" / "resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const TrainConfig cfg = config(4, 6, 0.25, 4);
  const Graph g = training_graph(make_mlp({16, 12, 12, 4}, 4), cfg.act_bits, cfg.dropout);
  const Dataset tr = data(128, {16}, 8), va = data(32, {16}, 8);
  std::ostringstream log;
  RunRequest whole, cut;
  whole.dir = dir / "whole";
  cut.dir = dir / "cut";
  whole.config = cut.config = cfg;
  ASSERT_EQ(run_in_folder(whole, g, tr, va, log).status, RunStatus::Completed);
  cut.max_epochs = 2;  // "killed" after two epochs
  ASSERT_EQ(run_in_folder(cut, g, tr, va, log).status, RunStatus::Running);
  cut.max_epochs = 0;
  cut.resume = true;
  ASSERT_EQ(run_in_folder(cut, g, tr, va, log).status, RunStatus::Completed);
  expect_same_state(load_checkpoint(whole.dir / "checkpoint.bin").state,
                    load_checkpoint(cut.dir / "checkpoint.bin").state);
}

TEST(DropoutTraining, ChangesTrainingButNotTheStreamsOfOtherModes) {
  const Graph model = make_mlp({16, 12, 4}, 4);
  const Dataset tr = data(128, {16}, 8), va = data(32, {16}, 8);
  const TrainState plain = run(model, tr, va, config(32, 32, 0.0, 1));
  const TrainState dropped = run(model, tr, va, config(32, 32, 0.5, 1));
  EXPECT_NE(plain.metrics.back().batch_loss, dropped.metrics.back().batch_loss);
  EXPECT_NE(plain.params[1][0], dropped.params[1][0]);
  for (int e : {0, 1, 1000})
    for (std::int64_t s : {0, 1, 4095}) {
      EXPECT_NE(dropout_stream(e, s), noise_stream(e, s));
      EXPECT_NE(dropout_stream(e, s), shuffle_stream(e));
      EXPECT_NE(dropout_stream(e, s), dropout_stream(e, s + 1));
      EXPECT_NE(dropout_stream(e, s), dropout_stream(e + 1, s));
    }
}

TEST(Regularizers, GraphMustCarryTheConfiguredOps) {
  const Graph mlp = make_mlp({16, 12, 4}, 4);
  const Dataset tr = data(64, {16}, 8), va = data(32, {16}, 8);
  const TrainConfig cfg = config(32, 8, 0.0, 1);
  TrainState s = initial_state(mlp, cfg);
  EXPECT_THROW(train(mlp, tr, va, cfg, s), UsageError);  // --act-bits 8 on a graph without quantizers
  EXPECT_THROW(training_graph(mlp, 1, 0.0), UsageError);
  EXPECT_THROW(training_graph(mlp, 8, 1.0), UsageError);
  const Graph g = training_graph(mlp, 8, 0.1);
  EXPECT_EQ(training_graph(g, 8, 0.1).nodes.size(), g.nodes.size());  // already there: kept
  EXPECT_THROW(training_graph(g, 4, 0.1), UsageError);                // disagrees with the model
  EXPECT_THROW(check_training_graph(g, 8, 0.0), UsageError);
  EXPECT_NO_THROW(check_training_graph(g, 8, 0.1));
}

}  // namespace
}  // namespace qreg
