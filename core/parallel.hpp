// Thread control: --threads N caps TBB's worker count for the lifetime of a ThreadScope.
#pragma once

#include <tbb/global_control.h>

#include <memory>

namespace qreg {

class ThreadScope {
 public:
  /// threads <= 0 means "all hardware threads".
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  /// Worker threads in force.
  int threads() const { return threads_; }

 private:
  std::unique_ptr<tbb::global_control> control_;
  int threads_;
};

}  // namespace qreg
