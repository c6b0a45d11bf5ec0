// `alexnet train` and the training loop (see train.h).
#include "train.h"

#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <limits>
#include <regex>
#include <sstream>

#include "cli.h"
#include "environment.h"
#include "json.h"
#include "log.h"
#include "stats.h"
#include "signals.h"
#include "loader.h"
#include "synthetic.h"
#include "watchdog.h"

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

RunPlan plan_run(const TrainConfig& cfg, int64_t dataset_size, int64_t global_batch) {
  ALEXNET_CHECK(dataset_size >= global_batch, "the data set holds " << dataset_size << " samples, fewer than one global batch ("
                                                                     << global_batch << ")");
  RunPlan p;
  p.dataset_size = dataset_size;
  p.steps_per_epoch = static_cast<double>(dataset_size) / static_cast<double>(global_batch);
  p.steps = cfg.epochs > 0 ? epoch_start_step(cfg.epochs, dataset_size, global_batch) : cfg.steps;
  ALEXNET_CHECK(p.steps >= 1, "a run of " << p.steps << " steps");
  p.lr = cfg.lr;
  for (int64_t e : cfg.lr_step_epochs) p.lr.decay_steps.push_back(epoch_start_step(static_cast<double>(e), dataset_size, global_batch));
  std::sort(p.lr.decay_steps.begin(), p.lr.decay_steps.end());
  return p;
}

const std::vector<std::string>& Phases::names() {
  static const std::vector<std::string> n = {"data", "forward", "backward", "all-reduce", "all-reduce exposed",
                                             "update", "step"};
  return n;
}

std::vector<double> Phases::values() const { return {data, forward, backward, allreduce, exposed, update, step}; }

Phases& Phases::operator+=(const Phases& o) {
  data += o.data, forward += o.forward, backward += o.backward, allreduce += o.allreduce;
  exposed += o.exposed, update += o.update, step += o.step;
  return *this;
}

Phases Phases::scaled(double f) const {
  return {data * f, forward * f, backward * f, allreduce * f, exposed * f, update * f, step * f};
}

void print_across_ranks(const Cluster& c, const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<double>& values, double unit_scale, const char* unit) {
  const std::vector<double> all = gather_to_root(c, values);
  if (!c.root()) return;
  std::printf("%s\n%-22s %10s %10s %10s  %s\n", title.c_str(), "", "min", "median", "max", "slowest rank");
  for (size_t k = 0; k < rows.size(); ++k) {
    std::vector<double> v;
    int slowest = 0;
    for (int r = 0; r < c.size; ++r) {
      v.push_back(all[static_cast<size_t>(r) * rows.size() + k]);
      if (v.back() > v[static_cast<size_t>(slowest)]) slowest = r;
    }
    const Summary s = summarize(v);
    std::printf("%-22s %10.2f %10.2f %10.2f  %d  (%s)\n", rows[k].c_str(), s.min * unit_scale, s.median * unit_scale,
                s.max * unit_scale, slowest, unit);
  }
}

namespace {

// Sums loss statistics over the ranks (every rank gets the total).
LossStats sum_over_ranks(const Cluster& c, LossStats s) {
  if (c.alone()) return s;
  WatchScope watch("the sum of the losses for the log");
  double v[4] = {s.loss, static_cast<double>(s.top1), static_cast<double>(s.top5), static_cast<double>(s.count)};
  MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_SUM, c.world);
  return {v[0], static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3])};
}

constexpr const char* kLayers[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"};

int layer_index(const std::string& layer) {
  for (int i = 0; i < 8; ++i)
    if (layer == kLayers[i]) return i;
  return -1;
}

struct Agreement {
  std::string nonfinite;  // "" when every rank's loss and gradients were finite; else who and where
  int signal = 0;         // a stop signal any rank received
};

// What every rank saw this step, agreed by all (one small collective per step).
Agreement agree(const Cluster& c, int64_t step, bool loss_bad, const CommTimes& ct, int sig) {
  const int mine[4] = {loss_bad ? 1 : 0, layer_index(ct.nonfinite_layer), ct.nonfinite_tower, sig};
  std::vector<int> all(4 * static_cast<size_t>(c.size));
  if (c.alone()) {
    std::copy(mine, mine + 4, all.begin());
  } else {
    WatchScope watch("the end-of-step agreement of step " + std::to_string(step + 1));
    MPI_Allgather(mine, 4, MPI_INT, all.data(), 4, MPI_INT, c.world);
  }
  Agreement a;
  std::ostringstream os;
  for (int r = 0; r < c.size; ++r) {
    const int* v = &all[4 * static_cast<size_t>(r)];
    a.signal = std::max(a.signal, v[3]);
    if (!v[0] && v[1] < 0) continue;
    os << (a.nonfinite.empty() && os.tellp() == 0 ? "" : "; ") << "rank " << r << ": ";
    if (v[0]) os << "the loss is NaN/Inf" << (v[1] >= 0 ? ", " : "");
    if (v[1] >= 0) os << "the first NaN/Inf gradient (backward order) is in " << kLayers[v[1]] << " of tower " << v[2];
  }
  if (os.tellp() > 0) a.nonfinite = "step " + std::to_string(step + 1) + ": non-finite values: " + os.str();
  return a;
}

// Rank 0 loads the checkpoint; every rank gets its weights, momentum and state.
std::string resume_everywhere(const TrainConfig& cfg, AlexNet& net, DataParallel& dp, TrainState* st) {
  const Cluster& c = dp.cluster();
  const std::string what = cfg.resume == "auto" ? cfg.checkpoint_dir : cfg.resume;
  ALEXNET_CHECK(!what.empty(), "--resume auto needs --checkpoint-dir");
  std::string loaded;
  on_root(
      c,
      [&] {
        // auto: a folder that does not exist yet is a first run (the job script resubmitted as is).
        std::error_code ec;
        if (cfg.resume == "auto" && !std::filesystem::exists(what, ec)) return;
        loaded = resume_from(what, net, st);
      },
      "rank 0 to read the checkpoint");
  if (c.alone()) return loaded;
  int64_t v[4] = {st->step, st->samples_seen, st->dataset_size, loaded.empty() ? 0 : 1};
  MPI_Bcast(v, 4, MPI_INT64_T, 0, c.world);
  if (v[3] == 0) return "";
  st->step = v[0], st->samples_seen = v[1], st->dataset_size = v[2];
  st->rng = net.rng_state();
  uint64_t n = st->rng.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, c.world);
  st->rng.resize(n);
  MPI_Bcast(st->rng.data(), static_cast<int>(n), MPI_UINT64_T, 0, c.world);
  net.set_rng_state(st->rng);
  dp.broadcast_params();
  return c.root() ? loaded : "(rank 0's)";
}

}  // namespace

TrainResult train(const TrainConfig& cfg, AlexNet& net, const Cluster& cluster) {
  const ModelOptions& mo = net.options();
  const int64_t batch = mo.batch, global_batch = batch * cluster.size;
  const int64_t data_classes = cfg.data_classes > 0 ? cfg.data_classes : mo.config.classes;
  ALEXNET_CHECK(data_classes <= mo.config.classes,
                "--data-classes " << data_classes << " exceeds the model's " << mo.config.classes << " classes");
  SyntheticDataset data(cfg.synthetic_samples, data_classes, mo.config.input_size, mo.seed);
  std::shared_ptr<const ShardReader> shards;
  if (!cfg.data.empty()) {  // every rank opens and checks the shard set
    const ShardIndex ix = ShardIndex::load(cfg.data);
    ALEXNET_CHECK(ix.num_classes <= mo.config.classes, cfg.data << " has " << ix.num_classes << " classes, the model "
                                                                 << mo.config.classes << " (--classes)");
    shards = std::make_shared<const ShardReader>(ix);
  }
  const int64_t dataset_size = shards ? shards->index().num_samples : data.size();
  TrainResult res;
  res.plan = plan_run(cfg, dataset_size, global_batch);
  const RunPlan& plan = res.plan;
  {
    std::ostringstream os;
    os << "train: data: ";
    if (shards) os << cfg.data << " (" << dataset_size << " images of " << shards->index().num_classes << " classes)";
    else os << "synthetic, in memory (" << dataset_size << " images of " << data_classes << " classes)";
    os << "; an epoch is " << plan.steps_per_epoch << " steps of the global batch " << global_batch << "; "
       << plan.steps << " steps (" << static_cast<double>(plan.steps) / plan.steps_per_epoch << " epochs); "
       << plan.lr.str();
    if (!cfg.lr_step_epochs.empty()) {
      os << " (epochs";
      for (size_t i = 0; i < cfg.lr_step_epochs.size(); ++i) os << (i ? "," : " ") << cfg.lr_step_epochs[i];
      os << " begin at steps";
      for (size_t i = 0; i < cfg.lr_step_epochs.size(); ++i)
        os << (i ? "," : " ")
           << epoch_start_step(static_cast<double>(cfg.lr_step_epochs[i]), dataset_size, global_batch);
      os << ")";
    }
    LOG_INFO << os.str();
  }
  DataParallel dp(net, cluster, cfg.parallel);
  std::unique_ptr<Watchdog> watchdog;
  if (!cluster.alone() && cfg.timeout_s > 0) watchdog = std::make_unique<Watchdog>(cluster, cfg.timeout_s);

  TrainState st;
  if (!cfg.resume.empty()) {
    const std::string loaded = resume_everywhere(cfg, net, dp, &st);
    if (loaded.empty()) LOG_INFO << "train: no checkpoint found, starting from step 0";
    else LOG_INFO << "train: resumed from " << loaded << " at step " << st.step << " (sample " << st.samples_seen << ")";
  }
  if (st.step == 0) dp.broadcast_params();  // the same start everywhere, whatever each rank drew
  if (st.dataset_size != 0 && st.dataset_size != dataset_size && cluster.root())
    LOG_WARN << "train: the checkpoint's data set had " << st.dataset_size << " samples, this one has " << dataset_size
             << "; continuing at sample " << st.samples_seen;
  st.dataset_size = dataset_size;
  std::unique_ptr<Loader> loader;
  if (shards) {
    LoaderOptions lo;
    lo.batch = batch, lo.rank = cluster.rank, lo.ranks = cluster.size, lo.seed = mo.seed;
    lo.shuffle = parse_shuffle(cfg.shuffle), lo.shuffle_buffer = cfg.shuffle_buffer;
    lo.threads = cfg.loader_threads, lo.prefetch = cfg.prefetch, lo.train = true;
    lo.crop = mo.config.input_size, lo.layout = net.images().layout, lo.start = st.samples_seen;
    lo.pinned = net.on_gpu();  // the batch goes to the GPUs straight from the loader's memory
    loader = std::make_unique<Loader>(shards, lo);
  }
  res.first_step = st.step;
  net.set_training(true);
  net.enable_timing(false);
  res.layer_rows = net.timing_rows();
  res.layer_forward_s.assign(res.layer_rows.size(), 0.0);
  res.layer_backward_s.assign(res.layer_rows.size(), 0.0);

  // Staging for the batch: the data generator writes host memory in the model's image layout.
  OwnedTensor images(net.images().shape, Device::cpu(), net.images().layout, DType::f32, /*pinned=*/net.on_gpu());
  OwnedTensor labels(net.labels().shape, Device::cpu(), Layout::nchw, DType::i32, /*pinned=*/net.on_gpu());

  int64_t current_step = st.step;
  if (cfg.inject_step >= 0 && !cfg.inject_layer.empty()) {
    ALEXNET_CHECK(layer_index(cfg.inject_layer) >= 0, "--inject-nan: no layer " << cfg.inject_layer);
    dp.set_bucket_hook([&](int tower, const Bucket& b, const Tensor&) {
      if (current_step != cfg.inject_step || cluster.rank != cfg.inject_rank || tower != 0) return;
      const ParamEntry& e = net.params(0).layout.weight(cfg.inject_layer);
      if (e.offset < b.offset || e.offset >= b.offset + b.count) return;
      OwnedTensor nan(Shape{1}, Device::cpu());
      nan->f32()[0] = std::numeric_limits<float>::quiet_NaN();
      const size_t at = static_cast<size_t>(e.offset + e.numel() / 2) * sizeof(float);
      copy(net.params(0).grads.tensor(Shape{1}, Layout::nchw, DType::f32, at), *nan);  // after the layer's backward
    });
  }
  if (cfg.handle_signals) install_stop_handlers();

  LossStats window;
  Phases window_phases;
  int64_t window_steps = 0, window_loss_steps = 0;
  double window_t0 = now_seconds();
  auto save = [&] {
    st.rng = net.rng_state();
    on_root(
        cluster,
        [&] {
          res.last_checkpoint = save_checkpoint(cfg.checkpoint_dir, net, st, cfg.keep);
          LOG_INFO << "train: checkpoint " << res.last_checkpoint;
        },
        "rank 0 to write the checkpoint of step " + std::to_string(st.step));
  };

  for (int64_t step = st.step; step < plan.steps; ++step) {
    current_step = step;
    const bool profile = cfg.profile_every > 0 && step % cfg.profile_every == 0;
    net.enable_timing(profile);
    if (profile) net.clear_timing();
    Phases ph;
    const double t0 = now_seconds();
    // This rank's slice of the global batch [samples_seen, samples_seen + global_batch).
    Tensor batch_images = *images, batch_labels = *labels;
    if (loader) {
      const Batch& b = loader->next();  // prepared in the background; here only the wait
      batch_images = b.images, batch_labels = b.labels;  // valid until the next next()
    } else {
      data.fill(*images, *labels, st.samples_seen + cluster.rank * batch);
    }
    if (step == cfg.inject_step && cluster.rank == cfg.inject_rank && cfg.inject_layer.empty()) {
      if (batch_images.data != images->data) copy(*images, batch_images), copy(*labels, batch_labels);
      images->f32()[0] = std::numeric_limits<float>::quiet_NaN();
      batch_images = *images, batch_labels = *labels;
    }
    net.upload_batch(batch_images, batch_labels);
    const double t1 = now_seconds();
    net.forward();
    net.loss();  // its statistics are read below, once backward is queued
    const double t2 = now_seconds();
    dp.begin_step(step);
    net.backward();
    const double t3 = now_seconds();
    const CommTimes ct = dp.finish_backward();
    const double lr = plan.lr.at(step);
    const LossStats ls = net.loss_stats();
    const Agreement ag = agree(cluster, step, !std::isfinite(ls.loss), ct, cfg.handle_signals ? stop_signal() : 0);
    const double t4 = now_seconds();
    if (ag.nonfinite.empty()) {
      net.update(lr, cfg.sgd, dp.grad_scale());
    } else if (cfg.skip_nonfinite) {
      ++res.skipped_steps;  // every rank drops this update alike
      if (cluster.root()) LOG_WARN << ag.nonfinite << "; the update is skipped on every rank (" << res.skipped_steps
               << " skipped so far)";
    } else {
      // The weights are still those before this step: keep them, then stop every rank.
      std::string saved;
      if (!cfg.checkpoint_dir.empty()) {
        st.rng = net.rng_state();
        on_root(cluster, [&] { saved = save_checkpoint(cfg.checkpoint_dir, net, st, cfg.keep); });
      }
      throw CollectiveError(ag.nonfinite + "; training stopped" +
                            (saved.empty() ? std::string() : ", the weights before this step are in " + saved) +
                            " (--on-nonfinite skip drops such steps instead)");
    }
    {
      // The step ends when the GPUs are done (nothing to wait for on the CPU); with NCCL a stalled
      // rank shows up here, so the stall detector watches the wait.
      WatchScope watch("the GPUs to finish step " + std::to_string(step + 1));
      net.synchronize();
    }
    const double t5 = now_seconds();
    ph = {t1 - t0, t2 - t1, t3 - t2, ct.allreduce_s + dp.gpu_allreduce_seconds(), t4 - t3, t5 - t4, t5 - t0};
    if (profile) {
      for (size_t k = 0; k < res.layer_rows.size(); ++k) {
        res.layer_forward_s[k] += net.forward_seconds()[k];
        res.layer_backward_s[k] += net.backward_seconds()[k];
      }
      ++res.profiled_steps;
    }

    st.step = step + 1;
    st.samples_seen += global_batch;
    res.step_s.push_back(ph.step);
    res.loss.push_back(ls.loss);
    res.lr.push_back(lr);
    res.total += ph;
    window_phases += ph;
    if (ag.nonfinite.empty()) {  // a skipped step's NaN stays out of the averages
      window.loss += ls.loss;
      window.top1 += ls.top1;
      window.top5 += ls.top5;
      window.count += ls.count;
      ++window_loss_steps;
    }
    ++window_steps;

    const bool last = st.step == plan.steps;
    if (st.step % cfg.log_every == 0 || last) {
      const double dt = now_seconds() - window_t0;
      const LossStats all = sum_over_ranks(cluster, window);
      const double mean_loss = window_loss_steps ? all.loss / static_cast<double>(window_loss_steps * cluster.size)
                                                 : std::numeric_limits<double>::quiet_NaN();
      const double count = std::max<double>(1.0, static_cast<double>(all.count));
      const Phases mean = window_phases.scaled(1.0 / static_cast<double>(window_steps));
      char line[320];
      std::snprintf(line, sizeof line,
                    "step %lld/%lld epoch %.2f loss %.4f top-1 %.1f%% top-5 %.1f%% lr %.3g %.1f images/s "
                    "(per step: data %.0f ms, forward %.0f, backward %.0f, all-reduce %.0f of which exposed %.0f, "
                    "update %.0f)",
                    static_cast<long long>(st.step), static_cast<long long>(plan.steps), st.epoch(), mean_loss,
                    100.0 * all.top1 / count, 100.0 * all.top5 / count, lr,
                    static_cast<double>(window_steps * global_batch) / dt, 1e3 * mean.data, 1e3 * mean.forward, 1e3 * mean.backward,
                    1e3 * mean.allreduce, 1e3 * mean.exposed, 1e3 * mean.update);
      std::string across;
      if (!cluster.alone()) {
        const std::vector<double> v = gather_to_root(cluster, {mean.step, mean.exposed});
        if (cluster.root()) {
          std::vector<double> steps, exposed;
          for (int r = 0; r < cluster.size; ++r) steps.push_back(v[2 * r]), exposed.push_back(v[2 * r + 1]);
          const Summary ss = summarize(steps), se = summarize(exposed);
          char buf[200];
          std::snprintf(buf, sizeof buf, "; over %d ranks: step min/median/max %.0f/%.0f/%.0f ms, exposed %.0f/%.0f/%.0f ms",
                        cluster.size, 1e3 * ss.min, 1e3 * ss.median, 1e3 * ss.max, 1e3 * se.min, 1e3 * se.median,
                        1e3 * se.max);
          across = buf;
        }
      }
      LOG_INFO << line << across;
      res.last_window = all;
      res.last_window.loss = mean_loss;
      window = LossStats{};
      window_phases = Phases{};
      window_steps = 0;
      window_loss_steps = 0;
      window_t0 = now_seconds();
    }
    if (ag.signal) {  // pre-emption: every rank stops here, after a checkpoint
      res.stopped_by_signal = ag.signal;
      if (cluster.root()) LOG_WARN << "train: " << signal_name(ag.signal) << " received: stopping after step " << st.step
               << (cfg.checkpoint_dir.empty() ? " (no --checkpoint-dir: nothing saved)" : ", writing a checkpoint");
      break;
    }
    if (!cfg.checkpoint_dir.empty() && !last && cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0) save();
  }
  if (res.profiled_steps > 0)
    for (size_t k = 0; k < res.layer_rows.size(); ++k) {
      res.layer_forward_s[k] /= static_cast<double>(res.profiled_steps);
      res.layer_backward_s[k] /= static_cast<double>(res.profiled_steps);
    }
  res.last_step = st.step;
  if (!cfg.checkpoint_dir.empty() && res.last_step > res.first_step) save();
  return res;
}

int cmd_train(const std::vector<std::string>& args) {
  po::options_description desc("train options");
  add_run_options(desc, 128);
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
      ("lr", po::value<double>()->default_value(0.01), "base learning rate")
      ("momentum", po::value<double>()->default_value(0.9), "momentum")
      ("weight-decay", po::value<double>()->default_value(0.0005), "weight decay")
      ("lr-steps", po::value<std::string>()->default_value(""), "steps at which the rate is multiplied by --lr-gamma (a,b,...)")
      ("lr-step-epochs", po::value<std::string>()->default_value(""),
       "the same in epochs of the data actually used: epoch e begins at step ceil(e x samples / global batch)")
      ("lr-gamma", po::value<double>()->default_value(0.1), "step decay factor")
      ("warmup-steps", po::value<int64_t>()->default_value(0), "linear warm-up steps")
      ("lr-scaling", po::value<std::string>()->default_value("none"), "none, or linear: lr x global batch / 128")
      ("log-every", po::value<int64_t>()->default_value(10), "log every K steps")
      ("checkpoint-dir", po::value<std::string>()->default_value(""), "write checkpoints here")
      ("checkpoint-every", po::value<int64_t>()->default_value(0), "steps between checkpoints (0: only at the end)")
      ("keep", po::value<int>()->default_value(3), "checkpoints kept")
      ("resume", po::value<std::string>()->default_value(""), "a checkpoint file, a folder (its newest), or auto")
      ("profile-every", po::value<int64_t>()->default_value(0),
       "time every layer on every K-th step and report each layer's min/median/max over ranks (0: off)")
      ("profile-layers", "time every layer on every step (as --profile-every 1)")
      ("timeout", po::value<double>()->default_value(60),
       "seconds a collective may wait before the job is ended as stalled, naming the silent ranks (0: never)")
      ("on-nonfinite", po::value<std::string>()->default_value("stop"),
       "a NaN/Inf in a loss or gradient: stop (naming step, layer and rank; the weights before the step are "
       "checkpointed) or skip (drop that step's update on every rank)")
      ("check-nonfinite", po::value<std::string>()->default_value("on"),
       "scan every gradient bucket for NaN/Inf before it is sent (off: only the loss is checked)")
      ("inject-nan", po::value<std::string>()->default_value(""),
       "testing aid: STEP:RANK puts a NaN into rank RANK's images at step STEP (1-based); STEP:RANK:LAYER into "
       "that layer's weight gradient instead")
      ("json", po::value<std::string>(), "write the run's summary and per-step times and losses here");
  po::variables_map vm;
  if (!parse_options("train", desc, args, vm)) return 0;
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  check_same_config(cluster, options_as_config(vm));
  TrainConfig cfg;
  cfg.model = model_options_from(vm, cluster);
  cfg.parallel = data_parallel_from(vm);
  const int world = cluster.size;
  as_usage_error([&] {
    ALEXNET_CHECK(vm.count("steps") + vm.count("epochs") == 1,
                  (vm.count("steps") ? "give --steps or --epochs, not both" : "give the length of the run: --steps N or --epochs E"));
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
    std::sort(cfg.lr.decay_steps.begin(), cfg.lr.decay_steps.end());
    cfg.lr_step_epochs = parse_steps(vm["lr-step-epochs"].as<std::string>());  // steps once the data is known
    cfg.log_every = vm["log-every"].as<int64_t>();
    ALEXNET_CHECK(cfg.log_every >= 1, "--log-every must be at least 1");
    cfg.checkpoint_dir = vm["checkpoint-dir"].as<std::string>();
    cfg.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
    ALEXNET_CHECK(cfg.checkpoint_every >= 0, "--checkpoint-every must be >= 0");
    cfg.keep = vm["keep"].as<int>();
    ALEXNET_CHECK(cfg.keep >= 1, "--keep must be at least 1");
    cfg.resume = vm["resume"].as<std::string>();
    cfg.profile_every = vm.count("profile-layers") ? 1 : vm["profile-every"].as<int64_t>();
    const std::string nonfinite = vm["on-nonfinite"].as<std::string>();
    ALEXNET_CHECK(nonfinite == "stop" || nonfinite == "skip", "--on-nonfinite must be stop or skip, got " << nonfinite);
    cfg.skip_nonfinite = nonfinite == "skip";
    const std::string check = vm["check-nonfinite"].as<std::string>();
    ALEXNET_CHECK(check == "on" || check == "off", "--check-nonfinite must be on or off, got " << check);
    cfg.parallel.check_finite = check == "on";
    cfg.handle_signals = true;
    cfg.timeout_s = vm["timeout"].as<double>();
    ALEXNET_CHECK(cfg.timeout_s >= 0, "--timeout must be >= 0 seconds, got " << cfg.timeout_s);
    const auto inject = split_commas(vm["inject-nan"].as<std::string>().empty()
                                         ? std::string()
                                         : std::regex_replace(vm["inject-nan"].as<std::string>(), std::regex(":"), ","));
    if (!inject.empty()) {
      ALEXNET_CHECK(inject.size() >= 2 && inject.size() <= 3, "--inject-nan takes STEP:RANK[:LAYER]");
      cfg.inject_step = std::stoll(inject[0]) - 1;
      cfg.inject_rank = std::stoi(inject[1]);
      if (inject.size() == 3) cfg.inject_layer = inject[2];
      ALEXNET_CHECK(cfg.inject_step >= 0 && cfg.inject_rank >= 0 && cfg.inject_rank < world,
                    "--inject-nan: step must be >= 1 and rank in [0, " << world << ")");
    }
    ALEXNET_CHECK(cfg.profile_every >= 0, "--profile-every must be >= 0");
    ALEXNET_CHECK(cfg.synthetic_samples >= cfg.model.batch * world,
                  "--synthetic-samples " << cfg.synthetic_samples << " is smaller than one global batch ("
                                         << cfg.model.batch << " x " << world << " ranks)");
    return 0;
  });

  LOG_INFO << "train: " << world << (world == 1 ? " rank" : " ranks") << " x batch " << cfg.model.batch
           << " (global " << cfg.model.batch * world << "), gradient buckets of " << cfg.parallel.bucket_mb
           << " MB, overlap " << (cfg.parallel.overlap ? "on" : "off");
  LOG_INFO << "train: AlexNet " << cfg.model.config.input_size << "px, " << cfg.model.config.classes
           << " classes, batch " << cfg.model.batch << ", " << layout_name(cfg.model.layout) << " on "
           << cfg.model.device.str() << " (" << cpu_threads() << " threads), momentum " << cfg.sgd.momentum
           << ", weight decay " << cfg.sgd.weight_decay << ", init " << init_recipe_name(cfg.model.init) << ", LRN "
           << cfg.model.config.lrn.str();
  AlexNet net(cfg.model);
  const double t0 = now_seconds();
  TrainResult r = train(cfg, net, cluster);
  const double wall = now_seconds() - t0;
  const int64_t steps = r.last_step - r.first_step;
  if (steps == 0) {
    LOG_INFO << "train: already at step " << r.last_step << " of " << r.plan.steps << "; nothing to do";
    return 0;
  }
  const Summary s = summarize(r.step_s);
  const Phases& T = r.total;
  const double total = T.step;
  if (cluster.root()) {
    std::printf("\nTraining finished: steps %lld..%lld on %d rank%s, %lld images in %.1f s, %.1f images/s\n",
                static_cast<long long>(r.first_step), static_cast<long long>(r.last_step), world, world == 1 ? "" : "s",
                static_cast<long long>(steps * cfg.model.batch * world), wall,
                static_cast<double>(cfg.model.batch * world) / s.mean);
    std::printf("  step time %.3f +/- %.3f s (median %.3f); data %.1f%%, forward %.1f%%, backward %.1f%%, "
                "exposed all-reduce %.1f%% (all-reduce %.3f s per step), update %.1f%%\n",
                s.mean, s.sd, s.median, 100 * T.data / total, 100 * T.forward / total, 100 * T.backward / total,
                100 * T.exposed / total, T.allreduce / static_cast<double>(steps), 100 * T.update / total);
    std::printf("  loss: first step %.4f, last window %.4f (top-1 %.1f%%, top-5 %.1f%%)\n", r.loss.front(),
                r.last_window.loss, 100.0 * r.last_window.top1 / std::max<int64_t>(1, r.last_window.count),
                100.0 * r.last_window.top5 / std::max<int64_t>(1, r.last_window.count));
    if (r.skipped_steps) std::printf("  skipped steps (NaN/Inf): %lld\n", static_cast<long long>(r.skipped_steps));
    if (r.stopped_by_signal)
      std::printf("  stopped early by %s at step %lld: resume with --resume auto (or the checkpoint below)\n",
                  signal_name(r.stopped_by_signal), static_cast<long long>(r.last_step));
    if (!r.last_checkpoint.empty()) std::printf("  checkpoint: %s\n", r.last_checkpoint.c_str());
  }
  const Phases mean = T.scaled(1.0 / static_cast<double>(steps));
  if (world > 1)
    print_across_ranks(cluster, "\nPhases per step across " + std::to_string(world) + " ranks (ms):", Phases::names(),
                       mean.values(), 1e3, "ms");
  if (r.profiled_steps > 0) {
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
  std::fflush(stdout);
  const std::vector<double> every_rank = gather_to_root(cluster, mean.values());
  const std::vector<double> every_step = gather_to_root(cluster, r.step_s);
  if (vm.count("json") && cluster.root()) {
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
    j.value("first_step", r.first_step)
        .value("last_step", r.last_step)
        .value("mean_step_s", s.mean)
        .value("sd_step_s", s.sd)
        .value("median_step_s", s.median)
        .value("images_per_s", static_cast<double>(cfg.model.batch) / s.mean)
        .value("ranks", static_cast<int64_t>(world))
        .array("step_s", r.step_s)
        .array("loss", r.loss)
        .array("lr", r.lr);
    j.begin_array("per_rank");
    const size_t np = Phases::names().size();
    for (int rk = 0; rk < world; ++rk) {
      j.begin_object().value("rank", rk);
      for (size_t k = 0; k < np; ++k) j.value(Phases::names()[k] + " mean_s", every_rank[rk * np + k]);
      j.array("step_s", std::vector<double>(every_step.begin() + rk * static_cast<long>(r.step_s.size()),
                                            every_step.begin() + (rk + 1) * static_cast<long>(r.step_s.size())));
      j.end_object();
    }
    j.end_array().end_object();
    JsonWriter::write_file(vm["json"].as<std::string>(), j.str());
  }
  return 0;
}

}  // namespace alexnet
