// evaluate(): chunked, parallel accuracy and loss. Reference: one Executor forward over the whole
// set followed by cross_entropy and an argmax loop (a different batching path, so the loss agrees
// to float rounding — relative 1e-5 — and accuracy exactly). Determinism: 1 and 2 threads give
// bitwise identical results because chunks are fixed by the batch size and summed in order.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/evaluate.hpp"
#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/parallel.hpp"
#include "core/teacher_student.hpp"

namespace {

qreg::Dataset teacher_data() {
  qreg::SyntheticSpec spec;
  spec.n = 700;
  spec.sample_shape = {784};
  spec.seed = 5;
  return qreg::make_synthetic(spec);
}

TEST(Evaluate, MatchesSingleBatchReference) {
  const qreg::Graph g = qreg::make_mlp({784, 32, 10}, 3);
  qreg::Dataset data = teacher_data();
  data.inputs.reshape({700, 1, 28, 28});
  const auto r = qreg::evaluate(g, g.values, data, 64);

  qreg::Executor exec(g);
  const qreg::Tensor& logits = exec.forward(data.inputs);
  const double loss = qreg::cross_entropy(logits, data.labels);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < 700; ++i) {
    Eigen::Index best;
    logits.matrix(700).row(i).maxCoeff(&best);
    correct += best == data.labels[static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(r.samples, 700);
  EXPECT_NEAR(r.loss, loss, 1e-5 * loss);
  EXPECT_EQ(r.accuracy, static_cast<double>(correct) / 700.0);
}

TEST(Evaluate, BitwiseSameForOneAndTwoThreads) {
  const qreg::Graph g = qreg::make_cnn(2);
  qreg::Dataset data = teacher_data();
  data.inputs.reshape({700, 1, 28, 28});
  qreg::EvalResult one, two;
  {
    qreg::ThreadScope t(1);
    one = qreg::evaluate(g, g.values, data, 50);
  }
  {
    qreg::ThreadScope t(2);
    two = qreg::evaluate(g, g.values, data, 50);
  }
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.accuracy, two.accuracy);
}

TEST(Evaluate, RejectsUnlabelledOrMisshapenData) {
  const qreg::Graph g = qreg::make_mlp({784, 16, 10}, 1);
  qreg::Dataset data = teacher_data();
  qreg::Dataset wrong;
  wrong.inputs = qreg::Tensor({3, 5});
  wrong.labels = {0, 1, 2};
  EXPECT_THROW(qreg::evaluate(g, g.values, wrong), qreg::Error);
  data.labels.clear();
  EXPECT_THROW(qreg::evaluate(g, g.values, data), qreg::Error);
}

}  // namespace
