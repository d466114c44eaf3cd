// Estimators (DESIGN.md "Noise at a layer"). For draw d (its noise δ_d from stream (seed, d)) and
// quantized layer L with output y_L [N, M_L] (samples × output elements):
//   v_{d,L} = 1/(N·M_L) Σ_n Σ_i (y_L(x_n; W+δ_d)_i − y_L(x_n; W)_i)²,
//   noise_var = mean_d v_{d,L},  stderr = sd_d(v_{d,L})/√D,  CI from Student's t with D−1 dof.
// The v_d are iid across draws, so this standard error is exact in the usual CLT sense; samples
// and elements are averaged inside a draw, where they are correlated through the shared δ_d.
// v_d estimates E_δ[Δy²] = Var_δ[Δy] + (E_δ Δy)². The mean term is zero for noise entering
// linearly (δ has mean 0 and y is affine in each layer's weights), and with ReLUs between layers
// it is second order in δ, so (E Δy)² = O(Δ⁴) next to Var = O(Δ²); it is not subtracted (doing
// so per element would need D·N·M_L storage or a biased per-draw centring).
// Loss increase: ℓ_d = L(W+δ_d) − L(W) − g·δ_d with L the mean cross-entropy on the calibration
// labels and g = ∂L/∂W at W, a zero-mean control variate (first_order_loss): E[ℓ_d] is unchanged.
// Round noise compares the quantized network q(W') with its own reference W' = W + U (both
// forwards per draw); in isolated mode only layer L is shifted and quantized.
// Gram form: when no noisy layer lies upstream of conv layer L (the first conv in joint mode,
// every layer in isolated mode), its input is the clean x in both passes and Δy_o(n,p) =
// δ_o · patch(n,p) exactly, so Σ_{n,p} Δy_o² = δ_oᵀ G δ_o with G = Σ_{n,p} patch patchᵀ ([K×K],
// once from the clean inputs). That costs O·K² per draw instead of streaming N·M outputs; it is
// used where O·K² ≤ N·M/8 (the CNN's first conv: 1,296 against 6.4 M) and the output is then not
// observed at all. δ is the weight difference of the two passes (round: q(W') − W').
#include "sim/simulator.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

#include "core/bits.hpp"
#include "core/error.hpp"
#include "core/executor.hpp"
#include "core/im2col.hpp"
#include "core/quantize_graph.hpp"

namespace qreg::sim {
namespace {

struct Layer {
  int node = -1, weight = -1, output = -1;
  std::int64_t elements = 0;  // output elements per sample, M_L
};

// Read-only state shared by every draw.
struct Context {
  const Graph& graph;
  const ParamSet& params;
  const SimOptions& opt;
  std::vector<Layer> layers;
  ForwardOptions keep_layers;                     // inference keeping the layers' outputs (round's reference pass)
  std::vector<int> layer_of;                      // per value id: the layer whose output it is, or -1
  std::vector<std::vector<QuantParams>> quant;    // [bits][layer]
  std::vector<Tensor> inputs;                     // per chunk of samples
  std::vector<std::vector<std::int32_t>> labels;  // per chunk; empty when unlabelled
  std::vector<std::vector<Tensor>> clean;         // [chunk][layer] clean outputs (empty for Gram layers)
  std::vector<double> clean_loss;                 // [chunk] summed cross-entropy, clean network
  std::vector<double> signal_power;               // [layer] mean of clean y²
  std::vector<Tensor> loss_grad;                  // [layer] ∂L/∂W_l at the clean weights (labelled only)
  std::vector<bool> upstream_free;                // [layer] no quantized layer feeds its input
  std::vector<std::vector<double>> gram;          // [layer] K×K patch Gram matrix, empty: not used
  std::int64_t samples = 0;
  bool labelled = false;
  std::size_t nl() const { return layers.size(); }
};

// One task's engine and scratch: an executor, its own parameter set (weights are swapped in and
// out, never copied per forward) and the noisy/shifted weights of the current draw.
struct Worker {
  Executor exec;
  ParamSet params;
  std::vector<Tensor> noisy, shifted, ref;     // per layer
  std::vector<const Tensor*> refs;             // per layer: the outputs the noisy pass is compared with
  std::vector<std::vector<double>> sample_sq;  // per layer, per sample of the chunk: Σ_i (Δy_i)²
  Worker(const Graph& g, const ParamSet& p)
      : exec(g), params(p), noisy(p.size()), shifted(p.size()), ref(p.size()), refs(p.size()), sample_sq(p.size()) {}
};

// Workers are handed out per task (not per thread: a thread waiting inside a nested parallel
// forward may pick up another draw, which must not share its executor).
class WorkerPool {
 public:
  explicit WorkerPool(const Context& c) : c_(c) {}
  std::unique_ptr<Worker> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        auto w = std::move(free_.back());
        free_.pop_back();
        return w;
      }
    }
    return std::make_unique<Worker>(c_.graph, c_.params);
  }
  void release(std::unique_ptr<Worker> w) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(w));
  }

 private:
  const Context& c_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Worker>> free_;
};

// Per-draw statistics: noise [b·L + l]; loss joint [b], isolated [b·L + l] (empty unlabelled).
struct DrawStats {
  std::vector<double> noise, loss;
};

/// Σ_i term(i) over [0, n) in double: eight interleaved partial sums (lane k takes i ≡ k mod 8)
/// added in a fixed tree, so the compiler vectorises the loop and the result depends on n only.
template <class Term>
double lane_sum(std::int64_t n, Term term) {
  std::array<double, 8> acc{};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) acc[k] += term(i + static_cast<std::int64_t>(k));
  double tail = 0;
  for (; i < n; ++i) tail += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

/// Σ_i (a_i − b_i)² over n floats in blocks of 256: a block in float (16 interleaved lanes of
/// 16 terms, one AVX-512 register or two AVX2 ones), the block sums added in double in order. The
/// terms are positive, so a block's relative rounding error is below 20·2⁻²⁴ ≈ 1.2e-6 (and
/// a − b is exact when a and b are within a factor 2, as noisy and clean outputs mostly are): far
/// below the draws' spread. Against the former double-precision lanes: 10.6% → 7.3% of the CNN
/// simulation's time (perf, one profile each).
double sum_sq_diff(const float* pa, const float* pb, std::int64_t n) {
  constexpr std::int64_t kLanes = 16, kBlock = 256;
  double total = 0;
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    std::array<float, kLanes> acc{};
    for (std::int64_t j = i; j < i + kBlock; j += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) {
        const float d = pa[j + k] - pb[j + k];
        acc[static_cast<std::size_t>(k)] += d * d;
      }
    float block = 0;
    for (const float v : acc) block += v;
    total += block;
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(pa[i]) - pb[i];
    total += d * d;
  }
  return total;
}

/// Whether layer l's Σ(Δy)² comes from its Gram matrix when the layers `noisy` are perturbed.
bool by_gram(const Context& c, std::size_t l, const std::vector<std::size_t>& noisy) {
  return !c.gram[l].empty() && (noisy.size() == 1 || c.upstream_free[l]);
}

/// Σ_o δ_oᵀ G δ_o for layer l, δ = noisy − reference weights, rows of K = weight.size()/O.
double gram_form(const Context& c, const Worker& w, std::size_t l) {
  const Tensor& ref =
      c.opt.noise == NoiseKind::Round ? w.shifted[l] : c.params[static_cast<std::size_t>(c.layers[l].weight)];
  const Tensor& noisy = w.noisy[l];
  const std::int64_t K = static_cast<std::int64_t>(std::sqrt(static_cast<double>(c.gram[l].size())));
  const std::int64_t O = noisy.size() / K;
  const double* G = c.gram[l].data();
  std::vector<double> d(static_cast<std::size_t>(K));
  double total = 0;
  for (std::int64_t o = 0; o < O; ++o) {
    for (std::int64_t k = 0; k < K; ++k)
      d[static_cast<std::size_t>(k)] = static_cast<double>(noisy[o * K + k]) - ref[o * K + k];
    for (std::int64_t i = 0; i < K; ++i) {
      double gi = 0;
      for (std::int64_t j = 0; j < K; ++j) gi += G[i * K + j] * d[static_cast<std::size_t>(j)];
      total += d[static_cast<std::size_t>(i)] * gi;
    }
  }
  return total;
}

double chunk_loss(const Context& c, std::size_t k, const Tensor& logits) {
  return cross_entropy(logits, c.labels[k]) * static_cast<double>(c.labels[k].size());
}

void swap_in(Worker& w, const Context& c, const std::vector<std::size_t>& noisy, std::vector<Tensor>& from) {
  for (const std::size_t l : noisy) std::swap(w.params[static_cast<std::size_t>(c.layers[l].weight)], from[l]);
}

// One measurement: layers `noisy` perturbed (their draw already in w.noisy / w.shifted), the
// squared output deviation of layers `targets` summed into sq[t], the loss difference returned
// (sample sums; 0 when unlabelled, and then no forward pass runs when every target has a Gram
// form). The noisy pass keeps only the logits and observes the targets' outputs sample by sample
// (Executor's streamed forward): a conv feeding ReLU → max-pool is then compared while its
// output is in cache and never stored. Per-sample sums are added in sample order, so the result
// does not depend on the thread count.
double measure(const Context& c, Worker& w, const std::vector<std::size_t>& noisy,
               const std::vector<std::size_t>& all_targets, std::vector<double>& sq) {
  const bool round = c.opt.noise == NoiseKind::Round;
  std::vector<std::size_t> targets;  // the streamed ones; the others by their Gram matrix
  for (const std::size_t t : all_targets)
    if (by_gram(c, t, noisy))
      sq[t] += gram_form(c, w, t);
    else
      targets.push_back(t);
  if (targets.empty() && !c.labelled) return 0.0;  // nothing left that needs the network
  ForwardOptions pass;
  pass.keep = {c.graph.output};
  for (const std::size_t t : targets) pass.observe.push_back(c.layers[t].output);
  pass.observer = [&](int v, std::int64_t s0, std::int64_t s1, const float* rows) {
    const auto t = static_cast<std::size_t>(c.layer_of[static_cast<std::size_t>(v)]);
    const std::int64_t m = c.layers[t].elements;
    for (std::int64_t s = s0; s < s1; ++s)
      w.sample_sq[t][static_cast<std::size_t>(s)] = sum_sq_diff(rows + (s - s0) * m, w.refs[t]->data() + s * m, m);
  };
  double loss_diff = 0;
  for (std::size_t k = 0; k < c.inputs.size(); ++k) {
    if (round) {  // reference forward at the shifted weights W'
      swap_in(w, c, noisy, w.shifted);
      const Tensor& logits = w.exec.forward(c.inputs[k], w.params, c.keep_layers);
      swap_in(w, c, noisy, w.shifted);
      for (const std::size_t t : targets) w.ref[t] = w.exec.value(c.layers[t].output);
      if (c.labelled) loss_diff -= chunk_loss(c, k, logits);
    } else if (c.labelled) {
      loss_diff -= c.clean_loss[k];
    }
    for (const std::size_t t : targets) {
      w.refs[t] = round ? &w.ref[t] : &c.clean[k][t];
      QREG_ASSERT(w.refs[t]->size() == c.inputs[k].dim(0) * c.layers[t].elements,
                  "simulate: a streamed layer has no reference output (its clean output was not kept)");
      w.sample_sq[t].assign(static_cast<std::size_t>(c.inputs[k].dim(0)), 0.0);
    }
    swap_in(w, c, noisy, w.noisy);
    const Tensor& logits = w.exec.forward(c.inputs[k], w.params, pass);
    swap_in(w, c, noisy, w.noisy);
    for (const std::size_t t : targets)
      for (const double v : w.sample_sq[t]) sq[t] += v;
    if (c.labelled) loss_diff += chunk_loss(c, k, logits);
  }
  return loss_diff;
}

// The control variate g·δ = Σ_l ⟨∂L/∂W_l, δ_l⟩ of a draw (δ = noisy − reference weights). It has
// mean 0 (every δ is zero-mean, also round's q(w') − w' by Schuchman's theorem, and g is fixed),
// so subtracting it leaves E[ℓ_d] unchanged, but it removes the first-order term that dominates
// ℓ_d's spread (ℓ_d = g·δ + ½δᵀHδ + ...): the standard error then reflects the curvature term.
double first_order_loss(const Context& c, const Worker& w, const std::vector<std::size_t>& noisy) {
  const bool round = c.opt.noise == NoiseKind::Round;
  double s = 0;
  for (const std::size_t l : noisy) {
    const Tensor& g = c.loss_grad[l];
    const Tensor& ref = round ? w.shifted[l] : c.params[static_cast<std::size_t>(c.layers[l].weight)];
    const float *pg = g.data(), *pn = w.noisy[l].data(), *pr = ref.data();
    s += lane_sum(g.size(),
                  [&](std::int64_t i) { return static_cast<double>(pg[i]) * (static_cast<double>(pn[i]) - pr[i]); });
  }
  return s;
}

DrawStats run_draw(const Context& c, Worker& w, std::int64_t draw) {
  const std::size_t nb = c.opt.bits.size(), nl = c.nl();
  const bool joint = c.opt.mode == NoiseMode::Joint;
  DrawStats s;
  s.noise.assign(nb * nl, 0.0);
  if (c.labelled) s.loss.assign(joint ? nb : nb * nl, 0.0);
  const double n = static_cast<double>(c.samples);
  std::vector<double> sq(nl);
  for (std::size_t b = 0; b < nb; ++b) {
    // Common random numbers: every bit width reads the same stream, scaled by its own steps.
    // Layers read consecutive words (uniform, round: one per weight; Gaussian: Box-Muller pairs
    // through RandomStream, whose spare normal carries over to the next layer).
    RandomStream rng = draw_stream(c.opt.seed, static_cast<std::uint64_t>(draw));
    StreamPos pos = draw_position(c.opt.seed, static_cast<std::uint64_t>(draw));
    for (std::size_t l = 0; l < nl; ++l) {
      const Tensor& wl = c.params[static_cast<std::size_t>(c.layers[l].weight)];
      if (c.opt.noise == NoiseKind::Gaussian)
        draw_noisy_weight(c.opt.noise, wl, c.quant[b][l], rng, w.noisy[l], &w.shifted[l]);
      else
        draw_noisy_weight(c.opt.noise, wl, c.quant[b][l], pos, w.noisy[l], &w.shifted[l]);
    }
    std::vector<std::vector<std::size_t>> groups;  // which layers are noisy together
    if (joint) {
      groups.emplace_back();
      for (std::size_t l = 0; l < nl; ++l) groups.back().push_back(l);
    } else {
      for (std::size_t l = 0; l < nl; ++l) groups.push_back({l});
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      std::fill(sq.begin(), sq.end(), 0.0);
      double loss_diff = measure(c, w, groups[g], groups[g], sq);
      if (c.labelled) loss_diff -= first_order_loss(c, w, groups[g]) * n;
      for (const std::size_t t : groups[g])
        s.noise[b * nl + t] = sq[t] / (n * static_cast<double>(c.layers[t].elements));
      if (c.labelled) s.loss[joint ? b : b * nl + g] = loss_diff / n;
    }
  }
  return s;
}

void check_options(const SimOptions& opt) {
  if (opt.bits.empty()) throw UsageError("simulate: no bit widths");
  for (const int b : opt.bits) check_bits(b);
  if (opt.target_rse < 0 || !std::isfinite(opt.target_rse))
    throw UsageError("simulate: --target-rse must be a positive number");
  if (opt.target_rse == 0 && opt.draws < 2) throw UsageError("simulate: --draws must be at least 2");
  if (opt.target_rse > 0 && (opt.min_draws < 2 || opt.max_draws < opt.min_draws))
    throw UsageError("simulate: --max-draws must be at least " +
                     std::to_string(std::max<std::int64_t>(2, opt.min_draws)));
  if (opt.batch < 1) throw UsageError("simulate: batch must be positive");
}

Context make_context(const Graph& graph, const ParamSet& params, const Dataset& data, const SimOptions& opt) {
  Context c{graph, params, opt, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, false};
  for (const auto& [node, weight] : quantized_layers(graph)) {
    const Node& nd = graph.nodes[static_cast<std::size_t>(node)];
    c.layers.push_back({node, weight, nd.output, numel(graph.value_shapes[static_cast<std::size_t>(nd.output)])});
    c.keep_layers.keep.push_back(nd.output);
  }
  std::vector<bool> noisy_value(static_cast<std::size_t>(graph.num_values()), false);  // fed by a quantized layer
  for (const Node& nd : graph.nodes) {                                                 // graph order is topological
    bool fed = false;
    for (const int v : nd.inputs) fed = fed || noisy_value[static_cast<std::size_t>(v)];
    const bool quantized = std::any_of(c.layers.begin(), c.layers.end(), [&](const Layer& l) {
      return graph.nodes[static_cast<std::size_t>(l.node)].output == nd.output;
    });
    for (const Layer& l : c.layers)
      if (graph.nodes[static_cast<std::size_t>(l.node)].output == nd.output) c.upstream_free.push_back(!fed);
    noisy_value[static_cast<std::size_t>(nd.output)] = fed || quantized;
  }
  c.layer_of.assign(static_cast<std::size_t>(graph.num_values()), -1);
  for (std::size_t l = 0; l < c.layers.size(); ++l)
    c.layer_of[static_cast<std::size_t>(c.layers[l].output)] = static_cast<int>(l);
  if (c.layers.empty()) throw Error("simulate: model '" + graph.name + "' has no quantized (Gemm/MatMul/Conv) layer");
  for (const int b : opt.bits) {
    auto& q = c.quant.emplace_back();
    for (const Layer& l : c.layers) {
      const OpType op = graph.nodes[static_cast<std::size_t>(l.node)].op;
      q.push_back(compute_quant_params(params[static_cast<std::size_t>(l.weight)],
                                       {b, opt.granularity, Scheme::Symmetric, weight_channel_axis(op)}));
    }
  }
  c.samples = data.size();
  if (c.samples < 1) throw Error("simulate: the calibration set '" + data.name + "' is empty");
  c.labelled = !data.labels.empty();
  if (c.labelled && static_cast<std::int64_t>(data.labels.size()) != c.samples)
    throw Error("simulate: '" + data.name + "' has " + std::to_string(data.labels.size()) + " labels for " +
                std::to_string(c.samples) + " samples");
  const std::int64_t per = data.inputs.size() / c.samples;
  for (std::int64_t s0 = 0; s0 < c.samples; s0 += opt.batch) {
    const std::int64_t s1 = std::min(c.samples, s0 + opt.batch);
    Shape shape = data.inputs.shape();
    shape[0] = s1 - s0;
    c.inputs.emplace_back(
        shape, std::span<const float>(data.inputs.data() + s0 * per, static_cast<std::size_t>((s1 - s0) * per)));
    if (c.labelled) c.labels.emplace_back(data.labels.begin() + s0, data.labels.begin() + s1);
  }
  return c;
}

// ∂L/∂W of the mean loss over the whole set: chunk k's mean-loss gradient weighted by n_k/N.
// `grads` is the caller's, reused across chunks (fresh tensors per chunk were page faults).
void accumulate_loss_grad(Context& c, Executor& exec, std::size_t k, const Tensor& logits, ParamSet& grads) {
  Tensor seed;
  cross_entropy(logits, c.labels[k], &seed);
  const float weight = static_cast<float>(static_cast<double>(c.labels[k].size()) / static_cast<double>(c.samples));
  for (float& v : seed.values()) v *= weight;
  exec.backward({{c.graph.output, seed}}, c.params, grads, /*input_grad=*/false);
  if (c.loss_grad.empty())
    for (const Layer& l : c.layers) c.loss_grad.emplace_back(c.params[static_cast<std::size_t>(l.weight)].shape());
  for (std::size_t l = 0; l < c.nl(); ++l) {
    const Tensor& g = grads[static_cast<std::size_t>(c.layers[l].weight)];
    for (std::int64_t i = 0; i < g.size(); ++i) c.loss_grad[l][i] += g[i];
  }
}

/// The patch geometry of layer l when its Σ(Δy)² can come from a Gram matrix (a conv without
/// groups where O·K² ≤ N·M/8 and some measurement has a clean input to it); nullopt otherwise.
std::optional<WindowGeom> gram_geom(const Context& c, std::size_t l) {
  const Node& nd = c.graph.nodes[static_cast<std::size_t>(c.layers[l].node)];
  if (!c.opt.gram || nd.op != OpType::Conv) return std::nullopt;
  if (c.opt.mode == NoiseMode::Joint && !c.upstream_free[l]) return std::nullopt;
  const Tensor& w = c.params[static_cast<std::size_t>(c.layers[l].weight)];
  const WindowGeom g = window_geom(nd, c.graph.value_shapes[static_cast<std::size_t>(nd.inputs[0])],
                                   c.graph.value_shapes[static_cast<std::size_t>(nd.output)], w.dim(2), w.dim(3));
  const double K = static_cast<double>(w.size() / w.dim(0)), O = static_cast<double>(w.dim(0));
  const double streamed = static_cast<double>(c.samples) * static_cast<double>(c.layers[l].elements);
  if (g.groups != 1 || O * K * K > streamed / 8) return std::nullopt;
  return g;
}

/// G += Σ over the chunk's samples and output positions of patch·patchᵀ, for layer l with input x.
void add_gram(const WindowGeom& g, const Tensor& x, std::vector<double>& gram) {
  const std::int64_t K = g.C * g.kh * g.kw, P = g.P();
  std::vector<float> col(static_cast<std::size_t>(K * P));
  Eigen::Map<Eigen::MatrixXd> G(gram.data(), K, K);
  for (std::int64_t s = 0; s < x.dim(0); ++s) {
    im2col(g, x.data() + s * g.C * g.H * g.W, col.data());
    const Eigen::MatrixXd patches = Eigen::Map<const MatrixRM>(col.data(), K, P).cast<double>();
    G.noalias() += patches * patches.transpose();
  }
}

// The clean forward: reference outputs, their power, and the clean loss per chunk. It runs on a
// worker of the pool, whose buffers the draws then reuse (no second set of batch-sized buffers).
void clean_pass(Context& c, WorkerPool& pool) {
  auto worker = pool.acquire();
  Executor& exec = worker->exec;
  c.signal_power.assign(c.nl(), 0.0);
  ParamSet grads;
  std::vector<std::optional<WindowGeom>> geoms;
  c.gram.assign(c.nl(), {});
  for (std::size_t l = 0; l < c.nl(); ++l) {
    geoms.push_back(gram_geom(c, l));
    if (geoms.back())
      c.gram[l].assign(static_cast<std::size_t>(std::pow(geoms.back()->C * geoms.back()->kh * geoms.back()->kw, 2)),
                       0.0);
  }
  for (std::size_t k = 0; k < c.inputs.size(); ++k) {
    const Tensor& logits = exec.forward(c.inputs[k], c.params);
    for (std::size_t l = 0; l < c.nl(); ++l)
      if (geoms[l]) {
        const int in = c.graph.nodes[static_cast<std::size_t>(c.layers[l].node)].inputs[0];
        add_gram(*geoms[l], in == 0 ? c.inputs[k] : exec.value(in), c.gram[l]);
      }
    c.clean_loss.push_back(c.labelled ? chunk_loss(c, k, logits) : 0.0);
    if (c.labelled) accumulate_loss_grad(c, exec, k, logits, grads);
    auto& outs = c.clean.emplace_back(c.nl());
    for (std::size_t l = 0; l < c.nl(); ++l) {
      const Tensor& y = exec.value(c.layers[l].output);
      const float* py = y.data();
      c.signal_power[l] += lane_sum(y.size(), [&](std::int64_t i) { return static_cast<double>(py[i]) * py[i]; });
      if (c.gram[l].empty()) outs[l] = y;  // a Gram layer's outputs are never compared: not kept
    }
  }
  for (std::size_t l = 0; l < c.nl(); ++l)
    c.signal_power[l] /= static_cast<double>(c.samples) * static_cast<double>(c.layers[l].elements);
  pool.release(std::move(worker));
}

// Draws [d0, d1) in parallel into stats[d]; each task borrows a worker.
void run_draws(const Context& c, WorkerPool& pool, std::int64_t d0, std::int64_t d1, std::vector<DrawStats>& stats) {
  stats.resize(static_cast<std::size_t>(d1));
  tbb::parallel_for(
      tbb::blocked_range<std::int64_t>(d0, d1, 1),
      [&](const tbb::blocked_range<std::int64_t>& r) {
        for (std::int64_t d = r.begin(); d < r.end(); ++d) {
          auto w = pool.acquire();
          stats[static_cast<std::size_t>(d)] = run_draw(c, *w, d);
          pool.release(std::move(w));
        }
      },
      tbb::simple_partitioner());
}

// Column `index` of every draw's `field`, in draw order (the fixed reduction order).
std::vector<double> column(const std::vector<DrawStats>& stats, std::vector<double> DrawStats::*field,
                           std::size_t index) {
  std::vector<double> xs;
  xs.reserve(stats.size());
  for (const DrawStats& s : stats) xs.push_back((s.*field)[index]);
  return xs;
}

SimResult aggregate(const Context& c, const std::vector<DrawStats>& stats) {
  const std::size_t nl = c.nl();
  const bool joint = c.opt.mode == NoiseMode::Joint;
  SimResult r;
  r.draws = static_cast<std::int64_t>(stats.size());
  r.samples = c.samples;
  r.clean_loss = std::numeric_limits<double>::quiet_NaN();
  if (c.labelled) {
    r.clean_loss = 0;
    for (const double l : c.clean_loss) r.clean_loss += l;
    r.clean_loss /= static_cast<double>(c.samples);
  }
  for (std::size_t b = 0; b < c.opt.bits.size(); ++b) {
    BitsResult& br = r.results.emplace_back();
    br.bits = c.opt.bits[b];
    for (std::size_t l = 0; l < nl; ++l) {
      LayerResult& lr = br.layers.emplace_back();
      const Node& nd = c.graph.nodes[static_cast<std::size_t>(c.layers[l].node)];
      lr.index = static_cast<int>(l);
      lr.node = c.layers[l].node;
      lr.name = nd.name;
      lr.op = nd.op;
      double var = 0;
      for (const float step : c.quant[b][l].step) var += static_cast<double>(step) * step / 12.0;
      lr.weight_noise_var = var / static_cast<double>(c.quant[b][l].step.size());
      lr.step = std::sqrt(12.0 * lr.weight_noise_var);
      lr.signal_power = c.signal_power[l];
      lr.noise = estimate_mean(column(stats, &DrawStats::noise, b * nl + l), c.opt.confidence);
      lr.sqnr_db = 10.0 * std::log10(lr.signal_power / lr.noise.mean);
      if (c.labelled && !joint)
        lr.loss_increase = estimate_mean(column(stats, &DrawStats::loss, b * nl + l), c.opt.confidence);
      r.max_rse = std::max(r.max_rse, lr.noise.rse());
    }
    if (!c.labelled) continue;
    std::vector<double> total(stats.size(), 0.0);  // isolated: Σ_L ℓ_{d,L} per draw
    for (std::size_t d = 0; d < stats.size(); ++d)
      for (std::size_t l = 0; l < (joint ? 1 : nl); ++l) total[d] += stats[d].loss[joint ? b : b * nl + l];
    br.loss_increase = estimate_mean(total, c.opt.confidence);
  }
  return r;
}

}  // namespace

SimResult simulate(const Graph& graph, const ParamSet& params, const Dataset& data, const SimOptions& opt) {
  check_options(opt);
  Context c = make_context(graph, params, data, opt);
  WorkerPool pool(c);
  clean_pass(c, pool);
  std::vector<DrawStats> stats;
  if (opt.target_rse == 0) {
    run_draws(c, pool, 0, opt.draws, stats);
    return aggregate(c, stats);
  }
  // Rounds: the RSE falls as 1/√D, so D·(rse/target)² draws should reach the target; ask for 10%
  // more, at least 50% more than so far (a noisy RSE estimate must not stall the loop), capped.
  std::int64_t next = std::min(opt.min_draws, opt.max_draws);
  for (;;) {
    run_draws(c, pool, static_cast<std::int64_t>(stats.size()), next, stats);
    SimResult r = aggregate(c, stats);
    if (opt.progress) opt.progress(r.draws, r.max_rse);
    r.converged = r.max_rse < opt.target_rse;
    if (r.converged || r.draws >= opt.max_draws) return r;
    const double want = static_cast<double>(r.draws) * std::pow(r.max_rse / opt.target_rse, 2) * 1.1;
    const double grow = std::max(want, 1.5 * static_cast<double>(r.draws));
    next = static_cast<std::int64_t>(std::min(grow, static_cast<double>(opt.max_draws)));
  }
}

}  // namespace qreg::sim
