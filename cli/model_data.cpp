// Until the datasets module (core/data_spec.hpp) is merged, only `synthetic[:key=value,...]`
// specs are understood, by a stand-in that follows docs/datasets.md's keys (n, features, shape,
// classes, seed) with N(0, 1) inputs and uniformly random labels; with the module, every spec
// goes to load_dataset.
#include "cli/model_data.hpp"

#include <string_view>

#include "core/error.hpp"
#include "core/models.hpp"
#include "core/onnx_import.hpp"
#include "core/rng.hpp"

#if __has_include("core/data_spec.hpp")
#include "core/data_spec.hpp"
#define QREG_HAVE_DATA_SPEC 1
#else
#define QREG_HAVE_DATA_SPEC 0
#endif

namespace qreg::cli {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

#if !QREG_HAVE_DATA_SPEC
std::int64_t to_int(const std::string& key, const std::string& value) {
  try {
    std::size_t used = 0;
    const long long v = std::stoll(value, &used);
    if (used == value.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("data spec: '" + key + "=" + value + "' is not a non-negative integer");
}

Dataset synthetic_standin(const std::string& spec, std::int64_t samples) {
  std::int64_t n = 1000, classes = 10;
  std::uint64_t seed = 0;
  Shape shape{784};
  std::string rest = spec.size() > 10 ? spec.substr(10) : "";
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw UsageError("data spec '" + spec + "': expected key=value, got '" + item + "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "n")
      n = to_int(key, value);
    else if (key == "classes")
      classes = to_int(key, value);
    else if (key == "seed")
      seed = static_cast<std::uint64_t>(to_int(key, value));
    else if (key == "features")
      shape = {to_int(key, value)};
    else if (key == "shape") {
      shape.clear();
      for (std::size_t p = 0; p <= value.size();) {
        const auto x = std::min(value.find('x', p), value.size());
        shape.push_back(to_int(key, value.substr(p, x - p)));
        p = x + 1;
      }
    } else if (key != "hidden") {
      throw UsageError("data spec '" + spec + "': unknown key '" + key + "'");
    }
  }
  if (samples > 0) n = std::min(n, samples);
  if (n < 1 || classes < 2) throw UsageError("data spec '" + spec + "': needs n >= 1 and classes >= 2");
  Dataset d;
  d.name = spec;
  d.num_classes = static_cast<int>(classes);
  Shape full = shape;
  full.insert(full.begin(), n);
  d.inputs = Tensor(full);
  RandomStream rs(seed, 0);
  for (float& v : d.inputs.values()) v = static_cast<float>(rs.normal());
  RandomStream rl(seed, 1);
  for (std::int64_t i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rl.next_u32() % classes));
  return d;
}
#endif

}  // namespace

Graph load_model(const std::string& spec, std::uint64_t model_seed) {
  if (spec == "mlp") return make_mlp({784, 256, 256, 10}, model_seed);
  if (spec == "cnn") return make_cnn(model_seed);
  if (ends_with(spec, ".onnx")) return import_onnx(spec);
  throw UsageError("--model '" + spec + "': expected mlp, cnn or an .onnx file");
}

Dataset load_calibration(const std::string& spec, const std::string& data_dir, std::int64_t samples,
                         const Graph& graph) {
  if (samples < 0) throw UsageError("--samples must be non-negative");
#if QREG_HAVE_DATA_SPEC
  DataOptions opts;
  opts.data_dir = data_dir;
  opts.limit = samples;
  Dataset d = load_dataset(spec, opts);
#else
  (void)data_dir;
  if (spec != "synthetic" && spec.rfind("synthetic:", 0) != 0)
    throw UsageError("--data '" + spec +
                     "': this build reads only synthetic[:n=..,features=..|shape=..,classes=..,seed=..]");
  Dataset d = synthetic_standin(spec, samples);
#endif
  if (d.size() < 1) throw Error(spec + ": no samples");
  const std::int64_t per = d.inputs.size() / d.size();
  if (per != numel(graph.input_shape))
    throw Error(spec + ": samples of " + std::to_string(per) + " values do not fit model input " +
                to_string(graph.input_shape));
  Shape shape = graph.input_shape;
  shape.insert(shape.begin(), d.size());
  d.inputs.reshape(shape);
  return d;
}

}  // namespace qreg::cli
