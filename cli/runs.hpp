// The option structs and run functions of the commands that `qreg reproduce` calls in-process
// (noise, train, theory, simulate, validate). Each run_<cmd> is what its CLI callback runs; the
// defaults here are the defaults of the command line.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "cli/command.hpp"
#include "cli/model_data.hpp"

namespace qreg::cli {

struct NoiseOptions {
  CommonOptions common;
  std::string dist = "normal";
  std::string bits = "16,12,8,6,4,3,2";
  std::int64_t size = 1000000;
  std::string granularity = "tensor";
  std::int64_t channels = 64;
  std::string scheme = "symmetric";
};

struct TrainOptions {
  std::string model;
  std::string widths = "784,256,256,10";  // built-in mlp
  std::string data = "fashion-mnist:train", val_data = "fashion-mnist:test", data_dir;
  std::int64_t train_size = 0, val_size = 0;
  std::string bits = "32,8", seeds = "1", mode = "qat", granularity = "tensor";
  std::string layer_bits;  // "LAYER:BITS,...": per-layer overrides of the quantized runs' bits
  std::string optimizer = "sgd", schedule = "constant";
  int epochs = 10;
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
  std::int64_t batch = 128, probe_size = 256;
  int act_bits = 32;     // activation quantization after every Relu, 2..16; 32 = off
  double dropout = 0.0;  // dropout ratio after every hidden Relu, [0, 1); 0 = off
  std::string out_dir;
  bool resume = false;
  bool predict = true;  // theory's first-order noise prediction per epoch (cli/noise_predictor.hpp)
  CommonOptions common;
};

struct TheoryOptions {
  CommonOptions common;
  ModelOptions model;
  DataArgs data;
  std::string bits = "8,4";
  std::string method = "first-order";
  std::string granularity = "tensor";
  std::string mode = "joint";
  int probes = 16;
  double target_sqnr = std::numeric_limits<double>::quiet_NaN();  // dB; NaN = not asked
};

struct SimulateOptions {
  CommonOptions common;
  ModelOptions model;
  DataArgs data;
  std::string bits = "8,4";
  std::int64_t draws = 64;
  double target_rse = 0;  // > 0: draw until every layer's RSE is below it (up to max_draws)
  std::int64_t max_draws = 4096;
  std::string noise = "uniform";
  std::string mode = "joint";
  std::string granularity = "tensor";
  std::int64_t batch = 64;  // sim::SimOptions::batch
  double confidence = 0.95;
};

struct ValidateOptions {
  CommonOptions common;
  std::string predicted, measured, baseline;
  double tolerance = 0.10;
  double sigmas = 5.0;
  bool no_loss = false;
};

struct PlotOptions {
  CommonOptions common;  // format: of the list of figures written (stdout)
  std::string in;        // a result file or a folder searched recursively
  std::string out;       // folder for NAME.gp and NAME.<image>
  std::string image = "png";
  std::string size = "1200x800";
};

/// Each returns the command's exit status (validate: 1 when a comparison disagrees) and throws
/// Error / UsageError on bad input, as on the command line.
int run_noise(const NoiseOptions& opt, Output& io);
int run_train(const TrainOptions& opt, Output& io);
int run_theory(const TheoryOptions& opt, Output& io);
int run_simulate(const SimulateOptions& opt, Output& io);
int run_validate(const ValidateOptions& opt, Output& io);
int run_plot(const PlotOptions& opt, Output& io);

}  // namespace qreg::cli
