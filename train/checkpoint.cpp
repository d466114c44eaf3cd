#include "train/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qreg {
using nlohmann::json;

namespace {

constexpr char kMagic[] = "QREGCKP1";
constexpr char kEnd[] = "QREGEND1";

template <class T>
void put(std::ostream& os, T v) {
  os.write(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_tensor(std::ostream& os, const Tensor& t) {
  put(os, static_cast<std::uint32_t>(t.rank()));
  for (std::int64_t d : t.shape()) put(os, d);
  os.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size() * 4));
}

class Reader {
 public:
  Reader(std::istream& is, std::string file) : is_(is), file_(std::move(file)) {}
  void bytes(void* dst, std::size_t n) {
    if (!is_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n)))
      throw Error(file_ + ": truncated training checkpoint");
  }
  template <class T>
  T get() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  Tensor tensor() {
    const auto rank = get<std::uint32_t>();
    if (rank > 8) throw Error(file_ + ": corrupt training checkpoint (tensor rank " + std::to_string(rank) + ")");
    Shape shape(rank);
    for (auto& d : shape) {
      d = get<std::int64_t>();
      if (d < 0 || d > (std::int64_t{1} << 32)) throw Error(file_ + ": corrupt training checkpoint (dimension)");
    }
    Tensor t(shape);
    bytes(t.data(), static_cast<std::size_t>(t.size()) * 4);
    return t;
  }

 private:
  std::istream& is_;
  std::string file_;
};

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt) {
  const TrainState& s = ckpt.state;
  json metrics = json::array();
  for (const EpochMetrics& m : s.metrics) metrics.push_back(to_json(m));
  const std::string header = json{
      {"format", "qreg-train-checkpoint"},
      {"config", ckpt.config},
      {"epoch", s.epoch},
      {"status", run_status_name(s.status)},
      {"note", s.note},
      {"optimizer_steps", s.optimizer_steps},
      {"params", s.params.size()},
      {"lsq_steps", s.lsq_steps.size()},
      {"metrics", metrics}}.dump();
  write_file_atomic(path, [&](std::ostream& os) {
    os.write(kMagic, 8);
    put(os, static_cast<std::uint64_t>(header.size()));
    os.write(header.data(), static_cast<std::streamsize>(header.size()));
    put(os, static_cast<std::uint64_t>(s.params.size() + s.lsq_steps.size() + s.optimizer_state.size()));
    for (const Tensor& t : s.params) put_tensor(os, t);
    for (const Tensor& t : s.lsq_steps) put_tensor(os, t);
    for (const Tensor& t : s.optimizer_state) put_tensor(os, t);
    os.write(kEnd, 8);
  });
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream is(path, std::ios::binary);
  if (!is) throw Error(file + ": cannot open training checkpoint");
  Reader r(is, file);
  char magic[8];
  r.bytes(magic, 8);
  if (std::memcmp(magic, kMagic, 8) != 0) throw Error(file + ": not a qreg training checkpoint");
  const auto header_size = r.get<std::uint64_t>();
  if (header_size > (std::uint64_t{1} << 30)) throw Error(file + ": corrupt training checkpoint (header size)");
  std::string header(header_size, '\0');
  r.bytes(header.data(), header.size());
  Checkpoint c;
  try {
    const json h = json::parse(header);
    c.config = h.at("config");
    c.state.epoch = h.at("epoch").get<int>();
    c.state.status = parse_run_status(h.at("status").get<std::string>());
    c.state.note = h.at("note").get<std::string>();
    c.state.optimizer_steps = h.at("optimizer_steps").get<std::int64_t>();
    for (const json& m : h.at("metrics")) c.state.metrics.push_back(epoch_metrics_from_json(m));
    const auto params = h.at("params").get<std::size_t>();
    const auto steps = params + h.value("lsq_steps", std::size_t{0});  // absent before LSQ
    const auto count = r.get<std::uint64_t>();
    if (count < steps || count > (1u << 24)) throw Error("tensor count");
    for (std::uint64_t i = 0; i < count; ++i)
      (i < params ? c.state.params : i < steps ? c.state.lsq_steps : c.state.optimizer_state).push_back(r.tensor());
  } catch (const json::exception& e) {
    throw Error(file + ": corrupt training checkpoint header (" + e.what() + ")");
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(file, 0) == 0 ? what : file + ": corrupt training checkpoint (" + what + ")");
  }
  r.bytes(magic, 8);
  if (std::memcmp(magic, kEnd, 8) != 0) throw Error(file + ": corrupt training checkpoint (no end marker)");
  return c;
}

}  // namespace qreg
