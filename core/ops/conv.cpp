// Conv (2-D, NCHW, any stride/padding/dilation/groups) as im2col + GEMMs per chunk of samples
// (in AVX-512 builds the forward of a unit-stride one-group conv with C·kh·kw ≥ 9, its dx when
// O·kh·kw ≥ 9, and its dW and db when the kernel has nine taps and the input is finite, run the
// direct kernels instead: conv_direct.cpp, direct_conv and direct_weight_grad):
//   col [C·kh·kw, S·P] holds the input patch of every output position of the chunk's S samples
//   (sample j in columns [j·P, (j+1)·P)), and per group (a block of rows of W and col)
//   forward:  y_n [O, P] = b + W [O, C·kh·kw] · col[:, n·P : (n+1)·P]   (one GEMM per sample)
//   backward: dY [O, S·P] gathers the chunk's dy_n, dW = Σ_chunks dY · colᵀ, db = Σ dY,
//             dcol = Wᵀ · dY, dx_n = col2im(dcol[:, n·P : (n+1)·P]).
// Why chunks: a whole-batch column matrix is large (58 MB for the CNN's second conv at batch
// 512) and its writes and reads miss every cache. A chunk's column matrix (and backward's dY)
// stays within kChunkFloats (about L2), so im2col writes into cache and the GEMMs read from it.
// The forward GEMMs write straight into y, which is prefilled with the bias and accumulated into:
// measured on the CNN's convs (OpenBLAS, one thread), this beats one chunk-wide GEMM into a
// scratch output followed by a scatter into the samples' blocks (a beta = 0 GEMM zeroes its output
// in a separate pass first: 25 against 52 GFLOP/s for the first conv, K = 9). Backward recomputes
// the chunk's im2col (cheap from cache) instead of keeping the batch's: forward passes (sim)
// allocate no batch-sized column buffer at all.
// The chunk size depends on the geometry only; the weight gradient is summed per chunk and the
// chunk partials are added in chunk order, so results do not depend on the thread count.
#include <cmath>
#include <limits>
#include <optional>

#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/ops/ops.hpp"

namespace qreg::ops {

// Floats of scratch per chunk (column matrix + backward's dY): 512 KiB, the L2 of one core here.
constexpr std::int64_t kChunkFloats = std::int64_t{128} << 10;
constexpr std::int64_t kMaxChunk = 32;  // samples per chunk at most (parallelism for small images)

std::int64_t samples_per_chunk(std::int64_t floats_per_sample) {
  return std::clamp<std::int64_t>(kChunkFloats / std::max<std::int64_t>(floats_per_sample, 1), 1, kMaxChunk);
}

namespace {

/// Samples per chunk for this geometry: its column matrix and dY within the budget.
std::int64_t chunk_samples(const WindowGeom& g) { return samples_per_chunk((g.C * g.kh * g.kw + g.O) * g.P()); }

/// col [K, S·P] of samples [s0, s1) of x [N, C, H, W].
void chunk_im2col(const WindowGeom& g, const float* x, std::int64_t s0, std::int64_t s1, float* col) {
  const std::int64_t ld = (s1 - s0) * g.P();
  for (std::int64_t s = s0; s < s1; ++s) im2col(g, x + s * g.C * g.H * g.W, col + (s - s0) * g.P(), ld);
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, NodeState& st, const SampleSink* sink) {
  if (direct_conv(st.geom)) return direct_conv_forward(x, w, b, y, st.geom, chunk_samples(st.geom), sink);
  im2col_conv_forward(x, w, b, y, st.geom, sink);
}

void im2col_conv_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor* y, const WindowGeom& g,
                         const SampleSink* sink) {
  const std::int64_t n = x.dim(0), K = g.C * g.kh * g.kw, Kg = g.Kg(), Og = g.O / g.groups, P = g.P();
  const std::int64_t chunk = chunk_samples(g);
  tbb::enumerable_thread_specific<FloatBuffer> col_scratch, out_scratch;
  for_chunks(n, chunk, [&](std::int64_t s0, std::int64_t s1) {
    const std::int64_t cols = (s1 - s0) * P;
    FloatBuffer& col = col_scratch.local();
    col.resize(static_cast<std::size_t>(K * chunk * P));
    if (!y) out_scratch.local().resize(static_cast<std::size_t>(g.O * P));
    chunk_im2col(g, x.data(), s0, s1, col.data());
    for (std::int64_t s = s0; s < s1; ++s) {
      // y_s [O, P] = bias, then += W · col_s per group (why not a beta = 0 GEMM: see the top).
      float* ys = y ? y->data() + s * g.O * P : out_scratch.local().data();
      for (std::int64_t o = 0; o < g.O; ++o) std::fill(ys + o * P, ys + (o + 1) * P, b ? (*b)[o] : 0.0f);
      for (std::int64_t gr = 0; gr < g.groups; ++gr)
        sgemm(Trans::no, Trans::no, Og, P, Kg, w.data() + gr * Og * Kg, Kg, col.data() + gr * Kg * cols + (s - s0) * P,
              cols, ys + gr * Og * P, P, /*accumulate=*/true);
      if (sink) (*sink)(s, ys);
    }
  });
}

namespace {

/// dx of a unit-stride conv with one group is the forward conv of dy [O, Ho, Wo] with the
/// transposed, flipped kernel W'[c, o, ky, kx] = W[o, c, kh−1−ky, kw−1−kx], the same dilation and
/// pads dh·(kh−1) − pt, dw·(kw−1) − pl (negative when a pad exceeds the kernel's reach: the
/// direct kernel then crops); its geometry, or nullopt when conv_forward would not take the
/// direct path for it (direct_conv).
std::optional<WindowGeom> input_grad_geom(const WindowGeom& g) {
  if (g.sh != 1 || g.sw != 1 || g.groups != 1) return std::nullopt;
  const WindowGeom t{
      g.O,  g.Ho, g.Wo, g.C, g.H, g.W, g.kh, g.kw, 1, 1, g.dh * (g.kh - 1) - g.pt, g.dw * (g.kw - 1) - g.pl,
      g.dh, g.dw, 1};
  if (!direct_conv(t)) return std::nullopt;
  return t;
}

/// dx += the direct conv of dy with the transposed, flipped kernel (geometry t, input_grad_geom).
void direct_input_grad(const Tensor& w, const Tensor& dy, Tensor& dx, const WindowGeom& g, const WindowGeom& t) {
  Tensor wt({g.C, g.O, g.kh, g.kw});
  const std::int64_t taps = g.kh * g.kw;
  for (std::int64_t o = 0; o < g.O; ++o)
    for (std::int64_t c = 0; c < g.C; ++c)
      for (std::int64_t k = 0; k < taps; ++k) wt[(c * g.O + o) * taps + taps - 1 - k] = w[(o * g.C + c) * taps + k];
  const std::int64_t per = g.C * g.H * g.W;
  const SampleSink add = [&](std::int64_t s, const float* d) {  // each sample from one thread
    float* out = dx.data() + s * per;
    for (std::int64_t i = 0; i < per; ++i) out[i] += d[i];
  };
  direct_conv_forward(dy, wt, nullptr, nullptr, t, chunk_samples(g), &add);
}

/// Whether every element of x is finite. The direct weight gradient also multiplies dy's zeros
/// (the padded grid's extra columns) with x values no real output reads, and 0 · inf is NaN
/// where im2col's sum has no term; a non-finite input takes the im2col path instead. One pass
/// over x, next to O·9 FMAs per element for the gradient itself.
bool all_finite(const Tensor& x) {
  const float* p = x.data();
  bool finite = true;
  for (std::int64_t i = 0; i < x.size(); ++i) finite &= std::abs(p[i]) <= std::numeric_limits<float>::max();
  return finite;
}

/// dw = Σ_k partials[k][:, :Kg] and db = Σ_k partials[k][:, Kg] in the fixed chunk order, so the
/// result does not depend on which thread ran which chunk.
void sum_partials(const std::vector<Tensor>& partials, const WindowGeom& g, Tensor& dw, Tensor* db) {
  const std::int64_t Kg = g.Kg();
  Map dW(dw.data(), g.O, Kg);
  dW.setZero();
  Eigen::VectorXf dB = Eigen::VectorXf::Zero(g.O);
  for (const Tensor& p : partials) {
    ConstMap part(p.data(), g.O, Kg + 1);
    dW += part.leftCols(Kg);
    dB += part.col(Kg);
  }
  if (db) Eigen::Map<Eigen::VectorXf>(db->data(), g.O) = dB;
}

}  // namespace

void conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db,
                   NodeState& st) {
  if (!dx && !dw) return;
  const WindowGeom& g = st.geom;
  // dx through the direct kernel where it applies (a 1.9× faster GEMM-free path with AVX-512
  // builds, and no col2im); the chunk loop below then computes dW alone.
  if (const auto t = dx ? input_grad_geom(g) : std::nullopt) {
    direct_input_grad(w, dy, *dx, g, *t);
    dx = nullptr;
    if (!dw) return;
  }
  if (!dx && direct_weight_grad(g) && all_finite(x)) {
    direct_conv_weight_grad(x, dy, g, st.partials);
    return sum_partials(st.partials, g, *dw, db);
  }
  im2col_conv_backward(x, w, dy, dx, dw, db, st);
}

void im2col_conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db,
                          NodeState& st) {
  if (!dx && !dw) return;
  const WindowGeom& g = st.geom;
  const std::int64_t n = x.dim(0), K = g.C * g.kh * g.kw, Kg = g.Kg(), Og = g.O / g.groups, P = g.P();
  const std::int64_t chunk = chunk_samples(g);
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  if (dw && static_cast<std::int64_t>(st.partials.size()) != chunks)
    st.partials.assign(static_cast<std::size_t>(chunks), Tensor({g.O, Kg + 1}));
  tbb::enumerable_thread_specific<FloatBuffer> col_scratch, dy_scratch;
  for_chunks(n, chunk, [&](std::int64_t s0, std::int64_t s1) {
    const std::int64_t cols = (s1 - s0) * P;
    FloatBuffer& col = col_scratch.local();
    FloatBuffer& dyc = dy_scratch.local();
    col.resize(static_cast<std::size_t>(K * chunk * P));
    dyc.resize(static_cast<std::size_t>(g.O * chunk * P));
    // Gather the chunk's dy_n [O, P] into dY [O, S·P] (the layout of the forward's GEMM output).
    for (std::int64_t s = s0; s < s1; ++s)
      for (std::int64_t o = 0; o < g.O; ++o) {
        const float* src = dy.data() + (s * g.O + o) * P;
        std::copy(src, src + P, dyc.data() + o * cols + (s - s0) * P);
      }
    ConstMap dY(dyc.data(), g.O, cols);
    if (dw) {
      chunk_im2col(g, x.data(), s0, s1, col.data());
      // partial [O, Kg + 1]: the weight gradient with the bias gradient as an extra column.
      float* partial = st.partials[static_cast<std::size_t>(s0 / chunk)].data();
      Map part(partial, g.O, Kg + 1);
      for (std::int64_t gr = 0; gr < g.groups; ++gr)  // part[group, :Kg] = dY[group] · col[group]ᵀ
        sgemm(Trans::no, Trans::yes, Og, Kg, cols, dyc.data() + gr * Og * cols, cols, col.data() + gr * Kg * cols, cols,
              partial + gr * Og * (Kg + 1), Kg + 1);
      part.col(Kg) = dY.rowwise().sum();
    }
    if (!dx) return;
    for (std::int64_t gr = 0; gr < g.groups; ++gr)  // dcol[group] = W[group]ᵀ · dY[group], over col
      sgemm(Trans::yes, Trans::no, Kg, cols, Og, w.data() + gr * Og * Kg, Kg, dyc.data() + gr * Og * cols, cols,
            col.data() + gr * Kg * cols, cols);
    for (std::int64_t s = s0; s < s1; ++s)
      col2im_add(g, col.data() + (s - s0) * P, dx->data() + s * g.C * g.H * g.W, cols);
  });
  if (dw) sum_partials(st.partials, g, *dw, db);
}

}  // namespace qreg::ops
