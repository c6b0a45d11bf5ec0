// Fuzz target: checkpoints. Each input describes a checkpoint (valid HDF5) whose attributes, names,
// types, shapes, RNG state, arrays and checksums are fuzzed; it is read as `eval` reads it
// (checkpoint_model_config) and as `train --resume` does (load_checkpoint into a small model). A
// refused file must leave the model exactly as it was; an accepted one must load what it holds.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "model/model.h"
#include "run/checkpoint.h"

namespace {

using namespace alexnet;
using fuzz::Kind;

ModelOptions small_model() {
  ModelOptions o;
  o.config.input_size = 67, o.config.classes = 2, o.config.width = 0.0625;
  o.batch = 1;
  return o;
}

std::vector<float> flat(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

void write_checkpoint(FuzzedDataProvider& in, const std::string& path, const AlexNet& net) {
  h5::quiet();
  const ModelOptions& o = net.options();
  h5::Handle f = h5::create_file(path);
  fuzz::attr(in, f, "format", Kind::str, 0, 0, fuzz::pick(in, {"alexnet-mpi checkpoint"}));
  fuzz::attr(in, f, "format_version", Kind::i64, fuzz::number(in, 2, 2), 2, "2");
  fuzz::attr(in, f, "step", Kind::i64, fuzz::number(in, 0, 100), 0, "");
  fuzz::attr(in, f, "samples_seen", Kind::i64, fuzz::number(in, 0, 1000), 0, "");
  fuzz::attr(in, f, "dataset_size", Kind::i64, fuzz::number(in, 0, 1000), 0, "");
  fuzz::attr(in, f, "input_size", Kind::i64, in.ConsumeBool() ? o.config.input_size : fuzz::number(in, 60, 5000), 0,
             "");
  fuzz::attr(in, f, "classes", Kind::i64, in.ConsumeBool() ? o.config.classes : fuzz::number(in, 0, 1 << 21), 0, "");
  fuzz::attr(in, f, "width", Kind::f64, 0, in.ConsumeBool() ? o.config.width : in.ConsumeFloatingPoint<double>(), "");
  fuzz::attr(in, f, "lrn", Kind::str, 0, 0, fuzz::pick(in, {"paper", "caffe"}));
  const size_t rng_n =
      in.ConsumeIntegralInRange<int>(0, 3) ? net.rng_state().size() : in.ConsumeIntegralInRange<size_t>(0, 80);
  fuzz::dataset(f, "rng", in.ConsumeIntegralInRange<int>(0, 9) ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT32, {rng_n},
                in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 8 * rng_n)), false);
  for (int t = 0; t < AlexNet::kTowers; ++t) {
    const std::string group =
        in.ConsumeIntegralInRange<int>(0, 15) ? "tower" + std::to_string(t) : fuzz::pick(in, {"tower2", "x"});
    h5::Handle g = h5::create_group(f, group);
    const int64_t n = net.params(t).layout.total();
    for (const char* name : {"values", "momentum"}) {
      const hsize_t len =
          in.ConsumeIntegralInRange<int>(0, 7) ? static_cast<hsize_t>(n) : in.ConsumeIntegralInRange<hsize_t>(0, n + 2);
      std::vector<float> v(len);
      const std::vector<uint8_t> b = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 64));
      for (size_t k = 0; k < v.size(); ++k) v[k] = b.empty() ? 0.f : static_cast<float>(b[k % b.size()]) / 256.f;
      if (!in.ConsumeIntegralInRange<int>(0, 15) && !v.empty() && !b.empty())
        std::memcpy(v.data(), b.data(), std::min(b.size(), 4 * v.size()));
      std::vector<uint8_t> bytes(reinterpret_cast<uint8_t*>(v.data()), reinterpret_cast<uint8_t*>(v.data() + v.size()));
      fuzz::dataset(g, name, in.ConsumeIntegralInRange<int>(0, 9) ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, {len}, bytes,
                    in.ConsumeBool());
      const uint64_t sum = in.ConsumeIntegralInRange<int>(0, 5) ? checksum(v.data(), static_cast<int64_t>(v.size()))
                                                                : in.ConsumeIntegral<uint64_t>();
      if (in.ConsumeIntegralInRange<int>(0, 11)) h5::set_attr(g, std::string(name) + "_checksum", sum);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static AlexNet* net = new AlexNet(small_model());  // built once: the fuzzer's state between inputs
  FuzzedDataProvider in(data, size);
  const std::string path = fuzz::scratch("ckpt") + "/ckpt.h5";
  try {
    write_checkpoint(in, path, *net);
  } catch (const Error&) {
    return 0;
  }
  try {
    const ModelConfig m = checkpoint_model_config(path);
    m.validate();
  } catch (const Error&) {}
  const std::vector<float> before = flat(net->params(0).all_values());
  try {
    load_checkpoint(path, *net);
  } catch (const Error&) {
    if (flat(net->params(0).all_values()) != before) __builtin_trap();  // a refused file changed the model
  }
  return 0;
}
