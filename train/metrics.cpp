#include "train/metrics.hpp"

#include <numeric>
#include <string>

namespace qreg {
using nlohmann::json;

namespace {

json layer_json(const LayerProbe& p) {
  return {{"index", p.index},
          {"name", p.name},
          {"op", p.op},
          {"bits", p.bits},
          {"step", p.step.size() == 1 ? json(p.step[0]) : json(p.step)},
          {"weight_noise_var", p.weight_noise_var},
          {"noise_var", p.noise_var},
          {"predicted_noise_var", p.predicted_noise_var ? json(*p.predicted_noise_var) : json(nullptr)},
          {"weight_min", p.weight_min},
          {"weight_max", p.weight_max}};
}

LayerProbe layer_from_json(const json& j) {
  LayerProbe p;
  p.index = j.at("index").get<int>();
  p.name = j.at("name").get<std::string>();
  p.op = j.at("op").get<std::string>();
  p.bits = j.value("bits", 32);  // absent in checkpoints written before per-layer bits
  const json& s = j.at("step");
  p.step = s.is_array() ? s.get<std::vector<float>>() : std::vector<float>{s.get<float>()};
  p.weight_noise_var = j.at("weight_noise_var").get<double>();
  p.noise_var = j.at("noise_var").get<double>();
  if (!j.at("predicted_noise_var").is_null()) p.predicted_noise_var = j.at("predicted_noise_var").get<double>();
  p.weight_min = j.at("weight_min").get<float>();
  p.weight_max = j.at("weight_max").get<float>();
  return p;
}

double mean_step(const std::vector<float>& step) {
  return step.empty() ? 0.0 : std::accumulate(step.begin(), step.end(), 0.0) / static_cast<double>(step.size());
}

}  // namespace

json to_json(const EpochMetrics& m) {
  json layers = json::array();
  for (const LayerProbe& p : m.layers) layers.push_back(layer_json(p));
  return {{"epoch", m.epoch},
          {"lr", m.lr},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"batch_loss", m.batch_loss},
          {"val_loss", m.val_loss},
          {"val_accuracy", m.val_accuracy},
          {"gap", m.gap()},
          {"accuracy_gap", m.accuracy_gap()},
          {"seconds", m.seconds},
          {"layers", layers}};
}

EpochMetrics epoch_metrics_from_json(const json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.lr = j.at("lr").get<double>();
  m.train_loss = j.at("train_loss").get<double>();
  m.train_accuracy = j.at("train_accuracy").get<double>();
  m.batch_loss = j.at("batch_loss").get<double>();
  m.val_loss = j.at("val_loss").get<double>();
  m.val_accuracy = j.at("val_accuracy").get<double>();
  m.seconds = j.at("seconds").get<double>();
  for (const json& l : j.at("layers")) m.layers.push_back(layer_from_json(l));
  return m;
}

Table metrics_table(const std::vector<EpochMetrics>& epochs) {
  Table t;
  t.precision = 8;
  t.columns = {"epoch",    "lr",           "train_loss", "train_accuracy", "batch_loss",
               "val_loss", "val_accuracy", "gap",        "accuracy_gap",   "seconds"};
  const std::size_t layers = epochs.empty() ? 0 : epochs.front().layers.size();
  for (std::size_t l = 0; l < layers; ++l)
    for (const char* c :
         {"bits", "step", "weight_noise_var", "noise_var", "predicted_noise_var", "weight_min", "weight_max"})
      t.columns.push_back("l" + std::to_string(l) + "_" + c);
  // Rows are built by emplace_back, not from an initializer list of Cells: GCC 12 warns falsely
  // (-Wmaybe-uninitialized) about copying variant<..., string> out of one.
  for (const EpochMetrics& m : epochs) {
    std::vector<Cell> row;
    row.emplace_back(std::int64_t{m.epoch});
    for (double v : {m.lr, m.train_loss, m.train_accuracy, m.batch_loss, m.val_loss, m.val_accuracy, m.gap(),
                     m.accuracy_gap(), m.seconds})
      row.emplace_back(v);
    for (const LayerProbe& p : m.layers) {
      row.emplace_back(std::int64_t{p.bits});
      row.push_back(mean_step(p.step));
      row.push_back(p.weight_noise_var);
      row.push_back(p.noise_var);
      if (p.predicted_noise_var)
        row.emplace_back(*p.predicted_noise_var);
      else
        row.emplace_back(std::monostate{});
      row.push_back(double{p.weight_min});
      row.push_back(double{p.weight_max});
    }
    t.add_row(std::move(row));
  }
  return t;
}

void write_metrics_files(const std::filesystem::path& dir, const RunContext& context, const json& run,
                         const std::vector<EpochMetrics>& epochs) {
  Report report;
  report.context = context;
  report.table = metrics_table(epochs);
  json list = json::array();
  for (const EpochMetrics& m : epochs) list.push_back(to_json(m));
  report.document = {{"run", run}, {"epochs", list}};
  write_report_file(report, Format::Csv, (dir / "metrics.csv").string());
  write_report_file(report, Format::Json, (dir / "metrics.json").string());
}

}  // namespace qreg
