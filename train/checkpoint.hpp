// Training checkpoints: one binary file holding a JSON header (format, config, epoch, status,
// optimizer step count, metrics so far) and the raw float32 tensors (shadow parameters, LSQ's
// learned steps, then optimizer state), written atomically. The RNG position is the epoch: every random stream of
// epoch e derives from (seed, e), so no generator state needs saving.
//   "QREGCKP1" | u64 header bytes | header JSON | u64 tensor count |
//   per tensor: u32 rank, rank × i64 dims, numel × f32 | "QREGEND1"      (host byte order)
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "train/trainer.hpp"

namespace qreg {

struct Checkpoint {
  nlohmann::json config;  // to_json(TrainConfig) of the run
  TrainState state;
};

/// Writes `ckpt` to `path` atomically (Error naming the file on failure).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt);
/// Reads a checkpoint; Error naming the file when it is missing, truncated or not a checkpoint.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace qreg
