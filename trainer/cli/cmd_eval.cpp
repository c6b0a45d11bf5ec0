// `alexnet eval`: top-1 and top-5 error of a checkpoint on a shard set, the centre crop or the
// paper's ten crops (four corners and the centre, and their mirrors, softmax averaged), each
// sample counted once across all ranks.
#include <mpi.h>

#include <cmath>
#include <cstdio>

#include "run/checkpoint.h"
#include "cli/options.h"
#include "io/loader.h"
#include "core/log.h"
#include "run/stats.h"

namespace po = boost::program_options;

namespace alexnet {

int cmd_eval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  desc.add_options()
      ("data", po::value<std::string>()->required(), "the shard set to evaluate on")
      ("checkpoint", po::value<std::string>()->required(), "a checkpoint file (the model's configuration is read from it)")
      ("batch", po::value<int64_t>()->default_value(64), "images per step on this rank")
      ("ten-crop", "average the softmax of the ten crops (4 corners + centre, and mirrors); default: the centre crop")
      ("layout", po::value<std::string>()->default_value("auto"), "activation layout: auto, nchw16c, nhwc, nchw")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: the node's cores shared among its ranks)")
      ("loader-threads", po::value<int>()->default_value(2), "threads reading and decoding");
  add_device_options(desc);
  po::variables_map vm;
  if (!parse_options("eval", desc, args, vm)) return 0;
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  check_same_config(cluster, options_as_config(vm));
  const std::string data = vm["data"].as<std::string>(), ckpt = vm["checkpoint"].as<std::string>();
  const bool ten = vm.count("ten-crop") > 0;
  ModelOptions mo;
  as_usage_error([&] {
    mo.batch = vm["batch"].as<int64_t>();
    ALEXNET_CHECK(mo.batch >= 1, "--batch must be at least 1, got " << mo.batch);
    ALEXNET_CHECK(vm["loader-threads"].as<int>() >= 1, "--loader-threads must be at least 1");
    return 0;
  });
  apply_cpu_threads(vm["threads"].as<int>(), cluster);
  devices_from(vm, cluster, mo);
  mo.config = checkpoint_model_config(ckpt);
  const std::string layout = vm["layout"].as<std::string>();
  mo.layout = layout == "auto" ? best_layout(mo.config, mo.device) : as_usage_error([&] { return parse_layout(layout); });
  mo.dropout = 0;
  const ShardIndex ix = ShardIndex::load(data);
  ALEXNET_CHECK(ix.num_classes <= mo.config.classes,
                data << " has " << ix.num_classes << " classes, the checkpoint's model " << mo.config.classes);
  auto reader = std::make_shared<const ShardReader>(ix);
  AlexNet net(mo);
  TrainState st;
  on_root(cluster, [&] { st = load_checkpoint(ckpt, net); }, "rank 0 to read the checkpoint");
  DataParallel dp(net, cluster, DataParallelOptions{});
  dp.broadcast_params();
  net.set_training(false);
  LOG_INFO << "eval: " << ckpt << " (step " << st.step << ") on " << data << " (" << ix.num_samples << " samples), "
           << (ten ? "ten crops" : "centre crop") << ", " << cluster.size << (cluster.size == 1 ? " rank" : " ranks");

  // Per view: every batch's softmax accumulated per (step, slot) of this rank; counted after the last view.
  const int views = ten ? 10 : 1;
  const int64_t k = mo.config.classes, b = mo.batch;
  std::vector<float> prob;
  std::vector<int32_t> label;
  std::vector<char> valid;
  const double t0 = now_seconds();
  for (int v = 0; v < views; ++v) {
    LoaderOptions lo;
    lo.batch = b, lo.rank = cluster.rank, lo.ranks = cluster.size, lo.train = false, lo.view = ten ? v : -1;
    lo.crop = mo.config.input_size, lo.layout = net.images().layout, lo.threads = vm["loader-threads"].as<int>();
    lo.pinned = net.on_gpu();
    Loader loader(reader, lo);
    if (v == 0) {
      prob.assign(static_cast<size_t>(loader.eval_batches() * b * k), 0.f);
      label.assign(static_cast<size_t>(loader.eval_batches() * b), 0);
      valid.assign(label.size(), 0);
    }
    for (int64_t step = 0;; ++step) {
      const Batch& batch = loader.next();
      if (batch.valid == 0 && step >= loader.eval_batches()) break;
      net.upload_batch(batch.images, batch.labels);
      net.forward();
      const std::vector<float> logits = host_floats(net.logits());  // GPU or bf16 logits: a host copy
      const float* z = logits.data();
      for (int64_t i = 0; i < b; ++i) {
        const size_t slot = static_cast<size_t>(step * b + i);
        if (v == 0) {
          label[slot] = batch.labels.i32()[i];
          valid[slot] = i < batch.valid;
        }
        double mx = z[i * k];
        for (int64_t j = 1; j < k; ++j) mx = std::max<double>(mx, z[i * k + j]);
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += std::exp(z[i * k + j] - mx);
        for (int64_t j = 0; j < k; ++j) prob[slot * static_cast<size_t>(k) + static_cast<size_t>(j)] += static_cast<float>(std::exp(z[i * k + j] - mx) / sum);
      }
    }
  }
  double counts[3] = {0, 0, 0};  // samples, top-1 hits, top-5 hits
  for (size_t slot = 0; slot < label.size(); ++slot) {
    if (!valid[slot]) continue;
    const float* p = &prob[slot * static_cast<size_t>(k)];
    const float pl = p[label[slot]];
    int64_t better = 0;
    for (int64_t j = 0; j < k; ++j) better += p[j] > pl;
    counts[0] += 1, counts[1] += better < 1, counts[2] += better < 5;
  }
  if (!cluster.alone()) MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_DOUBLE, MPI_SUM, cluster.world);
  if (cluster.root()) {
    std::printf("eval: %.0f samples, %s: top-1 error %.2f%% (%.0f right), top-5 error %.2f%% (%.0f right), %.1f s\n",
                counts[0], ten ? "ten crops" : "centre crop", 100.0 * (1 - counts[1] / counts[0]), counts[1],
                100.0 * (1 - counts[2] / counts[0]), counts[2], now_seconds() - t0);
    std::fflush(stdout);
  }
  ALEXNET_CHECK(static_cast<int64_t>(counts[0]) == ix.num_samples,
                "eval counted " << counts[0] << " samples of " << ix.num_samples << " (an ordering bug)");
  return 0;
}

}  // namespace alexnet
