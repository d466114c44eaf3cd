// The chunked conv kernels and the vectorised 2×2 max-pool against direct loops in double.
// Conv runs im2col + one GEMM per chunk of samples (core/ops/conv.cpp), except in builds for
// AVX-512, where the forward of a unit-stride conv with one group and C·kh·kw ≥ 9 runs the
// direct kernel (core/ops/conv_direct.cpp, also tested on its own in ConvDirect below), and so
// does its dx when O·kh·kw ≥ 9 (a transposed conv; InputGradientAsATransposedConv). The
// batches here span several chunks, the last one partial, so a wrong column offset, a sample
// written into another sample's output, or a chunk partial added twice shows up. The
// references are the definition:
//   y[n,o,p] = b[o] + Σ_{c,ky,kx} W[o,c,ky,kx]·x[n, g·C/G + c, iy, ix]  (zero outside the image)
// and its adjoints dW = Σ_n Σ_p dy·x, db = Σ dy, dx = Σ W·dy, accumulated in double.
// Tolerance: each float result is a sum of float products; its error is at most about
// k·eps_f·Σ|terms| with k the number of terms (a loose bound; the real error is ~√k smaller), so
// we allow |ana − ref| ≤ 1e-5·Σ|terms| + 1e-30 (k ≤ 144 here: the loose bound is 1.7e-5, the
// √k-scaled one 1.4e-6).
// A misplaced element is off by O(|term|) and fails.
// Max-pool 2×2: values on a grid of four levels (many ties), odd image sizes (the last
// row/column is dropped); the expected value is the window maximum and the expected argmax the
// first maximum in window order, checked through the backward pass (dx gets dy at the argmax).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/executor.hpp"
#include "core/ops/ops.hpp"
#include "graph_test_util.hpp"

namespace qreg {
namespace {

using test::random_tensor;
using test::single_op;

struct ConvCase {
  std::int64_t C, H, W, O, kh, kw, groups, sh, sw, dh, dw, pt, pl, pb, pr, batch;
};

Attributes conv_attrs(const ConvCase& k) {
  Attributes a;
  a.ints["strides"] = {k.sh, k.sw};
  a.ints["dilations"] = {k.dh, k.dw};
  a.ints["pads"] = {k.pt, k.pl, k.pb, k.pr};
  a.ints["group"] = {k.groups};
  return a;
}

// Visits every (n, o, oy, ox, c, ky, kx) with its input index (or -1 in the padding) and weight index.
template <class F>
void for_taps(const ConvCase& k, std::int64_t Ho, std::int64_t Wo, F&& f) {
  const std::int64_t Cg = k.C / k.groups, Og = k.O / k.groups;
  for (std::int64_t n = 0; n < k.batch; ++n)
    for (std::int64_t o = 0; o < k.O; ++o)
      for (std::int64_t oy = 0; oy < Ho; ++oy)
        for (std::int64_t ox = 0; ox < Wo; ++ox)
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t ky = 0; ky < k.kh; ++ky)
              for (std::int64_t kx = 0; kx < k.kw; ++kx) {
                const std::int64_t iy = oy * k.sh - k.pt + ky * k.dh, ix = ox * k.sw - k.pl + kx * k.dw;
                const std::int64_t ci = o / Og * Cg + c;
                const bool in = iy >= 0 && iy < k.H && ix >= 0 && ix < k.W;
                const std::int64_t xi = in ? ((n * k.C + ci) * k.H + iy) * k.W + ix : -1;
                const std::int64_t yi = ((n * k.O + o) * Ho + oy) * Wo + ox;
                f(yi, xi, ((o * Cg + c) * k.kh + ky) * k.kw + kx, o);
              }
}

void expect_close(const Tensor& ana, const std::vector<double>& ref, const std::vector<double>& mag, const char* what) {
  ASSERT_EQ(static_cast<std::size_t>(ana.size()), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(ana[static_cast<std::int64_t>(i)], ref[i], 1e-5 * mag[i] + 1e-30) << what << " " << i;
}

void check_conv(const ConvCase& k) {
  const Tensor w = random_tensor({k.O, k.C / k.groups, k.kh, k.kw}, 1), b = random_tensor({k.O}, 2);
  Graph g = single_op(OpType::Conv, {k.C, k.H, k.W}, {{ParamRole::Weight, w}, {ParamRole::Bias, b}}, conv_attrs(k));
  const Shape& out = g.value_shapes[static_cast<std::size_t>(g.output)];
  const std::int64_t Ho = out[1], Wo = out[2];
  const Tensor x = random_tensor({k.batch, k.C, k.H, k.W}, 3);
  Executor ex(g);
  const Tensor& y = ex.forward(x);
  const Tensor dy = random_tensor(y.shape(), 4);
  std::vector<double> ry(static_cast<std::size_t>(y.size())), my(ry.size());
  std::vector<double> rw(static_cast<std::size_t>(w.size())), mw(rw.size()), rb(static_cast<std::size_t>(k.O)),
      mb(rb.size()), rx(static_cast<std::size_t>(x.size())), mx(rx.size());
  for (std::int64_t i = 0; i < y.size(); ++i) {
    const auto o = static_cast<std::size_t>(i / (Ho * Wo) % k.O);
    ry[static_cast<std::size_t>(i)] = b[static_cast<std::int64_t>(o)];
    my[static_cast<std::size_t>(i)] = std::abs(b[static_cast<std::int64_t>(o)]);
    rb[o] += dy[i];
    mb[o] += std::abs(dy[i]);
  }
  for_taps(k, Ho, Wo, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi, std::int64_t) {
    if (xi < 0) return;
    const auto Y = static_cast<std::size_t>(yi), X = static_cast<std::size_t>(xi), Wi = static_cast<std::size_t>(wi);
    ry[Y] += static_cast<double>(w[wi]) * x[xi];
    my[Y] += std::abs(static_cast<double>(w[wi]) * x[xi]);
    rw[Wi] += static_cast<double>(dy[yi]) * x[xi];
    mw[Wi] += std::abs(static_cast<double>(dy[yi]) * x[xi]);
    rx[X] += static_cast<double>(w[wi]) * dy[yi];
    mx[X] += std::abs(static_cast<double>(w[wi]) * dy[yi]);
  });
  expect_close(y, ry, my, "y");
  ParamSet grads;
  ex.backward({{g.output, dy}}, g.values, grads);
  expect_close(grads[0], rw, mw, "dW");
  expect_close(grads[1], rb, mb, "db");
  expect_close(ex.grad(0), rx, mx, "dx");
}

// C=8, 3×3, O=8 on 12×12: (72 + 8)·144 floats per sample, so many samples per chunk; batch 70
// spans several chunks with a partial last one whatever the chunk budget.
TEST(ConvChunks, PaddedBatchOverSeveralChunks) { check_conv({8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 70}); }

// A large image (C=16, 40×40, O=16): one or two samples per chunk.
TEST(ConvChunks, LargeImageFewSamplesPerChunk) { check_conv({16, 40, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5}); }

TEST(ConvChunks, GroupedStridedDilatedAsymmetricPads) { check_conv({4, 9, 8, 6, 3, 2, 2, 2, 1, 2, 1, 1, 0, 2, 1, 37}); }

// Unit strides with the output as wide as the input take im2col's one-copy-per-row path
// (core/im2col.cpp gather_same_width); these put the padding on one side only, dilate, make
// the kernel wider than the image, and stride only vertically (which must take the general path).
TEST(ConvChunks, SameWidthOneSidedPads) { check_conv({3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 2, 0, 0, 2, 9}); }
TEST(ConvChunks, SameWidthDilated) { check_conv({2, 9, 10, 3, 3, 3, 1, 1, 1, 2, 2, 2, 2, 2, 2, 7}); }
TEST(ConvChunks, SameWidthKernelWiderThanImage) { check_conv({2, 3, 2, 3, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, 6}); }
TEST(ConvChunks, SameWidthVerticalStride) { check_conv({2, 8, 6, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 5}); }

// With AVX-512, dx of a unit-stride one-group conv with O·kh·kw ≥ 64 is the direct conv of dy with
// the transposed, flipped kernel (core/ops/conv.cpp, input_grad_geom): dilated, one-sided pads,
// a 5×3 kernel, and pads beyond the kernel's reach (the transposed conv's pads are negative).
TEST(ConvChunks, InputGradientAsATransposedConv) {
  check_conv({2, 9, 10, 8, 3, 3, 1, 1, 1, 2, 2, 2, 2, 2, 2, 7});
  check_conv({3, 7, 6, 13, 3, 3, 1, 1, 1, 1, 1, 2, 0, 0, 2, 9});
  check_conv({4, 8, 9, 5, 5, 3, 1, 1, 1, 1, 1, 2, 1, 1, 0, 4});
  check_conv({2, 5, 5, 8, 3, 3, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3});
}

// The direct kernel (core/ops/conv_direct.cpp) called on its own, whatever conv_forward's choice:
// tiles of 8 (or 4) channels × 32 (or 16) positions on a padded-width grid. The cases cover
// channel counts that are not whole tiles (O = 1, 5, 13), rows shorter and longer than a tile,
// tiles spanning several rows, 1×1 and 5×5 kernels, dilation, one-sided and no padding, C = 1
// and a kernel wider than the image; the output goes to y and, through a sink, to scratch.
/// The geometry of a unit-stride, one-group case (the direct kernels' cases).
WindowGeom unit_stride_geom(const ConvCase& k) {
  const std::int64_t Ho = k.H + k.pt + k.pb - k.dh * (k.kh - 1), Wo = k.W + k.pl + k.pr - k.dw * (k.kw - 1);
  return WindowGeom{k.C, k.H, k.W, k.O, Ho, Wo, k.kh, k.kw, 1, 1, k.pt, k.pl, k.dh, k.dw, 1};
}

void check_direct(const ConvCase& k) {
  ASSERT_EQ(k.groups, 1);
  ASSERT_TRUE(k.sh == 1 && k.sw == 1);
  const WindowGeom g = unit_stride_geom(k);
  const std::int64_t Ho = g.Ho, Wo = g.Wo;
  const Tensor w = random_tensor({k.O, k.C, k.kh, k.kw}, 1), b = random_tensor({k.O}, 2);
  const Tensor x = random_tensor({k.batch, k.C, k.H, k.W}, 3);
  std::vector<double> ry(static_cast<std::size_t>(k.batch * k.O * Ho * Wo)), my(ry.size());
  for (std::size_t i = 0; i < ry.size(); ++i) {
    const auto o = static_cast<std::int64_t>(i) / (Ho * Wo) % k.O;
    ry[i] = b[o];
    my[i] = std::abs(b[o]);
  }
  for_taps(k, Ho, Wo, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi, std::int64_t) {
    if (xi < 0) return;
    ry[static_cast<std::size_t>(yi)] += static_cast<double>(w[wi]) * x[xi];
    my[static_cast<std::size_t>(yi)] += std::abs(static_cast<double>(w[wi]) * x[xi]);
  });
  Tensor y({k.batch, k.O, Ho, Wo}), streamed({k.batch, k.O, Ho, Wo});
  ops::direct_conv_forward(x, w, &b, &y, g, 2, nullptr);
  expect_close(y, ry, my, "direct y");
  const std::int64_t per = k.O * Ho * Wo;
  const ops::SampleSink sink = [&](std::int64_t s, const float* ys) {
    std::copy(ys, ys + per, streamed.data() + s * per);
  };
  ops::direct_conv_forward(x, w, &b, nullptr, g, 3, &sink);
  expect_close(streamed, ry, my, "direct, streamed");
}

TEST(ConvDirect, ChannelTailsAndRowSegments) {
  check_direct({3, 14, 14, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5});
  check_direct({1, 28, 28, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3});
  check_direct({2, 5, 37, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4});
  check_direct({2, 9, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3});
  check_direct({16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3});
}
TEST(ConvDirect, KernelSizesPadsAndDilation) {
  check_direct({5, 7, 9, 9, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3});
  check_direct({2, 11, 10, 6, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3});
  check_direct({3, 12, 11, 7, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3});
  check_direct({2, 10, 9, 9, 3, 2, 1, 1, 1, 2, 3, 1, 0, 2, 3, 3});
  check_direct({1, 3, 2, 17, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2});
}

// The direct weight gradient (core/ops/conv_direct.cpp, direct_conv_weight_grad) called on its
// own, whatever conv_backward's choice: blocks of 3 output channels (O = 1, 5, 13 leave partial
// blocks), C = 1, dilation, one-sided and no padding, images narrower than a vector, and batches
// spanning several chunks (the last partial). dW and db summed from the partials in chunk order
// against the definition in double, as in check_conv.
void check_direct_weight_grad(const ConvCase& k) {
  const WindowGeom g = unit_stride_geom(k);
  const std::int64_t Ho = g.Ho, Wo = g.Wo;
  const Tensor x = random_tensor({k.batch, k.C, k.H, k.W}, 3), dy = random_tensor({k.batch, k.O, Ho, Wo}, 4);
  const std::int64_t K = k.C * 9;
  std::vector<double> rw(static_cast<std::size_t>(k.O * K)), mw(rw.size()), rb(static_cast<std::size_t>(k.O)),
      mb(rb.size());
  for (std::int64_t i = 0; i < dy.size(); ++i) {
    const auto o = static_cast<std::size_t>(i / (Ho * Wo) % k.O);
    rb[o] += dy[i];
    mb[o] += std::abs(dy[i]);
  }
  for_taps(k, Ho, Wo, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi, std::int64_t) {
    if (xi < 0) return;
    rw[static_cast<std::size_t>(wi)] += static_cast<double>(dy[yi]) * x[xi];
    mw[static_cast<std::size_t>(wi)] += std::abs(static_cast<double>(dy[yi]) * x[xi]);
  });
  std::vector<Tensor> partials;
  ops::direct_conv_weight_grad(x, dy, g, partials);
  Tensor dw({k.O, k.C, 3, 3}), db({k.O});
  for (const Tensor& p : partials) {
    ASSERT_EQ(p.shape(), (Shape{k.O, K + 1}));
    for (std::int64_t o = 0; o < k.O; ++o) {
      for (std::int64_t j = 0; j < K; ++j) dw[o * K + j] += p[o * (K + 1) + j];
      db[o] += p[o * (K + 1) + K];
    }
  }
  expect_close(dw, rw, mw, "direct dW");
  expect_close(db, rb, mb, "direct db");
}

TEST(ConvDirect, WeightGradient) {
  check_direct_weight_grad({1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9});  // the CNN's first conv
  check_direct_weight_grad({16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 40});
  check_direct_weight_grad({3, 14, 14, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5});
  check_direct_weight_grad({2, 5, 37, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4});
  check_direct_weight_grad({2, 9, 1, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3});
  check_direct_weight_grad({3, 12, 11, 7, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3});
  check_direct_weight_grad({2, 10, 9, 4, 3, 3, 1, 1, 1, 2, 3, 1, 0, 2, 3, 3});
  check_direct_weight_grad({2, 3, 2, 5, 3, 3, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2});
}

// An infinite input element: the weight gradient must be non-finite exactly at the taps whose sum
// (the definition, in double) has a term with it, and finite elsewhere. The direct kernel would
// also multiply dy's zeros in its padded grid's extra columns with it (0 · inf = NaN at taps no
// real output reads), so conv_backward must take the im2col path for such an input.
TEST(ConvDirect, WeightGradientOfANonFiniteInput) {
  const ConvCase k{2, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3};
  const WindowGeom g = unit_stride_geom(k);
  const std::int64_t Ho = g.Ho, Wo = g.Wo;
  Tensor x = random_tensor({k.batch, k.C, k.H, k.W}, 3);
  x[(1 * k.C + 0) * k.H * k.W + 2 * k.W + (k.W - 1)] = std::numeric_limits<float>::infinity();  // last column
  const Tensor w = random_tensor({k.O, k.C, 3, 3}, 1), dy = random_tensor({k.batch, k.O, Ho, Wo}, 4);
  std::vector<double> rw(static_cast<std::size_t>(w.size()));
  for_taps(k, Ho, Wo, [&](std::int64_t yi, std::int64_t xi, std::int64_t wi, std::int64_t) {
    if (xi >= 0) rw[static_cast<std::size_t>(wi)] += static_cast<double>(dy[yi]) * x[xi];
  });
  Tensor dw(w.shape()), db({k.O});
  ops::NodeState st;
  st.geom = g;
  ops::conv_backward(x, w, dy, nullptr, &dw, &db, st);
  int non_finite = 0;
  for (std::int64_t i = 0; i < dw.size(); ++i) {
    EXPECT_EQ(std::isfinite(dw[i]), std::isfinite(rw[static_cast<std::size_t>(i)])) << "tap " << i;
    non_finite += !std::isfinite(rw[static_cast<std::size_t>(i)]);
  }
  EXPECT_GT(non_finite, 0);  // the case reaches the infinite element at all
  for (std::int64_t o = 0; o < k.O; ++o) EXPECT_TRUE(std::isfinite(db[o]));
}

// An empty batch: conv_backward gives zero weight and bias gradients on either path.
TEST(ConvDirect, WeightGradientOfAnEmptyBatch) {
  const WindowGeom g{2, 5, 5, 4, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  const Tensor x({0, 2, 5, 5}), w = random_tensor({4, 2, 3, 3}, 1), dy({0, 4, 5, 5});
  Tensor dw = random_tensor(w.shape(), 2), db = random_tensor({4}, 3);
  ops::NodeState st;
  st.geom = g;
  ops::conv_backward(x, w, dy, nullptr, &dw, &db, st);
  for (std::int64_t i = 0; i < dw.size(); ++i) EXPECT_EQ(dw[i], 0.0f);
  for (std::int64_t i = 0; i < db.size(); ++i) EXPECT_EQ(db[i], 0.0f);
}

// conv_forward's choice (core/ops/conv_direct.cpp, "When"): direct for unit strides, one group
// and C·kh·kw ≥ 9 in builds for AVX-512; im2col + GEMM otherwise.
TEST(ConvDirect, ChosenForUnitStrideOneGroupWithAvx512) {
  const auto geom = [](std::int64_t C, std::int64_t k, std::int64_t sh, std::int64_t groups) {
    return WindowGeom{C, 8, 8, 8, 8, 8, k, k, sh, 1, 1, 1, 1, 1, groups};
  };
#if defined(__AVX512F__)
  EXPECT_TRUE(ops::direct_conv(geom(1, 3, 1, 1)));  // C·9 = 9: the CNN's first conv
  EXPECT_TRUE(ops::direct_conv(geom(9, 1, 1, 1)));
#else
  EXPECT_FALSE(ops::direct_conv(geom(1, 3, 1, 1)));
  EXPECT_FALSE(ops::direct_conv(geom(9, 1, 1, 1)));
#endif
  EXPECT_FALSE(ops::direct_conv(geom(8, 1, 1, 1)));  // C·1 = 8
  EXPECT_FALSE(ops::direct_conv(geom(8, 3, 2, 1)));
  EXPECT_FALSE(ops::direct_conv(geom(8, 3, 1, 2)));
  // conv_backward's weight gradient: direct for those geometries with a 3×3 kernel.
#if defined(__AVX512F__)
  EXPECT_TRUE(ops::direct_weight_grad(geom(1, 3, 1, 1)));
#else
  EXPECT_FALSE(ops::direct_weight_grad(geom(1, 3, 1, 1)));
#endif
  EXPECT_FALSE(ops::direct_weight_grad(geom(9, 1, 1, 1)));
  EXPECT_FALSE(ops::direct_weight_grad(geom(8, 5, 1, 1)));
  EXPECT_FALSE(ops::direct_weight_grad(geom(8, 3, 2, 1)));
  EXPECT_FALSE(ops::direct_weight_grad(geom(8, 3, 1, 2)));
}

// Widths W give Wo = W / 2 outputs per row: 4 (the first case), and 7, 8, 14, 16, 17 and 33 for
// the AVX-512 row kernel's masks (a row of fewer than 8, exactly 8, between 8 and 16, exactly 16
// outputs, and rows needing a second and a third step of 16); the even widths up to 16 (2, 6,
// 14, 16) take its narrow form, both input rows in one run of 2W floats.
void check_maxpool_2x2(std::int64_t H, std::int64_t W) {
  const std::int64_t N = 9, C = 3, Ho = H / 2, Wo = W / 2;
  Attributes a;
  a.ints["kernel_shape"] = {2, 2};
  a.ints["strides"] = {2, 2};
  Graph g = single_op(OpType::MaxPool, {C, H, W}, {}, a);
  Tensor x = random_tensor({N, C, H, W}, 5);
  for (float& v : x.values()) v = std::floor(v * 2.0f);  // {-2, -1, 0, 1}: ties in most windows
  Executor ex(g);
  const Tensor& y = ex.forward(x);
  ASSERT_EQ(y.shape(), (Shape{N, C, Ho, Wo}));
  const Tensor dy = random_tensor(y.shape(), 6);
  ParamSet grads;
  ex.backward({{g.output, dy}}, g.values, grads);
  Tensor dx_ref({N, C, H, W});
  const WindowGeom geom{C, H, W, C, Ho, Wo, 2, 2, 2, 2, 0, 0, 1, 1, 1};
  std::vector<float> fused(static_cast<std::size_t>(C * Ho * Wo));  // ReLU → MaxPool, one sample
  for (std::int64_t plane = 0; plane < N * C; ++plane) {
    if (plane % C == 0) ops::maxpool_sample(geom, x.data() + plane * H * W, fused.data(), /*relu=*/true);
    for (std::int64_t oy = 0; oy < Ho; ++oy)
      for (std::int64_t ox = 0; ox < Wo; ++ox) {
        std::int64_t arg = -1;
        for (std::int64_t ky = 0; ky < 2; ++ky)
          for (std::int64_t kx = 0; kx < 2; ++kx) {
            const std::int64_t i = (plane * H + 2 * oy + ky) * W + 2 * ox + kx;
            if (arg < 0 || x[i] > x[arg]) arg = i;  // first maximum wins
          }
        const std::int64_t o = (plane * Ho + oy) * Wo + ox;
        EXPECT_EQ(y[o], x[arg]) << "W " << W << " output " << o;
        EXPECT_EQ(fused[static_cast<std::size_t>(o - plane / C * C * Ho * Wo)], std::max(x[arg], 0.0f))
            << "W " << W << " output " << o;
        dx_ref[arg] += dy[o];
      }
  }
  for (std::int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(ex.grad(0)[i], dx_ref[i]) << "W " << W << " input " << i;
}

TEST(MaxPool2x2, TiesOddSizesAndArgmax) { check_maxpool_2x2(7, 9); }

TEST(MaxPool2x2, RowWidthsAroundTheVectorSteps) {
  for (const std::int64_t W : {2, 6, 14, 16, 29, 32, 35, 67}) check_maxpool_2x2(5, W);
}

// NaN, ±0 and ±inf in the windows, and a dx that already holds other consumers' gradients
// (-0.0 among them). Whatever the comparisons make of NaN and signed zeros, the backward must
// send dy to the element whose value the forward output, the first such in window order (the
// forward's std::max keeps the earlier of equal values), add it there and leave every other
// element of dx bit for bit as it was. Widths as above, for the AVX-512 row's masks.
TEST(MaxPool2x2, BackwardWithNaNsSignedZerosAndAPrefilledGradient) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float levels[] = {nan, -0.0f, 0.0f, 1.0f, -1.0f, inf, -inf, 1.0f};
  const auto same = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  for (const std::int64_t W : {9, 14, 16, 29, 32, 35, 67}) {
    const std::int64_t N = 6, C = 2, H = 5, Ho = H / 2, Wo = W / 2;  // two tasks of kPoolChunk = 4 samples
    const WindowGeom geom{C, H, W, C, Ho, Wo, 2, 2, 2, 2, 0, 0, 1, 1, 1};
    Tensor x = random_tensor({N, C, H, W}, 7);
    for (float& v : x.values()) v = levels[static_cast<int>(std::floor((v + 1.0f) * 4.0f)) & 7];
    Tensor y({N, C, Ho, Wo});
    for (std::int64_t s = 0; s < N; ++s)
      ops::maxpool_sample(geom, x.data() + s * C * H * W, y.data() + s * C * Ho * Wo, /*relu=*/false);
    const Tensor dy = random_tensor(y.shape(), 8);
    Tensor dx = random_tensor(x.shape(), 9);
    for (std::int64_t i = 0; i < dx.size(); i += 3) dx[i] = -0.0f;
    const Tensor before = dx;
    ops::NodeState st;
    st.geom = geom;
    ops::maxpool_backward(x, dy, dx, st);
    std::vector<char> hit(static_cast<std::size_t>(x.size()), 0);
    for (std::int64_t plane = 0; plane < N * C; ++plane)
      for (std::int64_t oy = 0; oy < Ho; ++oy)
        for (std::int64_t ox = 0; ox < Wo; ++ox) {
          const std::int64_t o = (plane * Ho + oy) * Wo + ox;
          std::int64_t arg = -1;
          for (std::int64_t k = 0; k < 4 && arg < 0; ++k) {
            const std::int64_t i = (plane * H + 2 * oy + k / 2) * W + 2 * ox + k % 2;
            if (same(x[i], y[o])) arg = i;
          }
          ASSERT_GE(arg, 0) << "W " << W << ": output " << o << " is no element of its window";
          hit[static_cast<std::size_t>(arg)] = 1;
          EXPECT_TRUE(same(dx[arg], before[arg] + dy[o])) << "W " << W << " output " << o;
        }
    for (std::int64_t i = 0; i < x.size(); ++i) {
      if (!hit[static_cast<std::size_t>(i)]) {
        EXPECT_TRUE(same(dx[i], before[i])) << "W " << W << " input " << i;
      }
    }
  }
}

}  // namespace
}  // namespace qreg
