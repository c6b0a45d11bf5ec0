// `alexnet train`: its options (the TrainConfig they describe), the run (run/train.h), then the
// summary, the phases and layers across ranks, and the JSON report.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/options.h"
#include "core/host.h"
#include "core/log.h"
#include "core/text.h"
#include "io/loader.h"
#include "layers/backend_info.h"
#include "parallel/signals.h"
#include "run/environment.h"
#include "run/json.h"
#include "run/stats.h"
#include "run/train.h"

namespace po = boost::program_options;

namespace alexnet {

void add_train_options(po::options_description& desc) {
  add_run_options(desc, 128);
  // clang-format off
  desc.add_options()
      ("steps", po::value<int64_t>(), "total training steps (a resumed run continues to this); or --epochs")
      ("epochs", po::value<double>(), "train this many epochs of the data (--data's set, or the synthetic one): "
       "ceil(E x samples / global batch) steps; or --steps")
      ("data", po::value<std::string>()->default_value(""), "a shard set folder (alexnet shards); none: synthetic data")
      ("loader-threads", po::value<int>()->default_value(2), "threads reading, decoding and augmenting (per rank)")
      ("prefetch", po::value<int>()->default_value(3), "batches prepared ahead")
      ("shuffle", po::value<std::string>()->default_value("global"),
       "global (the same global batches whatever the ranks) or shard (shuffled shards, sequential reads)")
      ("shuffle-buffer", po::value<int64_t>()->default_value(2048), "--shuffle shard: samples in the shuffle buffer")
      ("synthetic-samples", po::value<int64_t>()->default_value(12800), "images in the synthetic data set")
      ("data-classes", po::value<int64_t>()->default_value(0), "classes used by the synthetic data (0: all)")
      ("augment", po::value<std::string>()->default_value("on"),
       "on: the paper's random crop, flip and PCA lighting; off: the centre crop only (deterministic comparisons)")
      ("lighting-std", number_value(0.1), "standard deviation of the PCA lighting's alpha (0: no lighting)")
      ("augment-seed", po::value<uint64_t>(), "seed of the crops, flips and lighting (default: --seed)")
      ("eval-every", po::value<int64_t>()->default_value(0),
       "evaluate on --eval-data every K steps and after the last (0: never); each sample counted once across ranks")
      ("eval-data", po::value<std::string>()->default_value(""), "the shard set --eval-every evaluates on (centre crop)")
      ("lr", number_value(0.01), "base learning rate")
      ("momentum", number_value(0.9), "momentum")
      ("weight-decay", number_value(0.0005), "weight decay")
      ("lr-steps", po::value<std::string>()->default_value(""), "steps at which the rate is multiplied by --lr-gamma (a,b,...)")
      ("lr-step-epochs", po::value<std::string>()->default_value(""),
       "the same in epochs of the data actually used: epoch e begins at step ceil(e x samples / global batch)")
      ("lr-gamma", number_value(0.1), "step decay factor")
      ("warmup-steps", po::value<int64_t>()->default_value(0), "linear warm-up steps")
      ("lr-scaling", po::value<std::string>()->default_value("none"), "none, or linear: lr x global batch / 128")
      ("log-every", po::value<int64_t>()->default_value(10), "log every K steps")
      ("checkpoint-dir", po::value<std::string>()->default_value(""), "write checkpoints here")
      ("checkpoint-every", po::value<int64_t>()->default_value(0), "steps between checkpoints (0: only at the end)")
      ("keep", po::value<int>()->default_value(3), "checkpoints kept")
      ("resume", po::value<std::string>()->default_value(""), "a checkpoint file, a folder (its newest), or auto")
      ("profile-every", po::value<int64_t>()->default_value(0),
       "time every layer on every K-th step and report each layer's min/median/max over ranks (0: off)")
      ("profile-layers", po::bool_switch(), "time every layer on every step (as --profile-every 1)")
      ("timeout", number_value(60),
       "seconds a collective may wait before the job is ended as stalled, naming the silent ranks (0: never)")
      ("on-nonfinite", po::value<std::string>()->default_value("stop"),
       "a NaN/Inf in a loss or gradient: stop (naming step, layer and rank; the weights before the step are "
       "checkpointed) or skip (drop that step's update on every rank)")
      ("check-nonfinite", po::value<std::string>()->default_value("on"),
       "scan every gradient bucket for NaN/Inf before it is sent (off: only the loss is checked)")
      ("inject-nan", po::value<std::string>()->default_value(""),
       "testing aid: STEP:RANK puts a NaN into rank RANK's images at step STEP (1-based); STEP:RANK:LAYER into "
       "that layer's weight gradient instead")
      ("trace", po::value<std::string>()->default_value(""),
       "write a timeline of --trace-steps (Chrome trace-event JSON: Perfetto, chrome://tracing) here")
      ("trace-steps", po::value<std::string>()->default_value(""),
       "A:B, the steps traced (1-based, inclusive; default 2:6, or the whole run when shorter)")
      ("json", po::value<std::string>(), "write the run's summary and per-step times and losses here");
  // clang-format on
}

namespace {

// "a,b,c" -> positive step (or epoch) numbers.
std::vector<int64_t> positive_numbers(const std::string& text) {
  std::vector<int64_t> out;
  for (const std::string& item : split(text)) {
    const auto v = parse_int(item);
    ALEXNET_CHECK(v && *v > 0, "'" << item << "' is not a positive step number");
    out.push_back(*v);
  }
  return out;
}

// The run's length and data: --steps or --epochs, the shard set or the synthetic set.
void read_data_options(const po::variables_map& vm, TrainConfig& cfg) {
  ALEXNET_CHECK(vm.count("steps") + vm.count("epochs") == 1,
                (vm.count("steps") ? "give --steps or --epochs, not both"
                                   : "give the length of the run: --steps N or --epochs E"));
  if (vm.count("steps")) {
    cfg.steps = vm["steps"].as<int64_t>();
    ALEXNET_CHECK(cfg.steps >= 1, "--steps must be at least 1");
  } else {
    cfg.epochs = vm["epochs"].as<double>();
    ALEXNET_CHECK(cfg.epochs > 0 && cfg.epochs <= 1e6, "--epochs must be in (0, 1e6], got " << cfg.epochs);
  }
  cfg.data = vm["data"].as<std::string>();
  cfg.loader_threads = vm["loader-threads"].as<int>();
  cfg.prefetch = vm["prefetch"].as<int>();
  ALEXNET_CHECK(cfg.loader_threads >= 1 && cfg.prefetch >= 1, "--loader-threads and --prefetch must be at least 1");
  cfg.shuffle = vm["shuffle"].as<std::string>();
  parse_shuffle(cfg.shuffle);
  cfg.shuffle_buffer = vm["shuffle-buffer"].as<int64_t>();
  ALEXNET_CHECK(cfg.shuffle_buffer >= 1, "--shuffle-buffer must be at least 1");
  cfg.synthetic_samples = vm["synthetic-samples"].as<int64_t>();
  ALEXNET_CHECK(cfg.synthetic_samples >= cfg.model.batch,
                "--synthetic-samples " << cfg.synthetic_samples << " is smaller than one batch");
  cfg.data_classes = vm["data-classes"].as<int64_t>();
  ALEXNET_CHECK(cfg.data_classes >= 0 && cfg.data_classes <= cfg.model.config.classes,
                "--data-classes must be in [0, " << cfg.model.config.classes << "]");
  cfg.augment = on_off(vm, "augment");
  cfg.lighting_std = vm["lighting-std"].as<double>();
  ALEXNET_CHECK(cfg.lighting_std >= 0 && std::isfinite(cfg.lighting_std),
                "--lighting-std must be >= 0, got " << cfg.lighting_std);
  if (vm.count("augment-seed")) cfg.augment_seed = vm["augment-seed"].as<uint64_t>();
  cfg.eval_every = vm["eval-every"].as<int64_t>();
  cfg.eval_data = vm["eval-data"].as<std::string>();
  ALEXNET_CHECK(cfg.eval_every >= 0, "--eval-every must be >= 0, got " << cfg.eval_every);
  ALEXNET_CHECK((cfg.eval_every > 0) == !cfg.eval_data.empty(), "--eval-every K and --eval-data DIR go together");
}

// SGD and the learning-rate schedule.
void read_schedule_options(const po::variables_map& vm, int world, TrainConfig& cfg) {
  cfg.lr.base_lr = vm["lr"].as<double>();
  cfg.sgd = {.momentum = vm["momentum"].as<double>(), .weight_decay = vm["weight-decay"].as<double>()};
  ALEXNET_CHECK(cfg.lr.base_lr > 0 && cfg.sgd.momentum >= 0 && cfg.sgd.momentum < 1 && cfg.sgd.weight_decay >= 0,
                "--lr must be > 0, --momentum in [0, 1), --weight-decay >= 0");
  cfg.lr.global_batch = cfg.model.batch * world;
  const std::string scaling = vm["lr-scaling"].as<std::string>();
  ALEXNET_CHECK(scaling == "none" || scaling == "linear", "--lr-scaling must be none or linear");
  cfg.lr.linear_scaling = scaling == "linear";
  cfg.lr.warmup_steps = vm["warmup-steps"].as<int64_t>();
  ALEXNET_CHECK(cfg.lr.warmup_steps >= 0, "--warmup-steps must be >= 0");
  cfg.lr.gamma = vm["lr-gamma"].as<double>();
  cfg.lr.decay_steps = positive_numbers(vm["lr-steps"].as<std::string>());
  std::sort(cfg.lr.decay_steps.begin(), cfg.lr.decay_steps.end());
  cfg.lr_step_epochs = positive_numbers(vm["lr-step-epochs"].as<std::string>());  // steps once the data is known
}

// Logs, checkpoints, resume, profiling.
void read_output_options(const po::variables_map& vm, TrainConfig& cfg) {
  cfg.log_every = vm["log-every"].as<int64_t>();
  ALEXNET_CHECK(cfg.log_every >= 1, "--log-every must be at least 1");
  cfg.checkpoint_dir = vm["checkpoint-dir"].as<std::string>();
  cfg.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
  ALEXNET_CHECK(cfg.checkpoint_every >= 0, "--checkpoint-every must be >= 0");
  cfg.keep = vm["keep"].as<int>();
  ALEXNET_CHECK(cfg.keep >= 1, "--keep must be at least 1");
  cfg.resume = vm["resume"].as<std::string>();
  cfg.profile_every = vm["profile-layers"].as<bool>() ? 1 : vm["profile-every"].as<int64_t>();
  ALEXNET_CHECK(cfg.profile_every >= 0, "--profile-every must be >= 0");
  cfg.trace_path = vm["trace"].as<std::string>();
  cfg.trace_steps = vm["trace-steps"].as<std::string>();
  ALEXNET_CHECK(!cfg.trace_path.empty() || cfg.trace_steps.empty(), "--trace-steps needs --trace FILE");
  cfg.options = options_ini(vm);
}

// What happens when things go wrong: stalls, NaN/Inf, signals, and the NaN testing aid.
void read_failure_options(const po::variables_map& vm, int world, TrainConfig& cfg) {
  const std::string nonfinite = vm["on-nonfinite"].as<std::string>();
  ALEXNET_CHECK(nonfinite == "stop" || nonfinite == "skip", "--on-nonfinite must be stop or skip, got " << nonfinite);
  cfg.skip_nonfinite = nonfinite == "skip";
  cfg.parallel.check_finite = on_off(vm, "check-nonfinite");
  cfg.handle_signals = true;
  cfg.timeout_s = vm["timeout"].as<double>();
  ALEXNET_CHECK(cfg.timeout_s >= 0, "--timeout must be >= 0 seconds, got " << cfg.timeout_s);
  const std::vector<std::string> inject = split(vm["inject-nan"].as<std::string>(), ':');
  if (inject.empty()) return;
  ALEXNET_CHECK(inject.size() >= 2 && inject.size() <= 3, "--inject-nan takes STEP:RANK[:LAYER]");
  const auto step = parse_int(inject[0]), rank = parse_int(inject[1]);
  ALEXNET_CHECK(step && rank && *step >= 1 && *rank >= 0 && *rank < world,
                "--inject-nan: step must be >= 1 and rank in [0, " << world << ")");
  cfg.inject_step = *step - 1;
  cfg.inject_rank = static_cast<int>(*rank);
  if (inject.size() == 3) cfg.inject_layer = inject[2];
}

}  // namespace

TrainConfig train_config_from(const po::variables_map& vm, const Cluster& cluster) {
  TrainConfig cfg;
  cfg.model = model_options_from(vm, cluster);
  cfg.parallel = data_parallel_from(vm, cfg.model, cluster);
  as_usage_error([&] {
    read_data_options(vm, cfg);
    read_schedule_options(vm, cluster.size, cfg);
    read_output_options(vm, cfg);
    read_failure_options(vm, cluster.size, cfg);
    ALEXNET_CHECK(cfg.synthetic_samples >= cfg.model.batch * cluster.size,
                  "--synthetic-samples " << cfg.synthetic_samples << " is smaller than one global batch ("
                                         << cfg.model.batch << " x " << cluster.size << " ranks)");
    return 0;
  });
  return cfg;
}

namespace {

void log_train_header(const TrainConfig& cfg, int world) {
  LOG_INFO << "train: " << world << (world == 1 ? " rank" : " ranks") << " x batch " << cfg.model.batch << " (global "
           << cfg.model.batch * world << "), gradient buckets of " << cfg.parallel.bucket_mb << " MB, overlap "
           << (cfg.parallel.overlap ? "on" : "off");
  LOG_INFO << "train: AlexNet " << cfg.model.config.input_size << "px, " << cfg.model.config.classes
           << " classes, batch " << cfg.model.batch << ", " << layout_name(cfg.model.layout) << " on "
           << cfg.model.device.str() << " (" << cpu_threads() << " threads), momentum " << cfg.sgd.momentum
           << ", weight decay " << cfg.sgd.weight_decay << ", init " << init_recipe_name(cfg.model.init) << ", LRN "
           << cfg.model.config.lrn.str();
}

// Rank 0's summary of the run.
void print_train_summary(const TrainResult& r, const TrainConfig& cfg, int world, double wall) {
  const int64_t steps = r.last_step - r.first_step, global = cfg.model.batch * world;
  const Summary s = summarize(r.step_s);
  const Phases& T = r.total;
  std::printf("\nTraining finished: steps %lld..%lld on %d rank%s, %lld images in %.1f s, %.1f images/s\n",
              static_cast<long long>(r.first_step), static_cast<long long>(r.last_step), world, world == 1 ? "" : "s",
              static_cast<long long>(steps * global), wall, static_cast<double>(global) / s.mean);
  std::printf(
      "  step time %.3f +/- %.3f s (median %.3f); data %.1f%%, forward %.1f%%, backward %.1f%%, "
      "exposed all-reduce %.1f%% (all-reduce %.3f s per step), update %.1f%%\n",
      s.mean, s.sd, s.median, 100 * T.data / T.step, 100 * T.forward / T.step, 100 * T.backward / T.step,
      100 * T.exposed / T.step, T.allreduce / static_cast<double>(steps), 100 * T.update / T.step);
  const double n = static_cast<double>(std::max<int64_t>(1, r.last_window.count));
  std::printf("  loss: first step %.4f, last window %.4f (top-1 %.1f%%, top-5 %.1f%%)\n", r.loss.front(),
              r.last_window.loss, 100.0 * r.last_window.top1 / n, 100.0 * r.last_window.top5 / n);
  if (r.skipped_steps) std::printf("  skipped steps (NaN/Inf): %lld\n", static_cast<long long>(r.skipped_steps));
  if (r.stopped_by_signal)
    std::printf("  stopped early by %s at step %lld: resume with --resume auto (or the checkpoint below)\n",
                signal_name(r.stopped_by_signal), static_cast<long long>(r.last_step));
  if (!r.last_checkpoint.empty()) std::printf("  checkpoint: %s\n", r.last_checkpoint.c_str());
}

// The phases and (when profiled) every layer, min / median / max over ranks. Collective.
void print_across(const TrainResult& r, const Phases& mean, const Cluster& cluster) {
  const int world = cluster.size;
  if (world > 1)
    print_across_ranks(cluster, "\nPhases per step across " + std::to_string(world) + " ranks (ms):", Phases::names(),
                       mean.values(), 1e3, "ms");
  if (r.profiled_steps == 0) return;
  std::vector<std::string> rows;
  std::vector<double> values;
  for (size_t k = 0; k < r.layer_rows.size(); ++k) {
    rows.push_back(r.layer_rows[k] + " fwd");
    values.push_back(r.layer_forward_s[k]);
    rows.push_back(r.layer_rows[k] + " bwd");
    values.push_back(r.layer_backward_s[k]);
  }
  print_across_ranks(cluster,
                     "\nPer-layer times over " + std::to_string(r.profiled_steps) + " profiled steps, across " +
                         std::to_string(world) + (world == 1 ? " rank" : " ranks") + " (ms per step, both towers):",
                     rows, values, 1e3, "ms");
}

// The JSON report: configuration, environment, every step's time, loss and rate, every rank's
// phases. Collective (rank 0 writes).
void write_train_json(const std::string& path, const TrainResult& r, const TrainConfig& cfg, const Phases& mean,
                      const Cluster& cluster) {
  const std::vector<double> every_rank = gather_to_root(cluster, mean.values());
  const std::vector<double> every_step = gather_to_root(cluster, r.step_s);
  const std::vector<RankPlace> placement = gather_placement(cluster);
  if (!cluster.root()) return;
  const int world = cluster.size;
  const Summary s = summarize(r.step_s);
  JsonWriter j;
  j.begin_object().value("tool", "alexnet train").value("version", code_version());
  j.begin_object("config")
      .value("batch", cfg.model.batch)
      .value("steps", r.plan.steps)
      .value("epochs", static_cast<double>(r.plan.steps) / r.plan.steps_per_epoch)
      .value("dataset_size", r.plan.dataset_size)
      .value("steps_per_epoch", r.plan.steps_per_epoch)
      .value("global_batch", cfg.model.batch * world)
      .value("layout", layout_name(cfg.model.layout))
      .value("device", cfg.model.device.str())
      .value("lr", r.plan.lr.str())
      .array("lr_decay_steps", std::vector<double>(r.plan.lr.decay_steps.begin(), r.plan.lr.decay_steps.end()))
      .value("input_size", cfg.model.config.input_size)
      .value("classes", cfg.model.config.classes)
      .end_object();
  write_environment(j);
  write_placement(j, placement);
  j.value("first_step", r.first_step)
      .value("last_step", r.last_step)
      .value("mean_step_s", s.mean)
      .value("sd_step_s", s.sd)
      .value("median_step_s", s.median)
      .value("images_per_s", static_cast<double>(cfg.model.batch * world) / s.mean)  // all ranks, as bench
      .value("ranks", static_cast<int64_t>(world))
      .array("step_s", r.step_s)
      .array("loss", r.loss)
      .array("lr", r.lr);
  write_options(j, cfg.options);
  j.begin_array("log");
  for (const LogPoint& p : r.log)
    j.begin_object()
        .value("step", p.step)
        .value("epoch", p.epoch)
        .value("loss", p.loss)
        .value("top1", p.top1)
        .value("top5", p.top5)
        .value("lr", p.lr)
        .value("images_per_s", p.images_per_s)
        .end_object();
  j.end_array().begin_array("eval");
  for (const EvalPoint& e : r.evals)
    j.begin_object()
        .value("step", e.step)
        .value("samples", e.samples)
        .value("loss", e.loss)
        .value("top1", e.top1)
        .value("top5", e.top5)
        .value("seconds", e.seconds)
        .end_object();
  j.end_array();
  j.begin_array("per_rank");
  const size_t np = Phases::names().size(), n = r.step_s.size();
  for (int rk = 0; rk < world; ++rk) {
    j.begin_object().value("rank", rk);
    for (size_t k = 0; k < np; ++k) j.value(Phases::names()[k] + " mean_s", every_rank[rk * np + k]);
    j.array("step_s", std::vector<double>(every_step.begin() + static_cast<long>(rk * n),
                                          every_step.begin() + static_cast<long>((rk + 1) * n)));
    j.end_object();
  }
  j.end_array().end_object();
  JsonWriter::write_file(path, j.str());
}

}  // namespace

int cmd_train(const std::vector<std::string>& args) {
  po::options_description desc("train options");
  add_train_options(desc);
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const auto parsed = parse_on_every_rank("train", desc, args, cluster);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const TrainConfig cfg = train_config_from(vm, cluster);
  check_output_file(cluster, "--json", vm.count("json") ? vm["json"].as<std::string>() : "");
  check_output_file(cluster, "--trace", cfg.trace_path);
  log_train_header(cfg, cluster.size);
  log_placement(cluster, "train");
  AlexNet net(cfg.model);
  const double t0 = now_seconds();
  const TrainResult r = train(cfg, net, cluster);
  const double wall = now_seconds() - t0;
  const int64_t steps = r.last_step - r.first_step;
  if (steps == 0) {
    LOG_INFO << "train: already at step " << r.last_step << " of " << r.plan.steps << "; nothing to do";
    return 0;
  }
  if (cluster.root()) print_train_summary(r, cfg, cluster.size, wall);
  const Phases mean = r.total.scaled(1.0 / static_cast<double>(steps));
  print_across(r, mean, cluster);
  std::fflush(stdout);
  if (vm.count("json")) write_train_json(vm["json"].as<std::string>(), r, cfg, mean, cluster);
  return 0;
}

}  // namespace alexnet
