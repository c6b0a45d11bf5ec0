// HDF5 checkpoints (see checkpoint.h).
#include "run/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

#include "core/host.h"
#include "core/log.h"
#include "core/random.h"
#include "io/h5_util.h"
#include "run/environment.h"

namespace fs = std::filesystem;

namespace alexnet {

namespace {

constexpr const char* kFormat = "alexnet-mpi checkpoint";
// 2: fc6's weights read each tower's pool5 in (C, H, W) order whatever the activation layout
// (version 1 used the layout's memory order, so its fc6 weights depend on the layout).
constexpr int64_t kFormatVersion = 2;

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error("cannot open " + path + " to sync it");
  const int r = ::fsync(fd);
  ::close(fd);
  if (r != 0 && !directory) throw Error("fsync of " + path + " failed (disk full or I/O error?)");
}

const char* lrn_name(const LrnSpec& l) { return l.convention == LrnConvention::paper ? "paper" : "caffe"; }

}  // namespace

uint64_t checksum(const float* data, int64_t n) {
  uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    sum += mix64((static_cast<uint64_t>(i) << 32) ^ bits);
  }
  return sum;
}

std::string checkpoint_path(const std::string& dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "ckpt-%08lld.h5", static_cast<long long>(step));
  return (fs::path(dir) / name).string();
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  static const std::regex re(R"(ckpt-(\d+)\.h5)");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (e.is_regular_file(ec) && std::regex_match(name, m, re)) found.emplace_back(std::stoll(m[1]), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::string save_checkpoint(const std::string& dir, const AlexNet& net, const TrainState& state, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create checkpoint folder " + dir + ": " + ec.message());
  const std::string final_path = checkpoint_path(dir, state.step);
  std::string tmp_name = fs::path(final_path).filename().string();
  tmp_name.insert(0, 1, '.');
  tmp_name += ".tmp";
  const std::string tmp = (fs::path(dir) / tmp_name).string();
  const ModelOptions& o = net.options();
  try {
    h5::Handle f = h5::create_file(tmp);
    h5::set_attr(f, "format", std::string(kFormat));
    h5::set_attr(f, "format_version", kFormatVersion);
    h5::set_attr(f, "code_version", code_version());
    h5::set_attr(f, "step", state.step);
    h5::set_attr(f, "samples_seen", state.samples_seen);
    h5::set_attr(f, "dataset_size", state.dataset_size);
    h5::set_attr(f, "epoch", state.epoch());
    h5::set_attr(f, "input_size", o.config.input_size);
    h5::set_attr(f, "classes", o.config.classes);
    h5::set_attr(f, "width", o.config.width);
    h5::set_attr(f, "lrn", std::string(lrn_name(o.config.lrn)));
    h5::set_attr(f, "batch", o.batch);
    h5::set_attr(f, "seed", o.seed);
    h5::set_attr(f, "init", std::string(init_recipe_name(o.init)));
    if (!state.options.empty()) h5::set_attr(f, "options", state.options);
    h5::write_u64s(f, "rng", state.rng);
    for (int t = 0; t < AlexNet::kTowers; ++t) {
      const TowerParams& p = net.params(t);
      h5::Handle g = h5::create_group(f, "tower" + std::to_string(t));
      for (auto [name, stored] : {std::pair{"values", p.all_values()}, std::pair{"momentum", p.all_momentum()}}) {
        OwnedTensor staging;  // GPU towers: a host copy
        const Tensor tensor = host_view(stored, staging);
        h5::write_floats(g, name, tensor.f32(), tensor.numel());
        h5::set_attr(g, std::string(name) + "_checksum", checksum(tensor.f32(), tensor.numel()));
      }
    }
    H5_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL));
    f.close(tmp);
    fsync_path(tmp, false);
  } catch (const Error& e) {
    fs::remove(tmp, ec);
    throw Error("writing checkpoint " + final_path + " failed (the previous checkpoints are intact): " + e.what());
  }
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    fs::remove(tmp, ec);
    throw Error("cannot rename " + tmp + " to " + final_path);
  }
  fsync_path(dir, true);
  auto all = list_checkpoints(dir);
  for (size_t i = 0; keep > 0 && i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove(all[i], ec);
  return final_path;
}

TrainState load_checkpoint(const std::string& path, AlexNet& net) {
  try {
    h5::Handle f = h5::open_file(path);
    std::string format;
    try {
      format = h5::attr_str(f, "format");
    } catch (const Error&) {}
    if (format != kFormat) throw Error("not an alexnet-mpi checkpoint");
    const int64_t version = h5::attr_i64(f, "format_version");
    if (version != kFormatVersion)
      throw Error("format version " + std::to_string(version) + ", this build reads " + std::to_string(kFormatVersion));
    const ModelOptions& o = net.options();
    auto mismatch = [&](const std::string& what, const std::string& file, const std::string& run) {
      if (file != run) throw Error("written for " + what + " " + file + " but this run has " + run);
    };
    mismatch("input size", std::to_string(h5::attr_i64(f, "input_size")), std::to_string(o.config.input_size));
    mismatch("classes", std::to_string(h5::attr_i64(f, "classes")), std::to_string(o.config.classes));
    mismatch("width", std::to_string(h5::attr_f64(f, "width")), std::to_string(o.config.width));
    mismatch("LRN", h5::attr_str(f, "lrn"), lrn_name(o.config.lrn));
    TrainState st;
    st.step = h5::attr_i64(f, "step");
    st.samples_seen = h5::attr_i64(f, "samples_seen");
    st.dataset_size = h5::attr_i64(f, "dataset_size");
    st.rng = h5::read_u64s(f, "rng", 64);
    if (st.step < 0 || st.samples_seen < 0 || st.dataset_size < 0) throw Error("negative step or data position");
    // Read into staging first: a corrupt file must not leave the model half-loaded.
    std::vector<OwnedTensor> staged;
    for (int t = 0; t < AlexNet::kTowers; ++t) {
      h5::Handle g = h5::open_group(f, "tower" + std::to_string(t));
      const int64_t n = net.params(t).layout.total();
      for (const char* name : {"values", "momentum"}) {
        OwnedTensor buf(Shape{n}, Device::cpu());
        h5::read_floats(g, name, buf->f32(), n);
        const uint64_t want = h5::attr_u64(g, std::string(name) + "_checksum");
        if (checksum(buf->f32(), n) != want)
          throw Error("tower" + std::to_string(t) + "/" + name + " does not match its checksum (corrupt file)");
        staged.push_back(std::move(buf));
      }
    }
    net.set_rng_state(st.rng);
    for (int t = 0; t < AlexNet::kTowers; ++t) {
      copy(net.params(t).all_values(), *staged[static_cast<size_t>(2 * t)]);
      copy(net.params(t).all_momentum(), *staged[static_cast<size_t>(2 * t + 1)]);
    }
    return st;
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": " + e.what());
  }
}

ModelConfig checkpoint_model_config(const std::string& path) {
  try {
    h5::Handle f = h5::open_file(path);
    ModelConfig m;
    m.input_size = h5::attr_i64(f, "input_size");
    m.classes = h5::attr_i64(f, "classes");
    m.width = h5::attr_f64(f, "width");
    m.lrn = h5::attr_str(f, "lrn") == "caffe" ? LrnSpec::caffe() : LrnSpec::paper();
    m.validate();
    // The model eval builds from these attributes is only as large as the arrays the file holds:
    // attributes that promise more than the file has are refused before anything is allocated.
    const int64_t per_tower = total_params(architecture(m)) / 2;
    for (int t = 0; t < 2; ++t) {
      h5::Handle g = h5::open_group(f, "tower" + std::to_string(t));
      for (const char* name : {"values", "momentum"}) h5::check_floats(g, name, per_tower);
    }
    return m;
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": " + e.what());
  }
}

std::string resume_from(const std::string& what, AlexNet& net, TrainState* state) {
  std::error_code ec;
  if (!fs::is_directory(what, ec)) {
    *state = load_checkpoint(what, net);
    return what;
  }
  auto all = list_checkpoints(what);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      *state = load_checkpoint(*it, net);
      return *it;
    } catch (const Error& e) {
      LOG_WARN << e.what() << "; trying the previous checkpoint";
    }
  }
  if (!all.empty()) throw Error("no loadable checkpoint in " + what + " (" + std::to_string(all.size()) + " tried)");
  return "";
}

}  // namespace alexnet
