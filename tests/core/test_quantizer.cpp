// Tests of the weight quantizer (core/quantizer.hpp).
// Spot values derived by hand (narrow-range symmetric: qmax = 2^(b-1)-1, Δ = max|w|/qmax,
// code = clamp(round(w/Δ), -qmax, qmax), ties away from zero):
//   2 bits, qmax 1:  w = {-2, -0.75, 0.25, 1.25, 1} -> Δ = 2, w/Δ = {-1, -0.375, 0.125, 0.625, 0.5}
//                    -> codes {-1, 0, 0, 1, 1} -> q = {-2, 0, 0, 2, 2}
//   4 bits, qmax 7:  w = {-3.5, 0.25, 1, 2.6, 3.5} -> Δ = 0.5, w/Δ = {-7, 0.5, 2, 5.2, 7}
//                    -> codes {-7, 1, 2, 5, 7} -> q = {-3.5, 0.5, 1, 2.5, 3.5}
//   8 bits, qmax 127: w = {2.54, -1.0, 0.333, 0} -> Δ = 0.02, w/Δ = {127, -50, 16.65, 0}
//                    -> codes {127, -50, 17, 0}, q = Δ·code
//   per channel, 4 bits, W = [[0.9, -2, 0.5], [0.1, 0.25, -0.4]]:
//     axis 0: Δ = {2/7, 0.4/7}: codes [[3, -7, 2], [2, 4, -7]]  (3.15, 1.75; 1.75, 4.375)
//     axis 1: Δ = {0.9/7, 2/7, 0.5/7}: codes [[7, -7, 7], [1, 1, -6]]  (0.78, 0.875, -5.6)
//   asymmetric (range widened to contain 0, codes 0..2^b-1, z = round(-lo/Δ)):
//     2 bits, w = {-1, 0.2, 2}: Δ = 3/3 = 1, z = 1, codes {0, 1, 3}, q = {-1, 0, 2}
//     4 bits, w = {-1.5, 1.3, 6}: Δ = 7.5/15 = 0.5, z = 3, codes {0, 6, 15}, q = {-1.5, 1.5, 6}
//     2 bits, w = {-0.8, 2.2}: Δ = 1, z = round(0.8) = 1 (not floor), codes {0, 3}
// Where Δ is a power of two the results are exact; otherwise q is compared with Δ·code to 4 ULPs
// (EXPECT_FLOAT_EQ), since q = fl(Δ·code) is one float multiplication.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "core/quantizer.hpp"
#include "core/synthetic.hpp"

namespace qreg {
namespace {

Tensor vec(std::vector<float> v) { return Tensor({static_cast<std::int64_t>(v.size())}, v); }

std::vector<float> values(const Tensor& t) { return {t.values().begin(), t.values().end()}; }

QuantizerConfig sym(int bits) { return {bits, Granularity::Tensor, Scheme::Symmetric, 0}; }

TEST(Quantizer, TwoBitSpotValues) {
  const Tensor w = vec({-2.0f, -0.75f, 0.25f, 1.25f, 1.0f});
  const QuantParams qp = compute_quant_params(w, sym(2));
  EXPECT_EQ(qp.step, std::vector<float>{2.0f});
  EXPECT_EQ(qp.code_min, -1);
  EXPECT_EQ(qp.code_max, 1);
  EXPECT_EQ(quantize_codes(w, qp), (std::vector<std::int32_t>{-1, 0, 0, 1, 1}));
  EXPECT_EQ(values(fake_quantize(w, qp)), (std::vector<float>{-2, 0, 0, 2, 2}));
  EXPECT_EQ(values(quantization_error(w, qp)), (std::vector<float>{0, 0.75f, -0.25f, 0.75f, 1.0f}));
}

TEST(Quantizer, FourBitSpotValues) {
  const Tensor w = vec({-3.5f, 0.25f, 1.0f, 2.6f, 3.5f});
  const QuantParams qp = compute_quant_params(w, sym(4));
  EXPECT_EQ(qp.step, std::vector<float>{0.5f});
  EXPECT_EQ(quantize_codes(w, qp), (std::vector<std::int32_t>{-7, 1, 2, 5, 7}));
  EXPECT_EQ(values(fake_quantize(w, qp)), (std::vector<float>{-3.5f, 0.5f, 1.0f, 2.5f, 3.5f}));
}

TEST(Quantizer, EightBitSpotValues) {
  const Tensor w = vec({2.54f, -1.0f, 0.333f, 0.0f});
  const QuantParams qp = compute_quant_params(w, sym(8));
  EXPECT_FLOAT_EQ(qp.step[0], 0.02f);
  EXPECT_EQ(quantize_codes(w, qp), (std::vector<std::int32_t>{127, -50, 17, 0}));
  const Tensor q = fake_quantize(w, qp);
  const float codes[] = {127, -50, 17, 0};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(q[i], qp.step[0] * codes[i]) << i;
}

TEST(Quantizer, PerChannelAxis0AndAxis1) {
  const Tensor w({2, 3}, std::vector<float>{0.9f, -2.0f, 0.5f, 0.1f, 0.25f, -0.4f});
  const QuantParams rows = compute_quant_params(w, {4, Granularity::Channel, Scheme::Symmetric, kGemmChannelAxis});
  ASSERT_EQ(rows.groups(), 2);
  EXPECT_FLOAT_EQ(rows.step[0], 2.0f / 7);
  EXPECT_FLOAT_EQ(rows.step[1], 0.4f / 7);
  EXPECT_EQ(quantize_codes(w, rows), (std::vector<std::int32_t>{3, -7, 2, 2, 4, -7}));
  const QuantParams cols = compute_quant_params(w, {4, Granularity::Channel, Scheme::Symmetric, kMatMulChannelAxis});
  ASSERT_EQ(cols.groups(), 3);
  EXPECT_FLOAT_EQ(cols.step[0], 0.9f / 7);
  EXPECT_FLOAT_EQ(cols.step[1], 2.0f / 7);
  EXPECT_FLOAT_EQ(cols.step[2], 0.5f / 7);
  EXPECT_EQ(quantize_codes(w, cols), (std::vector<std::int32_t>{7, -7, 7, 1, 1, -6}));
}

TEST(Quantizer, ConvChannelsAreIndependentOfEachOthersScale) {
  // Conv weight [2, 1, 2, 2]: channel 1 is channel 0 times 1024 (exact in float), so per-channel
  // codes are identical and steps differ by exactly 1024; per tensor channel 0 would collapse.
  std::vector<float> v = {0.1f, -0.37f, 0.52f, 0.9f};
  for (int i = 0; i < 4; ++i) v.push_back(v[static_cast<std::size_t>(i)] * 1024.0f);
  const Tensor w({2, 1, 2, 2}, v);
  const QuantParams qp = compute_quant_params(w, {8, Granularity::Channel, Scheme::Symmetric, 0});
  EXPECT_EQ(qp.step[1], qp.step[0] * 1024.0f);
  const auto codes = quantize_codes(w, qp);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(codes[static_cast<std::size_t>(i)], codes[static_cast<std::size_t>(i + 4)]);
}

TEST(Quantizer, AsymmetricSpotValues) {
  const QuantizerConfig a2{2, Granularity::Tensor, Scheme::Asymmetric, 0};
  const Tensor w2 = vec({-1.0f, 0.2f, 2.0f});
  const QuantParams p2 = compute_quant_params(w2, a2);
  EXPECT_EQ(p2.step[0], 1.0f);
  EXPECT_EQ(p2.zero_point[0], 1.0f);
  EXPECT_EQ(p2.code_min, 0);
  EXPECT_EQ(p2.code_max, 3);
  EXPECT_EQ(quantize_codes(w2, p2), (std::vector<std::int32_t>{0, 1, 3}));
  EXPECT_EQ(values(fake_quantize(w2, p2)), (std::vector<float>{-1, 0, 2}));

  const Tensor w4 = vec({-1.5f, 1.3f, 6.0f});
  const QuantParams p4 = compute_quant_params(w4, {4, Granularity::Tensor, Scheme::Asymmetric, 0});
  EXPECT_EQ(p4.step[0], 0.5f);
  EXPECT_EQ(p4.zero_point[0], 3.0f);
  EXPECT_EQ(quantize_codes(w4, p4), (std::vector<std::int32_t>{0, 6, 15}));
  EXPECT_EQ(values(fake_quantize(w4, p4)), (std::vector<float>{-1.5f, 1.5f, 6.0f}));

  const Tensor w3 = vec({-0.8f, 2.2f});  // Δ = 3/3 (to a float rounding), z = round(0.8) = 1
  const QuantParams p3 = compute_quant_params(w3, a2);
  EXPECT_FLOAT_EQ(p3.step[0], 1.0f);
  EXPECT_EQ(p3.zero_point[0], 1.0f);
  EXPECT_EQ(quantize_codes(w3, p3), (std::vector<std::int32_t>{0, 3}));
}

TEST(Quantizer, ErrorIsAtMostHalfAStepAndDequantizeMatches) {
  const Tensor w = synthetic_tensor(Distribution::Normal, {16, 64}, 7);
  for (Scheme scheme : {Scheme::Symmetric, Scheme::Asymmetric})
    for (int bits : {2, 3, 8, 16}) {
      const QuantParams qp = compute_quant_params(w, {bits, Granularity::Channel, scheme, 0});
      const Tensor e = quantization_error(w, qp), q = fake_quantize(w, qp);
      const Tensor d = dequantize(quantize_codes(w, qp), w.shape(), qp);
      for (std::int64_t i = 0; i < w.size(); ++i) {
        // Half a step, plus the float rounding of Δ·code and of q − w (a few ULPs of |w|).
        EXPECT_LE(std::abs(e[i]), 0.5f * qp.step[static_cast<std::size_t>(i / 64)] + 4e-7f * std::abs(w[i]) + 1e-30f);
        ASSERT_EQ(q[i], d[i]) << "bits " << bits << " element " << i;
      }
    }
}

TEST(Quantizer, SymmetricMatchesCpuBackendBitwise) {
  const Tensor w = synthetic_tensor(Distribution::Laplace, {5000}, 3);
  const QuantParams qp = compute_quant_params(w, sym(4));
  const Tensor q = fake_quantize(w, qp);
  std::vector<float> ref(5000);
  make_cpu_backend()->fake_quantize(w.values(), qp.step[0], qp.code_max, ref);
  for (std::size_t i = 0; i < ref.size(); ++i)
    ASSERT_EQ(std::signbit(q[static_cast<std::int64_t>(i)]), std::signbit(ref[i]));
  EXPECT_EQ(values(q), ref);
}

TEST(Quantizer, ZeroTensorHasTinyFiniteStepAndExactZeros) {
  const Tensor w({3, 4}, 0.0f);
  for (Scheme scheme : {Scheme::Symmetric, Scheme::Asymmetric}) {
    const QuantParams qp = compute_quant_params(w, {8, Granularity::Channel, scheme, 0});
    for (float s : qp.step) EXPECT_EQ(s, FLT_MIN);
    const Tensor q = fake_quantize(w, qp);
    for (float v : q.values()) EXPECT_EQ(v, 0.0f);
  }
  // A subnormal max|w| would give a subnormal Δ and an infinite 1/Δ without the floor.
  const Tensor tiny = vec({1e-40f, -3e-41f});
  const Tensor q = fake_quantize(tiny, sym(8));
  for (float v : q.values()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Quantizer, RejectsBadBitsEmptyAndNonFinite) {
  const Tensor w = vec({1.0f, -0.5f});
  EXPECT_THROW(compute_quant_params(w, sym(1)), UsageError);
  EXPECT_THROW(compute_quant_params(w, sym(17)), UsageError);
  EXPECT_THROW(compute_quant_params(w, sym(32)), UsageError);
  EXPECT_NO_THROW(compute_quant_params(w, sym(2)));
  EXPECT_NO_THROW(compute_quant_params(w, sym(16)));
  auto message = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message([] { compute_quant_params(Tensor({0}), sym(8)); }).find("compute_quant_params: empty"),
            std::string::npos);
  const Tensor nan = vec({1.0f, std::numeric_limits<float>::quiet_NaN()});
  const Tensor inf = vec({-std::numeric_limits<float>::infinity(), 1.0f});
  EXPECT_NE(message([&] { compute_quant_params(nan, sym(8)); }).find("weight 1 of tensor [2] is NaN"),
            std::string::npos);
  EXPECT_NE(message([&] { compute_quant_params(inf, sym(8)); }).find("infinite"), std::string::npos);
  const QuantParams qp = compute_quant_params(w, sym(8));
  EXPECT_THROW(fake_quantize(nan, qp), Error);
  EXPECT_THROW(compute_quant_params(w, {8, Granularity::Channel, Scheme::Symmetric, 1}), UsageError);
  EXPECT_THROW(fake_quantize(Tensor({2, 3}), compute_quant_params(Tensor({3, 2}, 1.0f),
                                                                  {8, Granularity::Channel, Scheme::Symmetric, 0})),
               Error);
  EXPECT_THROW(dequantize({0, 200}, {2}, qp), Error);
}

TEST(Quantizer, ParseHelpers) {
  EXPECT_EQ(parse_granularity("tensor"), Granularity::Tensor);
  EXPECT_EQ(parse_granularity("channel"), Granularity::Channel);
  EXPECT_EQ(parse_scheme("symmetric"), Scheme::Symmetric);
  EXPECT_EQ(parse_scheme("asymmetric"), Scheme::Asymmetric);
  EXPECT_THROW(parse_granularity("row"), UsageError);
  EXPECT_THROW(parse_scheme("Symmetric"), UsageError);
  EXPECT_STREQ(granularity_name(Granularity::Channel), "channel");
  EXPECT_STREQ(scheme_name(Scheme::Asymmetric), "asymmetric");
}

}  // namespace
}  // namespace qreg
