// `alexnet train` and the training loop (see train.h).
#include "train.h"

#include <mpi.h>

#include <cstdio>
#include <sstream>

#include "cli.h"
#include "environment.h"
#include "json.h"
#include "log.h"
#include "stats.h"
#include "synthetic.h"

namespace po = boost::program_options;

namespace alexnet {

namespace {

std::vector<int64_t> parse_steps(const std::string& s) {
  std::vector<int64_t> out;
  for (const std::string& item : split_commas(s)) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
    }
    ALEXNET_CHECK(used == item.size() && v > 0, "'" << item << "' is not a positive step number");
    out.push_back(v);
  }
  return out;
}

}  // namespace

TrainResult train(const TrainConfig& cfg, AlexNet& net) {
  const ModelOptions& mo = net.options();
  const int64_t batch = mo.batch;
  const int64_t data_classes = cfg.data_classes > 0 ? cfg.data_classes : mo.config.classes;
  ALEXNET_CHECK(data_classes <= mo.config.classes,
                "--data-classes " << data_classes << " exceeds the model's " << mo.config.classes << " classes");
  SyntheticDataset data(cfg.synthetic_samples, data_classes, mo.config.input_size, mo.seed);

  TrainState st;
  TrainResult res;
  if (!cfg.resume.empty()) {
    const std::string what = cfg.resume == "auto" ? cfg.checkpoint_dir : cfg.resume;
    ALEXNET_CHECK(!what.empty(), "--resume auto needs --checkpoint-dir");
    const std::string loaded = resume_from(what, net, &st);
    if (loaded.empty()) LOG_INFO << "train: no checkpoint in " << what << ", starting from step 0";
    else LOG_INFO << "train: resumed from " << loaded << " at step " << st.step << " (sample " << st.samples_seen << ")";
  }
  if (st.dataset_size != 0 && st.dataset_size != data.size())
    LOG_WARN << "train: the checkpoint's data set had " << st.dataset_size << " samples, this one has " << data.size()
             << "; continuing at sample " << st.samples_seen;
  st.dataset_size = data.size();
  res.first_step = st.step;
  net.set_training(true);
  net.enable_timing(false);

  // Staging for the batch: the data generator writes host memory in the model's image layout.
  OwnedTensor images(net.images().shape, Device::cpu(), net.images().layout);
  OwnedTensor labels(net.labels().shape, Device::cpu(), Layout::nchw, DType::i32);

  LossStats window;
  int64_t window_steps = 0;
  double window_t0 = now_seconds();
  auto save = [&] {
    st.rng = net.rng_state();
    res.last_checkpoint = save_checkpoint(cfg.checkpoint_dir, net, st, cfg.keep);
    LOG_INFO << "train: checkpoint " << res.last_checkpoint;
  };

  for (int64_t step = st.step; step < cfg.steps; ++step) {
    const double t0 = now_seconds();
    data.fill(*images, *labels, st.samples_seen);
    copy(net.images(), *images);
    copy(net.labels(), *labels);
    const double t1 = now_seconds();
    net.forward();
    const LossStats ls = net.loss();
    const double t2 = now_seconds();
    net.backward();
    const double t3 = now_seconds();
    const double lr = cfg.lr.at(step);
    net.update(lr, cfg.sgd);
    const double t4 = now_seconds();

    st.step = step + 1;
    st.samples_seen += batch;
    res.step_s.push_back(t4 - t0);
    res.loss.push_back(ls.loss);
    res.data_s += t1 - t0;
    res.forward_s += t2 - t1;
    res.backward_s += t3 - t2;
    res.update_s += t4 - t3;
    window.loss += ls.loss;
    window.top1 += ls.top1;
    window.top5 += ls.top5;
    window.count += ls.count;
    ++window_steps;

    const bool last = st.step == cfg.steps;
    if (st.step % cfg.log_every == 0 || last) {
      const double dt = now_seconds() - window_t0;
      char line[256];
      std::snprintf(line, sizeof line,
                    "step %lld/%lld epoch %.2f loss %.4f top-1 %.1f%% top-5 %.1f%% lr %.3g %.1f images/s",
                    static_cast<long long>(st.step), static_cast<long long>(cfg.steps),
                    st.epoch(),
                    window.loss / static_cast<double>(window_steps), 100.0 * window.top1 / window.count,
                    100.0 * window.top5 / window.count, lr, static_cast<double>(window.count) / dt);
      const double n = static_cast<double>(res.step_s.size());
      char split[160];
      std::snprintf(split, sizeof split, " (per step: data %.0f ms, forward %.0f ms, backward %.0f ms, update %.0f ms)",
                    1e3 * res.data_s / n, 1e3 * res.forward_s / n, 1e3 * res.backward_s / n, 1e3 * res.update_s / n);
      LOG_INFO << line << split;
      res.last_window = window;
      res.last_window.loss /= static_cast<double>(window_steps);
      window = LossStats{};
      window_steps = 0;
      window_t0 = now_seconds();
    }
    if (!cfg.checkpoint_dir.empty() && !last && cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0) save();
  }
  res.last_step = st.step;
  if (!cfg.checkpoint_dir.empty() && res.last_step > res.first_step) save();
  return res;
}

int cmd_train(const std::vector<std::string>& args) {
  po::options_description desc("train options");
  add_run_options(desc, 128);
  desc.add_options()
      ("steps", po::value<int64_t>()->default_value(100), "total training steps (a resumed run continues to this)")
      ("synthetic-samples", po::value<int64_t>()->default_value(12800), "images in the synthetic data set")
      ("data-classes", po::value<int64_t>()->default_value(0), "classes used by the synthetic data (0: all)")
      ("lr", po::value<double>()->default_value(0.01), "base learning rate")
      ("momentum", po::value<double>()->default_value(0.9), "momentum")
      ("weight-decay", po::value<double>()->default_value(0.0005), "weight decay")
      ("lr-steps", po::value<std::string>()->default_value(""), "steps at which the rate is multiplied by --lr-gamma (a,b,...)")
      ("lr-step-epochs", po::value<std::string>()->default_value(""), "the same in epochs of the data set")
      ("lr-gamma", po::value<double>()->default_value(0.1), "step decay factor")
      ("warmup-steps", po::value<int64_t>()->default_value(0), "linear warm-up steps")
      ("lr-scaling", po::value<std::string>()->default_value("none"), "none, or linear: lr x global batch / 128")
      ("log-every", po::value<int64_t>()->default_value(10), "log every K steps")
      ("checkpoint-dir", po::value<std::string>()->default_value(""), "write checkpoints here")
      ("checkpoint-every", po::value<int64_t>()->default_value(0), "steps between checkpoints (0: only at the end)")
      ("keep", po::value<int>()->default_value(3), "checkpoints kept")
      ("resume", po::value<std::string>()->default_value(""), "a checkpoint file, a folder (its newest), or auto")
      ("json", po::value<std::string>(), "write the run's summary and per-step times and losses here");
  po::variables_map vm;
  if (!parse_options("train", desc, args, vm)) return 0;
  TrainConfig cfg;
  cfg.model = model_options_from(vm);
  int world = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  as_usage_error([&] {
    ALEXNET_CHECK(world == 1, "alexnet train runs on one rank for now (data parallel training is not built yet); "
                                  << world << " ranks were started");
    cfg.steps = vm["steps"].as<int64_t>();
    ALEXNET_CHECK(cfg.steps >= 1, "--steps must be at least 1");
    cfg.synthetic_samples = vm["synthetic-samples"].as<int64_t>();
    ALEXNET_CHECK(cfg.synthetic_samples >= cfg.model.batch, "--synthetic-samples " << cfg.synthetic_samples
                                                                                   << " is smaller than one batch");
    cfg.data_classes = vm["data-classes"].as<int64_t>();
    ALEXNET_CHECK(cfg.data_classes >= 0 && cfg.data_classes <= cfg.model.config.classes,
                  "--data-classes must be in [0, " << cfg.model.config.classes << "]");
    cfg.sgd = {vm["lr"].as<double>(), vm["momentum"].as<double>(), vm["weight-decay"].as<double>()};
    ALEXNET_CHECK(cfg.sgd.lr > 0 && cfg.sgd.momentum >= 0 && cfg.sgd.momentum < 1 && cfg.sgd.weight_decay >= 0,
                  "--lr must be > 0, --momentum in [0, 1), --weight-decay >= 0");
    cfg.lr.base_lr = cfg.sgd.lr;
    cfg.lr.global_batch = cfg.model.batch * world;
    const std::string scaling = vm["lr-scaling"].as<std::string>();
    ALEXNET_CHECK(scaling == "none" || scaling == "linear", "--lr-scaling must be none or linear");
    cfg.lr.linear_scaling = scaling == "linear";
    cfg.lr.warmup_steps = vm["warmup-steps"].as<int64_t>();
    ALEXNET_CHECK(cfg.lr.warmup_steps >= 0, "--warmup-steps must be >= 0");
    cfg.lr.gamma = vm["lr-gamma"].as<double>();
    cfg.lr.decay_steps = parse_steps(vm["lr-steps"].as<std::string>());
    const int64_t steps_per_epoch = std::max<int64_t>(1, cfg.synthetic_samples / cfg.lr.global_batch);
    for (int64_t e : parse_steps(vm["lr-step-epochs"].as<std::string>())) cfg.lr.decay_steps.push_back(e * steps_per_epoch);
    std::sort(cfg.lr.decay_steps.begin(), cfg.lr.decay_steps.end());
    cfg.log_every = vm["log-every"].as<int64_t>();
    ALEXNET_CHECK(cfg.log_every >= 1, "--log-every must be at least 1");
    cfg.checkpoint_dir = vm["checkpoint-dir"].as<std::string>();
    cfg.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
    ALEXNET_CHECK(cfg.checkpoint_every >= 0, "--checkpoint-every must be >= 0");
    cfg.keep = vm["keep"].as<int>();
    ALEXNET_CHECK(cfg.keep >= 1, "--keep must be at least 1");
    cfg.resume = vm["resume"].as<std::string>();
    return 0;
  });

  LOG_INFO << "train: AlexNet " << cfg.model.config.input_size << "px, " << cfg.model.config.classes
           << " classes, batch " << cfg.model.batch << ", " << layout_name(cfg.model.layout) << " on "
           << cfg.model.device.str() << " (" << cpu_threads() << " threads), " << cfg.lr.str() << ", momentum "
           << cfg.sgd.momentum << ", weight decay " << cfg.sgd.weight_decay << ", init "
           << init_recipe_name(cfg.model.init) << ", LRN " << cfg.model.config.lrn.str() << "; synthetic data: "
           << cfg.synthetic_samples << " images of " << (cfg.data_classes ? cfg.data_classes : cfg.model.config.classes)
           << " classes";
  AlexNet net(cfg.model);
  const double t0 = now_seconds();
  TrainResult r = train(cfg, net);
  const double wall = now_seconds() - t0;
  const int64_t steps = r.last_step - r.first_step;
  if (steps == 0) {
    LOG_INFO << "train: already at step " << r.last_step << " of " << cfg.steps << "; nothing to do";
    return 0;
  }
  const Summary s = summarize(r.step_s);
  const double total = r.data_s + r.forward_s + r.backward_s + r.update_s;
  std::printf("\nTraining finished: steps %lld..%lld, %lld images in %.1f s, %.1f images/s\n",
              static_cast<long long>(r.first_step), static_cast<long long>(r.last_step),
              static_cast<long long>(steps * cfg.model.batch), wall, static_cast<double>(cfg.model.batch) / s.mean);
  std::printf("  step time %.3f +/- %.3f s (median %.3f); data %.1f%%, forward %.1f%%, backward %.1f%%, update %.1f%%\n",
              s.mean, s.sd, s.median, 100 * r.data_s / total, 100 * r.forward_s / total, 100 * r.backward_s / total,
              100 * r.update_s / total);
  std::printf("  loss: first step %.4f, last window %.4f (top-1 %.1f%%, top-5 %.1f%%)\n", r.loss.front(),
              r.last_window.loss, 100.0 * r.last_window.top1 / std::max<int64_t>(1, r.last_window.count),
              100.0 * r.last_window.top5 / std::max<int64_t>(1, r.last_window.count));
  if (!r.last_checkpoint.empty()) std::printf("  checkpoint: %s\n", r.last_checkpoint.c_str());
  std::fflush(stdout);
  if (vm.count("json")) {
    JsonWriter j;
    j.begin_object().value("tool", "alexnet train").value("version", code_version());
    j.begin_object("config")
        .value("batch", cfg.model.batch)
        .value("steps", cfg.steps)
        .value("layout", layout_name(cfg.model.layout))
        .value("device", cfg.model.device.str())
        .value("lr", cfg.lr.str())
        .value("input_size", cfg.model.config.input_size)
        .value("classes", cfg.model.config.classes)
        .end_object();
    write_environment(j);
    j.value("first_step", r.first_step)
        .value("last_step", r.last_step)
        .value("mean_step_s", s.mean)
        .value("sd_step_s", s.sd)
        .value("median_step_s", s.median)
        .value("images_per_s", static_cast<double>(cfg.model.batch) / s.mean)
        .value("data_s", r.data_s)
        .value("forward_s", r.forward_s)
        .value("backward_s", r.backward_s)
        .value("update_s", r.update_s)
        .array("step_s", r.step_s)
        .array("loss", r.loss)
        .end_object();
    JsonWriter::write_file(vm["json"].as<std::string>(), j.str());
  }
  return 0;
}

}  // namespace alexnet
