// `alexnet eval`: top-1 and top-5 error of a checkpoint on a shard set, the centre crop or the
// paper's ten crops (run/eval.h); the model's configuration is read from the checkpoint.
#include <mpi.h>

#include <cstdio>

#include "cli/options.h"
#include "core/log.h"
#include "run/checkpoint.h"
#include "run/eval.h"
#include "run/stats.h"

namespace po = boost::program_options;

namespace alexnet {

namespace {

void add_eval_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
      ("data", po::value<std::string>()->required(), "the shard set to evaluate on")
      ("checkpoint", po::value<std::string>()->required(), "a checkpoint file (the model's configuration is read from it)")
      ("batch", po::value<int64_t>()->default_value(64), "images per step on this rank")
      ("ten-crop", "average the softmax of the ten crops (4 corners + centre, and mirrors); default: the centre crop")
      ("layout", po::value<std::string>()->default_value("auto"), "activation layout: auto, nchw16c, nhwc, nchw")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: the node's cores shared among its ranks)")
      ("loader-threads", po::value<int>()->default_value(2), "threads reading and decoding");
  // clang-format on
  add_device_options(desc);
}

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

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  add_eval_options(desc);
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const auto parsed = parse_on_every_rank("eval", desc, args, cluster);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const std::string data = vm["data"].as<std::string>(), ckpt = vm["checkpoint"].as<std::string>();
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
  const EvalOptions eo{.ten_crop = vm.count("ten-crop") > 0, .loader_threads = vm["loader-threads"].as<int>()};
  const char* crops = eo.ten_crop ? "ten crops" : "centre crop";
  LOG_INFO << "eval: " << ckpt << " (step " << st.step << ") on " << data << " (" << ix.num_samples << " samples), "
           << crops << ", " << cluster.size << (cluster.size == 1 ? " rank" : " ranks");
  const double t0 = now_seconds();
  const EvalResult r = evaluate(net, reader, cluster, eo);
  if (cluster.root()) {
    const double n = static_cast<double>(r.samples);
    std::printf("eval: %lld samples, %s: top-1 error %.2f%% (%lld right), top-5 error %.2f%% (%lld right), %.1f s\n",
                static_cast<long long>(r.samples), crops, 100.0 * (1 - static_cast<double>(r.top1) / n),
                static_cast<long long>(r.top1), 100.0 * (1 - static_cast<double>(r.top5) / n),
                static_cast<long long>(r.top5), now_seconds() - t0);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace alexnet
