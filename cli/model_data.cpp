#include "cli/model_data.hpp"

#include "core/error.hpp"
#include "core/models.hpp"
#include "core/onnx_import.hpp"

namespace qreg::cli {

void add_model_options(CLI::App& cmd, ModelOptions& opt) {
  cmd.add_option("--model", opt.model, "Model: an ONNX file, or a built-in (mlp = 784-256-256-10, cnn)")->required();
  cmd.add_option("--model-seed", opt.model_seed, "Initialisation seed of a built-in model")->capture_default_str();
}

void add_data_options(CLI::App& cmd, DataArgs& opt) {
  cmd.add_option("--data", opt.data,
                 "Data: fashion-mnist[:train|test], PATH.npy (float32 N×C×H×W or N×F), or "
                 "synthetic:n=N,features=F,classes=C,seed=S")
      ->capture_default_str();
  cmd.add_option("--data-dir", opt.data_dir,
                 "Fashion-MNIST folder (default $QREG_DATA_DIR or " + std::string(kDefaultDataDir) + ")");
  cmd.add_option("--labels", opt.labels, "Labels for a .npy data file (int64 .npy)");
  cmd.add_option("--samples", opt.samples, "Use the first N samples (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

Graph load_model(const ModelOptions& opt) {
  if (opt.model == "mlp") return make_mlp({784, 256, 256, 10}, opt.model_seed);
  if (opt.model == "cnn") return make_cnn(opt.model_seed);
  if (opt.model.size() < 5 || opt.model.substr(opt.model.size() - 5) != ".onnx")
    throw UsageError("--model: '" + opt.model + "' is neither an .onnx file nor a built-in model (mlp, cnn)");
  return import_onnx(opt.model);
}

Dataset load_model_data(const DataArgs& opt, const Graph& graph) {
  DataOptions d;
  d.data_dir = opt.data_dir;
  d.labels_path = opt.labels;
  d.limit = opt.samples;
  Dataset data = load_dataset(opt.data, d);
  Shape shape{data.size()};
  shape.insert(shape.end(), graph.input_shape.begin(), graph.input_shape.end());
  if (numel(shape) != data.inputs.size())
    throw Error("data '" + opt.data + "': samples of shape " + to_string(data.inputs.shape()) +
                " do not fit the model input " + to_string(graph.input_shape));
  data.inputs.reshape(std::move(shape));
  return data;
}

}  // namespace qreg::cli
