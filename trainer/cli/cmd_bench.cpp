// `alexnet bench`: the seed's benchmark (TensorFlow's alexnet_benchmark.py) done properly. Random
// images, 10 burn-in steps then N timed ones, "X +/- Y sec per batch" for forward, forward-backward
// (the seed's objective, l2_loss of the logits) and the full training step (cross-entropy + SGD),
// then a per-layer table in the manner of `caffe time` whose rows add up to the measured step.
#include <mpi.h>

#include <cstdio>
#include <functional>
#include <sstream>

#include "cli/options.h"
#include "layers/backend_info.h"
#include "core/host.h"
#include "run/environment.h"
#include "run/json.h"
#include "core/log.h"
#include "model/model.h"
#include "model/params.h"
#include "core/random.h"
#include "run/stats.h"
#include "run/train.h"
#include "parallel/watchdog.h"

namespace po = boost::program_options;

namespace alexnet {

namespace {

struct ModeResult {
  std::string key, title;  // "train", "Training step"
  std::vector<double> step_s;
  std::vector<Phases> phases;  // per timed step, this rank
  Summary summary;
  // Per-layer seconds of every timed step (rows x steps), forward and backward.
  std::vector<std::vector<double>> fwd, bwd;
};

void fill_random_batch(AlexNet& net, uint64_t seed) {
  const Tensor& img = net.images();
  float* p = img.f32();
  const int64_t n = img.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(hashed_normal(seed, static_cast<uint64_t>(i)));
  const int64_t classes = net.options().config.classes;
  int32_t* l = net.labels().i32();
  for (int64_t i = 0; i < net.labels().numel(); ++i)
    l[i] = static_cast<int32_t>(mix64(seed ^ mix64(static_cast<uint64_t>(i) + 77)) % static_cast<uint64_t>(classes));
}

void print_layer_table(const ModeResult& r, std::vector<std::string> rows, int64_t batch) {
  std::vector<double> f, b;
  double sum = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    f.push_back(summarize(r.fwd[i]).mean);
    b.push_back(summarize(r.bwd[i]).mean);
  }
  // Time the step spent waiting for gradients from other ranks (not inside any layer).
  double exposed = 0;
  for (const auto& p : r.phases) exposed += p.exposed / static_cast<double>(r.phases.size());
  rows.push_back("all-reduce wait");
  f.push_back(0);
  b.push_back(exposed);
  const size_t nrows = rows.size();
  for (size_t i = 0; i < nrows; ++i) sum += f[i] + b[i];
  const double step = r.summary.mean;
  std::printf("\nPer-layer times of the %s, batch %lld, both towers (ms per step, mean of %zu steps):\n",
              r.title.c_str(), static_cast<long long>(batch), r.step_s.size());
  std::printf("%-16s %10s %10s %10s %8s\n", "layer", "forward", "backward", "total", "% step");
  for (size_t i = 0; i < nrows; ++i) {
    if (f[i] + b[i] == 0) continue;
    std::printf("%-16s %10.2f %10.2f %10.2f %8.1f\n", rows[i].c_str(), 1e3 * f[i], 1e3 * b[i],
                1e3 * (f[i] + b[i]), 100 * (f[i] + b[i]) / step);
  }
  std::printf("%-16s %10s %10s %10.2f %8.1f   (measured step %.2f ms; unaccounted %.2f ms)\n", "sum of rows", "", "",
              1e3 * sum, 100 * sum / step, 1e3 * step, 1e3 * (step - sum));
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  po::options_description desc("bench options");
  add_run_options(desc, 128);
  desc.add_options()
      ("steps", po::value<int>()->default_value(100), "timed steps per mode")
      ("warmup", po::value<int>()->default_value(10), "burn-in steps per mode (not counted)")
      ("modes", po::value<std::string>()->default_value("forward,forward-backward,train"),
       "comma-separated: forward, forward-backward, train")
      ("lr", po::value<double>()->default_value(0.01), "learning rate of the training step")
      ("json", po::value<std::string>(), "write config, host, libraries, per-step and per-layer times here")
      ("label", po::value<std::string>()->default_value(""), "a free-form label recorded in the JSON (e.g. weak, strong)")
      ("timeout", po::value<double>()->default_value(60),
       "seconds a collective may wait before the job is ended as stalled, naming the silent ranks (0: never)");
  po::variables_map vm;
  if (!parse_options("bench", desc, args, vm)) return 0;
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  check_same_config(cluster, options_as_config(vm));
  ModelOptions mo = model_options_from(vm, cluster);
  DataParallelOptions dpo = data_parallel_from(vm);
  // Timed like the seed and the peer: the model and its gradient exchange. train's NaN/Inf scan of
  // every bucket (one more pass over the gradients) is not part of the benchmark.
  dpo.check_finite = false;
  const int steps = vm["steps"].as<int>(), warmup = vm["warmup"].as<int>();
  const std::vector<std::string> modes = split_commas(vm["modes"].as<std::string>());
  as_usage_error([&] {
    ALEXNET_CHECK(steps >= 1, "--steps must be at least 1, got " << steps);
    ALEXNET_CHECK(warmup >= 0, "--warmup must be >= 0, got " << warmup);
    ALEXNET_CHECK(!modes.empty(), "--modes is empty");
    for (const auto& m : modes)
      ALEXNET_CHECK(m == "forward" || m == "forward-backward" || m == "train",
                    "unknown mode '" << m << "' (expected forward, forward-backward or train)");
    return 0;
  });
  const int rank = cluster.rank;

  LOG_INFO << "bench: " << cluster.size << (cluster.size == 1 ? " rank" : " ranks") << " x batch " << mo.batch << ", " << layout_name(mo.layout) << " on " << mo.device.str()
           << (mo.tower1_device ? "," + mo.tower1_device->str() : std::string()) << " (" << precision_name(mo.precision) << ", "
           << dnnl_version() << ", " << dnnl_cpu_isa() << ", " << cpu_threads() << " threads), " << warmup
           << " burn-in + " << steps << " timed steps per mode";
  AlexNet net(mo);
  DataParallel dp(net, cluster, dpo);
  std::unique_ptr<Watchdog> watchdog;
  if (!cluster.alone() && vm["timeout"].as<double>() > 0)
    watchdog = std::make_unique<Watchdog>(cluster, vm["timeout"].as<double>());
  dp.broadcast_params();
  fill_random_batch(net, mo.seed ^ static_cast<uint64_t>(cluster.rank));
  net.upload_batch();  // once: like the seed and the peer, the same batch every step
  net.set_training(true);  // dropout active, as the seed and the peer
  net.enable_timing(true);
  const SgdConfig sgd{vm["lr"].as<double>(), 0.9, 0.0005};

  std::vector<ModeResult> results;
  for (const auto& mode : modes) {
    ModeResult r;
    r.key = mode;
    // One step of the mode, its phases timed; the gradients of a backward are all-reduced across
    // ranks (as data-parallel training does), the update only in the training step.
    const bool backward = mode != "forward", update = mode == "train";
    r.title = mode == "forward" ? "Forward" : mode == "forward-backward" ? "Forward-backward" : "Training step";
    // On GPUs the host only queues work: the step ends when the GPUs are done, and its phases are
    // the layers' CUDA-event times (what is in no layer, the wait for the all-reduce, is "exposed").
    auto gpu_phases = [&](Phases& p) {
      {
        WatchScope watch("the GPUs to finish a step (NCCL all-reduces included)");
        net.synchronize();
      }
      p.allreduce = dp.gpu_allreduce_seconds();
      const auto& f = net.forward_seconds();
      const auto& b = net.backward_seconds();
      const auto& names = net.timing_rows();
      p.forward = p.backward = p.update = 0;
      for (size_t k = 0; k < names.size(); ++k) {
        p.forward += f[k];
        (names[k] == "update" ? p.update : p.backward) += b[k];
      }
    };
    auto step = [&](int i) -> Phases {
      Phases p;
      const double t0 = now_seconds();
      net.forward();
      if (update) net.loss();
      else if (backward) net.l2_loss_grad();
      const double t1 = now_seconds();
      p.forward = t1 - t0;
      if (!backward) {
        if (net.on_gpu()) gpu_phases(p);
        return p;
      }
      dp.begin_step(i);
      net.backward();
      const double t2 = now_seconds();
      const CommTimes ct = dp.finish_backward();
      const double t3 = now_seconds();
      p.backward = t2 - t1, p.allreduce = ct.allreduce_s, p.exposed = t3 - t2;
      if (update) {
        net.update(sgd.lr, sgd, dp.grad_scale());
        p.update = now_seconds() - t3;
      }
      if (net.on_gpu()) gpu_phases(p);
      return p;
    };
    const auto& rows = net.timing_rows();
    r.fwd.assign(rows.size(), {});
    r.bwd.assign(rows.size(), {});
    for (int i = 0; i < warmup + steps; ++i) {
      net.clear_timing();
      const double t0 = now_seconds();
      Phases p = step(i);
      const double dt = now_seconds() - t0;
      if (i < warmup) continue;
      p.step = dt;
      if (net.on_gpu() && backward) p.exposed = std::max(0.0, dt - p.forward - p.backward - p.update);
      r.phases.push_back(p);
      r.step_s.push_back(dt);
      for (size_t k = 0; k < rows.size(); ++k) {
        r.fwd[k].push_back(net.forward_seconds()[k]);
        r.bwd[k].push_back(net.backward_seconds()[k]);
      }
    }
    r.summary = summarize(r.step_s);
    results.push_back(std::move(r));
  }

  if (rank == 0) {
    std::printf("\n");
    for (const auto& r : results)
      std::printf("%s across %d steps, %.3f +/- %.3f sec per batch\n", r.title.c_str(), steps, r.summary.mean,
                  r.summary.sd);
    std::printf("\n%-18s %10s %10s %10s %10s %12s\n", "mode", "mean s", "sd s", "median s", "min s", "images/s");
    for (const auto& r : results)
      std::printf("%-18s %10.4f %10.4f %10.4f %10.4f %12.1f\n", r.key.c_str(), r.summary.mean, r.summary.sd,
                  r.summary.median, r.summary.min, static_cast<double>(mo.batch * cluster.size) / r.summary.mean);
    for (const auto& r : results)
      if (r.key == "train") print_layer_table(r, net.timing_rows(), mo.batch);
    if (results.size() == 1 && results[0].key != "train") print_layer_table(results[0], net.timing_rows(), mo.batch);
    std::fflush(stdout);
  }
  // Every rank's phases: min / median / max over ranks (collective), and all of them for the JSON.
  std::vector<std::vector<double>> all_phases;  // per mode: rank-major, step-major, phase-minor (rank 0)
  for (const auto& r : results) {
    std::vector<double> mine, mean(Phases::names().size(), 0.0);
    for (const auto& p : r.phases) {
      const auto v = p.values();
      mine.insert(mine.end(), v.begin(), v.end());
      for (size_t k = 0; k < v.size(); ++k) mean[k] += v[k] / static_cast<double>(r.phases.size());
    }
    if (cluster.size > 1) {
      if (rank == 0) std::printf("\n");
      print_across_ranks(cluster, r.title + " across " + std::to_string(cluster.size) + " ranks (ms per step):",
                         Phases::names(), mean, 1e3, "ms");
    }
    all_phases.push_back(gather_to_root(cluster, mine));
  }
  if (rank == 0) std::fflush(stdout);

  if (vm.count("json") && rank == 0) {
    JsonWriter j;
    j.begin_object();
    j.value("tool", "alexnet bench").value("version", code_version());
    j.begin_object("config")
        .value("batch", mo.batch)
        .value("steps", steps)
        .value("warmup", warmup)
        .value("device", mo.device.str())
        .value("tower1_device", mo.tower1_device.value_or(mo.device).str())
        .value("precision", precision_name(mo.precision))
        .value("layout", layout_name(mo.layout))
        .value("threads", cpu_threads())
        .value("input_size", mo.config.input_size)
        .value("classes", mo.config.classes)
        .value("width", mo.config.width)
        .value("lrn", mo.config.lrn.str())
        .value("init", init_recipe_name(mo.init))
        .value("dropout", mo.dropout)
        .value("seed", static_cast<int64_t>(mo.seed))
        .value("lr", sgd.lr)
        .value("parameters", net.param_count())
        .value("ranks", static_cast<int64_t>(cluster.size))
        .value("global_batch", mo.batch * cluster.size)
        .value("bucket_mb", dpo.bucket_mb)
        .value("overlap", dp.options().overlap)
        .value("label", vm["label"].as<std::string>())
        .end_object();
    // What the report's projection needs: each tower's buckets (in backward order) and layer sizes.
    j.begin_array("buckets");
    for (const auto& b : dp.buckets()) {
      j.begin_object().value("floats", b.count).begin_array("layers");
      for (const auto& l : b.layers) j.value("", l);
      j.end_array().end_object();
    }
    j.end_array();
    j.begin_object("parameters_per_layer");
    for (const auto& e : net.params(0).layout.entries())
      if (!e.is_bias) {
        const int64_t n = e.numel() + net.params(0).layout.bias(e.layer).numel();
        j.value(e.layer, 2 * n);  // both towers
      }
    j.end_object();
    write_environment(j);
    j.begin_array("modes");
    for (size_t m = 0; m < results.size(); ++m) {
      const ModeResult& r = results[m];
      j.begin_object()
          .value("mode", r.key)
          .value("steps", static_cast<int64_t>(r.step_s.size()))
          .value("mean_s", r.summary.mean)
          .value("sd_s", r.summary.sd)
          .value("median_s", r.summary.median)
          .value("min_s", r.summary.min)
          .value("max_s", r.summary.max)
          .value("images_per_s", static_cast<double>(mo.batch * cluster.size) / r.summary.mean)
          .array("step_s", r.step_s);
      // Every rank's per-step phases.
      const auto& names = Phases::names();
      const size_t steps_n = r.phases.size(), np = names.size();
      j.begin_array("ranks");
      for (int rk = 0; rk < cluster.size; ++rk) {
        j.begin_object().value("rank", rk);
        for (size_t k = 0; k < np; ++k) {
          std::vector<double> v;
          for (size_t st = 0; st < steps_n; ++st) v.push_back(all_phases[m][(rk * steps_n + st) * np + k]);
          j.array(names[k] + "_s", v);
        }
        j.end_object();
      }
      j.end_array();
      j.begin_array("layers");
      for (size_t k = 0; k < net.timing_rows().size(); ++k) {
        const Summary f = summarize(r.fwd[k]), b = summarize(r.bwd[k]);
        j.begin_object()
            .value("name", net.timing_rows()[k])
            .value("forward_mean_s", f.mean)
            .value("forward_median_s", f.median)
            .value("backward_mean_s", b.mean)
            .value("backward_median_s", b.median)
            .end_object();
      }
      j.end_array().end_object();
    }
    j.end_array().end_object();
    JsonWriter::write_file(vm["json"].as<std::string>(), j.str());
    LOG_INFO << "bench: wrote " << vm["json"].as<std::string>();
  }
  return 0;
}

}  // namespace alexnet
