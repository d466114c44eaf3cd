// The training loop and the run folder on tiny seeded teacher-student data (core/teacher_student):
// - it learns: the training loss after the last epoch is well below the first epoch's and below
//   ln(classes) (the loss of a uniform guess);
// - it is deterministic: the whole state (metrics and parameters) is bitwise identical for 1 and
//   2 threads (noise mode, so the noise streams are exercised, and a conv/batch-norm model; and
//   LSQ per channel with per-layer bits, so the learned steps and their reductions are too);
// - resuming an interrupted run gives exactly the metrics and parameters of an uninterrupted one
//   (also LSQ with per-layer bits and AdamW: steps and their moments are checkpointed);
// - a huge learning rate ends the run with status diverged, not an exception;
// - the run folder holds metrics.csv/json, checkpoint.bin and model.onnx; a truncated checkpoint
//   is an Error naming the file.
// All comparisons are exact: the design promises bitwise reproducibility.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "core/teacher_student.hpp"
#include "tests/train/expect_same_state.hpp"
#include "train/checkpoint.hpp"
#include "train/run_folder.hpp"

namespace fs = std::filesystem;

namespace {

using namespace qreg;

Dataset data(std::int64_t n, Shape shape, std::uint64_t seed) {
  return make_synthetic({n, std::move(shape), 4, 16, seed});
}

TrainConfig small_config(TrainMode mode, int bits, int epochs) {
  TrainConfig c;
  c.weights = {mode, bits, Granularity::Tensor};
  c.optimizer = {OptimizerKind::Sgd, 0.1, 0.9, 1e-4};
  c.epochs = epochs;
  c.batch = 32;
  c.seed = 11;
  c.probe_size = 16;
  return c;
}

using qreg::testing::expect_same_state;

TEST(Trainer, LearnsTeacherStudentData) {
  const Graph g = make_mlp({16, 32, 4}, 1);
  const Dataset tr = data(256, {16}, 3), va = data(64, {16}, 3);
  const TrainConfig cfg = small_config(TrainMode::Qat, 8, 6);
  TrainState s = initial_state(g, cfg);
  train(g, tr, va, cfg, s);
  ASSERT_EQ(s.status, RunStatus::Completed);
  ASSERT_EQ(s.metrics.size(), 6u);
  EXPECT_LT(s.metrics.back().train_loss, 0.7 * s.metrics.front().train_loss);
  EXPECT_LT(s.metrics.back().train_loss, std::log(4.0));
  EXPECT_GT(s.metrics.back().train_accuracy, 0.5);
  ASSERT_EQ(s.metrics.back().layers.size(), 2u);
  EXPECT_GT(s.metrics.back().layers[0].noise_var, 0.0);  // 8-bit weights do perturb the outputs
}

TEST(Trainer, BitwiseIdenticalForOneAndTwoThreads) {
  const Graph g = make_residual_cnn(2);
  const Dataset tr = data(96, {2, 6, 6}, 5), va = data(32, {2, 6, 6}, 6);
  const TrainConfig cfg = small_config(TrainMode::Noise, 4, 2);
  TrainState one = initial_state(g, cfg), two = initial_state(g, cfg);
  {
    const ThreadScope t(1);
    train(g, tr, va, cfg, one);
  }
  {
    const ThreadScope t(2);
    train(g, tr, va, cfg, two);
  }
  expect_same_state(one, two);
}

TEST(Trainer, LsqWithLayerBitsIsBitwiseIdenticalForOneAndTwoThreads) {
  const Graph g = make_residual_cnn(2);
  const Dataset tr = data(96, {2, 6, 6}, 5), va = data(32, {2, 6, 6}, 6);
  TrainConfig cfg = small_config(TrainMode::Lsq, 4, 2);
  cfg.weights.granularity = Granularity::Channel;
  cfg.weights.layer_bits = {{0, 8}};
  TrainState one = initial_state(g, cfg), two = initial_state(g, cfg);
  {
    const ThreadScope t(1);
    train(g, tr, va, cfg, one);
  }
  {
    const ThreadScope t(2);
    train(g, tr, va, cfg, two);
  }
  ASSERT_EQ(one.status, RunStatus::Completed);
  EXPECT_EQ(one.metrics.back().layers[0].bits, 8);
  EXPECT_EQ(one.metrics.back().layers[1].bits, 4);
  expect_same_state(one, two);
}

class RunFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(QREG_BINARY_DIR) / "test_train_run_folder" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  RunRequest request(const std::string& name, const TrainConfig& cfg) const {
    RunRequest r;
    r.dir = dir_ / name;
    r.config = cfg;
    r.context.command = "train";
    r.info = {{"model", "mlp"}};
    return r;
  }
  fs::path dir_;
  Graph graph_ = make_mlp({16, 12, 4}, 4);
  Dataset tr_ = data(128, {16}, 8), va_ = data(32, {16}, 8);
  std::ostringstream log_;
};

TEST_F(RunFolder, ResumeAfterInterruptionMatchesUninterruptedRun) {
  const TrainConfig cfg = small_config(TrainMode::Gaussian, 4, 4);
  RunRequest whole = request("whole", cfg), cut = request("cut", cfg);
  EXPECT_EQ(run_in_folder(whole, graph_, tr_, va_, log_).status, RunStatus::Completed);
  cut.max_epochs = 2;  // "killed" after two epochs
  EXPECT_EQ(run_in_folder(cut, graph_, tr_, va_, log_).status, RunStatus::Running);
  EXPECT_FALSE(fs::exists(cut.dir / "model.onnx"));
  EXPECT_THROW(run_in_folder(cut, graph_, tr_, va_, log_), UsageError);  // no --resume
  cut.max_epochs = 0;
  cut.resume = true;
  const RunOutcome o = run_in_folder(cut, graph_, tr_, va_, log_);
  EXPECT_EQ(o.status, RunStatus::Completed);
  EXPECT_EQ(o.epochs, 4);
  expect_same_state(load_checkpoint(whole.dir / "checkpoint.bin").state,
                    load_checkpoint(cut.dir / "checkpoint.bin").state);
  for (const char* f : {"metrics.csv", "metrics.json", "checkpoint.bin", "model.onnx"})
    EXPECT_TRUE(fs::exists(cut.dir / f)) << f;
  EXPECT_TRUE(run_in_folder(cut, graph_, tr_, va_, log_).skipped);  // a finished run is skipped
  RunRequest other = cut;
  other.config.optimizer.lr = 0.2;
  EXPECT_THROW(run_in_folder(other, graph_, tr_, va_, log_), Error);  // config changed
}

TEST_F(RunFolder, LsqWithLayerBitsResumesBitwise) {
  TrainConfig cfg = small_config(TrainMode::Lsq, 4, 3);
  cfg.optimizer.kind = OptimizerKind::AdamW;
  cfg.optimizer.lr = 0.01;
  cfg.weights.layer_bits = {{1, 8}};
  RunRequest whole = request("whole", cfg), cut = request("cut", cfg);
  EXPECT_EQ(run_in_folder(whole, graph_, tr_, va_, log_).status, RunStatus::Completed);
  cut.max_epochs = 1;
  EXPECT_EQ(run_in_folder(cut, graph_, tr_, va_, log_).status, RunStatus::Running);
  cut.max_epochs = 0;
  cut.resume = true;
  EXPECT_EQ(run_in_folder(cut, graph_, tr_, va_, log_).status, RunStatus::Completed);
  const TrainState a = load_checkpoint(whole.dir / "checkpoint.bin").state;
  expect_same_state(a, load_checkpoint(cut.dir / "checkpoint.bin").state);
  EXPECT_EQ(a.lsq_steps.size(), 2u);
  EXPECT_EQ(a.optimizer_state.size(), 2 * (graph_.values.size() + 2));  // AdamW m, v incl. the steps
  std::ifstream js(whole.dir / "metrics.json");
  const auto j = nlohmann::json::parse(js);
  EXPECT_EQ(j.at("run").at("layer_bits"), (std::vector<int>{4, 8}));
  EXPECT_EQ(j.at("epochs")[0].at("layers")[1].at("bits"), 8);
}

TEST_F(RunFolder, HugeLearningRateDiverges) {
  TrainConfig cfg = small_config(TrainMode::Qat, 32, 3);
  cfg.optimizer.lr = 1e30;
  const RunOutcome o = run_in_folder(request("div", cfg), graph_, tr_, va_, log_);
  EXPECT_EQ(o.status, RunStatus::Diverged);
  EXPECT_LT(o.epochs, 3);
  EXPECT_EQ(load_checkpoint(dir_ / "div" / "checkpoint.bin").state.status, RunStatus::Diverged);
  EXPECT_NE(log_.str().find("diverged"), std::string::npos);
}

TEST_F(RunFolder, TruncatedCheckpointIsAnErrorNamingTheFile) {
  run_in_folder(request("t", small_config(TrainMode::Qat, 8, 1)), graph_, tr_, va_, log_);
  const fs::path ck = dir_ / "t" / "checkpoint.bin";
  fs::resize_file(ck, fs::file_size(ck) - 20);
  try {
    load_checkpoint(ck);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(ck.string()), std::string::npos) << e.what();
  }
}

}  // namespace
