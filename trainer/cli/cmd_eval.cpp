// `alexnet eval`: top-1 and top-5 error of a checkpoint on a shard set, the centre crop or the
// paper's ten crops (run/eval.h); the model's configuration is read from the checkpoint.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/options.h"
#include "core/host.h"
#include "core/log.h"
#include "io/h5_util.h"
#include "run/checkpoint.h"
#include "run/environment.h"
#include "run/eval.h"
#include "run/json.h"
#include "run/stats.h"

namespace po = boost::program_options;

namespace alexnet {

void add_eval_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
      ("data", po::value<std::string>()->required(), "the shard set to evaluate on")
      ("checkpoint", po::value<std::string>()->required(), "a checkpoint file (the model's configuration is read from it)")
      ("batch", po::value<int64_t>()->default_value(64), "images per step on this rank")
      ("ten-crop", po::bool_switch(), "average the softmax of the ten crops (4 corners + centre, and mirrors); default: the centre crop")
      ("layout", po::value<std::string>()->default_value("auto"), "activation layout: auto, nchw16c, nhwc, nchw")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: the node's cores shared among its ranks)")
      ("loader-threads", po::value<int>()->default_value(2), "threads reading and decoding")
      ("json", po::value<std::string>()->default_value(""),
       "write the loss, top-1/top-5, per-class accuracy and the confusion matrix here")
      ("dump-logits", po::value<std::string>()->default_value(""),
       "write every sample's logits (HDF5: logits, labels; in the shard set's order) here");
  // clang-format on
  add_device_options(desc);
}

namespace {

// The model of the checkpoint, placed and laid out as the options say (no dropout).
ModelOptions eval_model_options(const po::variables_map& vm, const Cluster& cluster) {
  ModelOptions mo;
  as_usage_error([&] {
    mo.batch = vm["batch"].as<int64_t>();
    ALEXNET_CHECK(mo.batch >= 1, "--batch must be at least 1, got " << mo.batch);
    ALEXNET_CHECK(vm["loader-threads"].as<int>() >= 1, "--loader-threads must be at least 1");
    return 0;
  });
  apply_cpu_threads(vm["threads"].as<int>(), cluster);
  devices_from(vm, cluster, mo);
  mo.config = checkpoint_model_config(vm["checkpoint"].as<std::string>());
  const std::string layout = vm["layout"].as<std::string>();
  mo.layout =
      layout == "auto" ? best_layout(mo.config, mo.device) : as_usage_error([&] { return parse_layout(layout); });
  mo.dropout = 0;
  return mo;
}

// The JSON report of an evaluation (rank 0).
void write_eval_json(const std::string& path, const EvalResult& r, const po::variables_map& vm, int64_t step,
                     const char* crops) {
  const double n = static_cast<double>(std::max<int64_t>(1, r.samples));
  JsonWriter j;
  j.begin_object().value("tool", "alexnet eval").value("version", code_version());
  write_options(j, options_ini(vm));
  write_environment(j);
  j.value("checkpoint", vm["checkpoint"].as<std::string>())
      .value("step", step)
      .value("data", vm["data"].as<std::string>())
      .value("crops", crops)
      .value("samples", r.samples)
      .value("loss", r.loss)
      .value("top1", static_cast<double>(r.top1) / n)
      .value("top5", static_cast<double>(r.top5) / n)
      .value("top1_error", 1 - static_cast<double>(r.top1) / n)
      .value("top5_error", 1 - static_cast<double>(r.top5) / n)
      .value("data_classes", r.data_classes)
      .value("model_classes", r.model_classes)
      .array("class_samples", std::vector<double>(r.class_samples.begin(), r.class_samples.end()));
  std::vector<double> accuracy;
  for (size_t c = 0; c < r.class_samples.size(); ++c)
    accuracy.push_back(r.class_samples[c] ? static_cast<double>(r.class_top1[c]) / r.class_samples[c] : NAN);
  j.array("class_top1", accuracy);
  j.begin_array("confusion");
  for (int64_t row = 0; row < r.data_classes; ++row) {
    const auto from = r.confusion.begin() + row * r.model_classes;
    j.array("", std::vector<double>(from, from + r.model_classes));
  }
  j.end_array().end_object();
  JsonWriter::write_file(path, j.str());
}

// The logits in HDF5 (rank 0): written to a temporary file, then renamed.
void write_logits(const std::string& path, const EvalResult& r, const std::string& checkpoint, int64_t step,
                  const char* crops) {
  const std::string tmp = path + ".tmp";
  {
    h5::Handle f = h5::create_file(tmp);
    h5::write_float_matrix(f, "logits", r.logits.data(), r.samples, r.model_classes);
    h5::write_i32s(f, "labels", r.labels);
    h5::set_attr(f, "checkpoint", checkpoint);
    h5::set_attr(f, "step", step);
    h5::set_attr(f, "crops", std::string(crops));
    h5::set_attr(f, "code_version", code_version());
    f.close(tmp);
  }
  ALEXNET_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename " << tmp << " to " << path);
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  add_eval_options(desc);
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const auto parsed = parse_on_every_rank("eval", desc, args, cluster);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const std::string data = vm["data"].as<std::string>(), ckpt = vm["checkpoint"].as<std::string>();
  const std::string json = vm["json"].as<std::string>(), logits = vm["dump-logits"].as<std::string>();
  check_output_file(cluster, "--json", json);
  check_output_file(cluster, "--dump-logits", logits);
  const ModelOptions mo = eval_model_options(vm, cluster);
  const ShardIndex ix = ShardIndex::load(data);
  ALEXNET_CHECK(ix.num_classes <= mo.config.classes,
                data << " has " << ix.num_classes << " classes, the checkpoint's model " << mo.config.classes);
  const auto reader = std::make_shared<const ShardReader>(ix);
  AlexNet net(mo);
  TrainState st;
  on_root(
      cluster, [&] { st = load_checkpoint(ckpt, net); }, "rank 0 to read the checkpoint");
  broadcast_params(net, cluster);
  const EvalOptions eo{.ten_crop = vm["ten-crop"].as<bool>(),
                       .loader_threads = vm["loader-threads"].as<int>(),
                       .per_class = !json.empty(),
                       .logits = !logits.empty()};
  const char* crops = eo.ten_crop ? "ten crops" : "centre crop";
  LOG_INFO << "eval: " << ckpt << " (step " << st.step << ") on " << data << " (" << ix.num_samples << " samples), "
           << crops << ", " << cluster.size << (cluster.size == 1 ? " rank" : " ranks");
  const double t0 = now_seconds();
  const EvalResult r = evaluate(net, reader, cluster, eo);
  if (cluster.root()) {
    const double n = static_cast<double>(r.samples);
    std::printf(
        "eval: %lld samples, %s: top-1 error %.2f%% (%lld right), top-5 error %.2f%% (%lld right), loss %.4f, %.1f "
        "s\n",
        static_cast<long long>(r.samples), crops, 100.0 * (1 - static_cast<double>(r.top1) / n),
        static_cast<long long>(r.top1), 100.0 * (1 - static_cast<double>(r.top5) / n), static_cast<long long>(r.top5),
        r.loss, now_seconds() - t0);
    std::fflush(stdout);
  }
  on_root(
      cluster,
      [&] {
        if (!json.empty()) write_eval_json(json, r, vm, st.step, crops);
        if (!logits.empty()) write_logits(logits, r, ckpt, st.step, crops);
      },
      "rank 0 to write the evaluation's files");
  return 0;
}

}  // namespace alexnet
