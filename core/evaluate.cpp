#include "core/evaluate.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/executor.hpp"

namespace qreg {
namespace {

void check_data(const Graph& graph, const Dataset& data) {
  if (data.labels.empty()) throw Error("evaluate: dataset '" + data.name + "' has no labels");
  Shape sample(data.inputs.shape().begin() + 1, data.inputs.shape().end());
  if (numel(sample) != numel(graph.input_shape))
    throw Error("evaluate: dataset '" + data.name + "' has samples of shape " + to_string(sample) + " but model '" +
                graph.name + "' takes " + to_string(graph.input_shape));
}

/// Samples [begin, end) of the inputs as a batch tensor shaped [n, graph input...].
Tensor slice_batch(const Graph& graph, const Tensor& inputs, std::int64_t begin, std::int64_t end) {
  const std::int64_t per = numel(graph.input_shape);
  Shape shape{end - begin};
  shape.insert(shape.end(), graph.input_shape.begin(), graph.input_shape.end());
  return Tensor(std::move(shape),
                std::span<const float>(inputs.data() + begin * per, static_cast<std::size_t>((end - begin) * per)));
}

struct ChunkResult {
  double loss_sum = 0.0;
  std::int64_t correct = 0;
};

}  // namespace

EvalResult evaluate(const Graph& graph, const ParamSet& params, const Dataset& data, std::int64_t batch) {
  check_data(graph, data);
  QREG_ASSERT(batch > 0, "evaluate: batch must be positive");
  const std::int64_t n = data.size();
  const std::int64_t chunks = (n + batch - 1) / batch;
  std::vector<ChunkResult> results(static_cast<std::size_t>(chunks));
  tbb::enumerable_thread_specific<std::unique_ptr<Executor>> executors;
  ForwardOptions logits_only;  // inference that keeps only the output (lets the executor fuse)
  logits_only.keep = {graph.output};
  // Isolated: the forward runs nested parallel loops, and a thread waiting for them must not pick
  // up another chunk here, which would reuse this thread's executor mid-forward.
  tbb::parallel_for(std::int64_t{0}, chunks, [&](std::int64_t c) {
    tbb::this_task_arena::isolate([&] {
      auto& exec = executors.local();
      if (!exec) exec = std::make_unique<Executor>(graph);
      const std::int64_t begin = c * batch, end = std::min(n, begin + batch);
      const Tensor& logits = exec->forward(slice_batch(graph, data.inputs, begin, end), params, logits_only);
      const std::vector<std::int32_t> labels(data.labels.begin() + begin, data.labels.begin() + end);
      auto& r = results[static_cast<std::size_t>(c)];
      r.loss_sum = cross_entropy(logits, labels) * static_cast<double>(end - begin);
      const auto scores = logits.matrix(end - begin);
      for (std::int64_t i = 0; i < end - begin; ++i) {
        Eigen::Index best = 0;
        scores.row(i).maxCoeff(&best);
        r.correct += best == labels[static_cast<std::size_t>(i)];
      }
    });
  });
  EvalResult out;
  out.samples = n;
  double loss = 0.0;
  std::int64_t correct = 0;
  for (const auto& r : results) {  // fixed order: independent of scheduling
    loss += r.loss_sum;
    correct += r.correct;
  }
  out.loss = n ? loss / static_cast<double>(n) : 0.0;
  out.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  return out;
}

}  // namespace qreg
