// The forward weights of each training mode and the straight-through estimator.
// STE: QAT's designed surrogate is ∂q(w)/∂w := 1, so one SGD step (μ = 0, wd = 0, lr η) on a
// single sample must move the shadow weights by exactly −η·∂L/∂W evaluated at W = q(w) (computed
// here independently with the executor); the test also checks that this gradient differs clearly
// from the gradient at the float weights, so it cannot pass by accident. One sample and one step
// make the arithmetic identical, hence float equality (EXPECT_FLOAT_EQ, 4 ULPs).
// Noise modes: δ = w_fwd − w lies in [−Δ/2, Δ/2] (uniform) and its sample variance over n weights
// is within 5 standard errors of Δ²/12 (SE of a sample variance ≈ σ²·√(κ−1)/√n, with κ = 1.8 for
// uniform and 3 for Gaussian).
// The WeightBuilder (persistent buffers, fused parallel kernels) must reproduce bitwise what the
// reference path computes: quantize_graph for q(w), and for the noise modes the sequential
// RandomStream draws (one uniform per weight, Box-Muller normals, the stream running on across
// layers), on 1 and 2 threads and on tensors larger than one parallel chunk (2^15 weights).
// Per-layer bits: each layer equals quantize_graph at its own bits; 32 leaves the layer float.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"

#include "core/executor.hpp"
#include "core/models.hpp"
#include "core/quantize_graph.hpp"
#include "core/teacher_student.hpp"
#include "train/trainer.hpp"
#include "train/weight_modes.hpp"

namespace {

using namespace qreg;

TEST(Ste, ShadowStepUsesGradientAtQuantizedWeights) {
  const Graph g = make_mlp({8, 6, 3}, 5);
  const Dataset one = make_synthetic({1, {8}, 3, 4, 7});
  TrainConfig cfg;
  cfg.weights = {TrainMode::Qat, 2, Granularity::Tensor};
  cfg.optimizer = {OptimizerKind::Sgd, 0.5, 0.0, 0.0};
  cfg.epochs = 1;
  cfg.batch = 1;
  TrainState state = initial_state(g, cfg);
  train(g, one, one, cfg, state);
  ASSERT_EQ(state.status, RunStatus::Completed);

  auto grads_at = [&](const ParamSet& w) {
    Executor ex(g);
    Tensor dlogits;
    cross_entropy(ex.forward(one.inputs, w, true), one.labels, &dlogits);
    ParamSet grads;
    ex.backward({{g.output, dlogits}}, w, grads, false);
    return grads;
  };
  const ParamSet gq = grads_at(quantize_graph(g, g.values, {2}).values);
  const ParamSet gf = grads_at(g.values);
  double max_diff = 0.0;
  for (std::size_t p = 0; p < g.values.size(); ++p)
    for (std::int64_t i = 0; i < g.values[p].size(); ++i) {
      EXPECT_FLOAT_EQ(state.params[p][i], g.values[p][i] - 0.5f * gq[p][i]) << g.params[p].name << "[" << i << "]";
      max_diff = std::max(max_diff, std::abs(static_cast<double>(gq[p][i]) - gf[p][i]));
    }
  EXPECT_GT(max_diff, 1e-3);  // 2-bit weights: the surrogate is not the float gradient
}

// round_half_away is std::round bit for bit: every tie k + ½ and its neighbours one ulp away for
// |k| < 2^12, signed zeros, values beyond 2^23 (already whole), and 10^5 random floats over many
// magnitudes.
TEST(WeightModes, RoundHalfAwayIsStdRound) {
  const auto same = [](float x) {
    const float a = round_half_away(x), b = std::round(x);
    return std::memcmp(&a, &b, sizeof a) == 0;
  };
  for (int k = -4096; k <= 4096; ++k) {
    const float tie = static_cast<float>(k) + 0.5f;
    for (const float x : {tie, std::nextafter(tie, -1e9f), std::nextafter(tie, 1e9f), static_cast<float>(k)})
      ASSERT_TRUE(same(x)) << x;
  }
  for (const float x : {0.0f, -0.0f, 0.49999997f, -0.49999997f, 8388609.0f, -1.5e30f}) ASSERT_TRUE(same(x)) << x;
  RandomStream rs(7, 0);
  for (int i = 0; i < 100000; ++i) {
    const float x = (rs.uniform() - 0.5f) * std::ldexp(1.0f, static_cast<int>(rs.uniform() * 40) - 10);
    ASSERT_TRUE(same(x)) << x;
  }
}

TEST(WeightModes, UniformNoiseIsBoundedWithVarianceStepSquaredOver12) {
  const Graph g = make_mlp({784, 256, 10}, 3);
  const ParamSet& w = g.values;
  for (TrainMode mode : {TrainMode::Noise, TrainMode::Gaussian}) {
    ParamSet out;
    LayerSteps steps;
    forward_weights(g, w, {mode, 4, Granularity::Tensor}, 9, 2, 17, out, &steps);
    const Tensor& w0 = w[0];
    const double step = steps[0][0], var = step * step / 12.0;
    double sum = 0.0, sum2 = 0.0;
    for (std::int64_t i = 0; i < w0.size(); ++i) {
      const double d = static_cast<double>(out[0][i]) - w0[i];
      if (mode == TrainMode::Noise) {
        ASSERT_LE(std::abs(d), step / 2 * (1 + 1e-5));
      }
      sum += d;
      sum2 += d * d;
    }
    const double n = static_cast<double>(w0.size());
    const double kurtosis = mode == TrainMode::Noise ? 1.8 : 3.0;
    EXPECT_NEAR(sum2 / n, var, 5.0 * var * std::sqrt((kurtosis - 1) / n)) << train_mode_name(mode);
    EXPECT_NEAR(sum / n, 0.0, 5.0 * std::sqrt(var / n));
    EXPECT_EQ(out[1][0], w[1][0]);  // biases untouched
    // Same (seed, epoch, step): the same δ; another step: fresh δ.
    ParamSet again, other;
    forward_weights(g, w, {mode, 4, Granularity::Tensor}, 9, 2, 17, again);
    forward_weights(g, w, {mode, 4, Granularity::Tensor}, 9, 2, 18, other);
    EXPECT_EQ(again[0][123], out[0][123]);
    EXPECT_NE(other[0][123], out[0][123]);
  }
}

TEST(WeightModes, QatIsTheQuantizerAndFp32IsTheShadow) {
  const Graph g = make_mlp({16, 8, 4}, 2);
  ParamSet out;
  const ParamSet& q = forward_weights(g, g.values, {TrainMode::Qat, 3, Granularity::Channel}, 1, 0, 0, out);
  const ParamSet ref = quantize_graph(g, g.values, {3, Granularity::Channel}).values;
  for (std::size_t p = 0; p < ref.size(); ++p)
    for (std::int64_t i = 0; i < ref[p].size(); ++i) EXPECT_EQ(q[p][i], ref[p][i]);
  EXPECT_EQ(&forward_weights(g, g.values, {TrainMode::Noise, 32}, 1, 0, 0, out), &g.values);
}

// The pre-builder implementation of the noise modes: a sequential stream across layers.
ParamSet reference_noise(const Graph& g, const ParamSet& w, TrainMode mode, int bits, std::uint64_t seed, int epoch,
                         std::int64_t step) {
  ParamSet out = w;
  const QuantizedGraphParams q = quantize_graph(g, w, {bits});
  RandomStream rng(seed, noise_stream(epoch, step));
  for (std::size_t l = 0; l < q.layers.size(); ++l) {
    Tensor& t = out[static_cast<std::size_t>(q.weights[l])];
    const float st = q.steps[l][0];
    for (float& v : t.values()) {
      if (mode == TrainMode::Noise)
        v += st * (rng.uniform() - 0.5f);
      else
        v += static_cast<float>(st * 0.28867513459481287 * rng.normal());
    }
  }
  return out;
}

TEST(WeightBuilder, MatchesTheReferencePathBitwiseOnOneAndTwoThreads) {
  const Graph g = make_mlp({784, 256, 10}, 3);  // 200,704 weights in layer 0: seven chunks
  for (int threads : {1, 2}) {
    const ThreadScope scope(threads);
    WeightBuilder qat(g, {TrainMode::Qat, 4, Granularity::Tensor});
    const ParamSet ref = quantize_graph(g, g.values, {4}).values;
    const ParamSet& q = qat.forward(g.values, {}, 1, 0, 0);
    for (std::size_t p = 0; p < ref.size(); ++p)
      for (std::int64_t i = 0; i < ref[p].size(); ++i) ASSERT_EQ(q[p][i], ref[p][i]) << p << "," << i;
    for (TrainMode mode : {TrainMode::Noise, TrainMode::Gaussian}) {
      WeightBuilder b(g, {mode, 4, Granularity::Tensor});
      const ParamSet expect = reference_noise(g, g.values, mode, 4, 9, 2, 17);
      for (int rep = 0; rep < 2; ++rep) {  // the second call reuses the buffers
        const ParamSet& got = b.forward(g.values, {}, 9, 2, 17);
        for (std::size_t p = 0; p < expect.size(); ++p)
          for (std::int64_t i = 0; i < expect[p].size(); ++i)
            ASSERT_EQ(got[p][i], expect[p][i]) << train_mode_name(mode) << " " << p << "," << i;
      }
    }
  }
}

TEST(WeightBuilder, PerLayerBitsQuantizeEachLayerAtItsOwnWidth) {
  const Graph g = make_cnn(1);  // conv, conv, gemm, gemm
  const WeightModeConfig cfg{TrainMode::Qat, 4, Granularity::Channel, parse_layer_bits("0:8,3:fp32")};
  WeightBuilder b(g, cfg);
  EXPECT_EQ(b.layer_bits(), (std::vector<int>{8, 4, 4, 32}));
  const ParamSet& q = b.forward(g.values, {}, 1, 0, 0);
  const ParamSet q8 = quantize_graph(g, g.values, {8, Granularity::Channel}).values;
  const ParamSet q4 = quantize_graph(g, g.values, {4, Granularity::Channel}).values;
  const auto layers = quantized_layers(g);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto p = static_cast<std::size_t>(layers[l].second);
    const Tensor& want = l == 0 ? q8[p] : l == 3 ? g.values[p] : q4[p];
    for (std::int64_t i = 0; i < want.size(); ++i) ASSERT_EQ(q[p][i], want[i]) << "layer " << l << " [" << i << "]";
  }
  EXPECT_EQ(b.steps()[3], std::vector<float>{0.0f});
  EXPECT_THROW(WeightBuilder(g, {TrainMode::Qat, 4, Granularity::Tensor, {{4, 8}}}), UsageError);  // no layer 4
}

TEST(LayerBits, ParsesPairsAndNamesTheProblem) {
  EXPECT_EQ(parse_layer_bits("2:4,0:8"), (LayerBits{{0, 8}, {2, 4}}));
  EXPECT_EQ(parse_layer_bits("1:32"), (LayerBits{{1, 32}}));
  EXPECT_TRUE(parse_layer_bits("").empty());
  EXPECT_EQ(layer_bits_label({{0, 8}, {2, 32}}), "l0b8_l2fp32");
  for (const char* bad : {"8/4/8", "0:8,", "a:8", "0:1", "0:8,0:4", "-1:8", "0:8x"}) {
    try {
      parse_layer_bits(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--layer-bits"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
