#include "core/parallel.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <Eigen/Core>

namespace qreg {

ThreadScope::ThreadScope(int threads) : threads_(threads > 0 ? threads : tbb::info::default_concurrency()) {
  control_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                   static_cast<std::size_t>(threads_));
  // Eigen's own threading is off (no OpenMP); TBB parallelises across batches and tiles.
}

ThreadScope::~ThreadScope() = default;

}  // namespace qreg
