// Learning-rate schedules: constant, step decay and cosine annealing (per step).
#pragma once

#include <cstdint>
#include <string_view>

namespace qreg {

enum class ScheduleKind { Constant, Step, Cosine };
/// "constant" | "step" | "cosine"; UsageError otherwise.
ScheduleKind parse_schedule(std::string_view text);
const char* schedule_name(ScheduleKind kind);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Constant;
  int step_epochs = 0;  // step: decay every this many epochs (0: max(1, epochs/3))
  double gamma = 0.1;   // step: factor per decay
  double min_lr = 0.0;  // cosine: the floor reached after the last step
};

/// Learning rate of step `step` (0-based, of `steps_per_epoch`) in epoch `epoch` (0-based, of `epochs`):
///   step:   base·γ^⌊epoch/step_epochs⌋
///   cosine: min + (base − min)·½(1 + cos(π·t/T)), t = epoch·steps_per_epoch + step, T = epochs·steps_per_epoch.
double learning_rate(const ScheduleConfig& cfg, double base_lr, int epoch, int epochs, std::int64_t step,
                     std::int64_t steps_per_epoch);

}  // namespace qreg
