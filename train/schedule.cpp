#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/named_enum.hpp"

namespace qreg {

namespace {
constexpr EnumName<ScheduleKind> kSchedules[] = {
    {ScheduleKind::Constant, "constant"}, {ScheduleKind::Step, "step"}, {ScheduleKind::Cosine, "cosine"}};
}  // namespace

ScheduleKind parse_schedule(std::string_view text) { return parse_enum(text, kSchedules, "schedule"); }
const char* schedule_name(ScheduleKind kind) { return enum_name(kind, kSchedules); }

double learning_rate(const ScheduleConfig& cfg, double base_lr, int epoch, int epochs, std::int64_t step,
                     std::int64_t steps_per_epoch) {
  if (cfg.kind == ScheduleKind::Step) {
    const int every = cfg.step_epochs > 0 ? cfg.step_epochs : std::max(1, epochs / 3);
    return base_lr * std::pow(cfg.gamma, epoch / every);
  }
  if (cfg.kind == ScheduleKind::Cosine) {
    const double total = static_cast<double>(epochs) * static_cast<double>(steps_per_epoch);
    const double t = static_cast<double>(epoch) * static_cast<double>(steps_per_epoch) + static_cast<double>(step);
    const double pi = 3.141592653589793;
    return cfg.min_lr + (base_lr - cfg.min_lr) * 0.5 * (1.0 + std::cos(pi * t / std::max(1.0, total)));
  }
  return base_lr;
}

}  // namespace qreg
