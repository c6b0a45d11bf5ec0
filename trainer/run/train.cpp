// The training loop (see train.h).
#include "run/train.h"

#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <limits>
#include <regex>
#include <sstream>

#include "core/log.h"
#include "io/loader.h"
#include "io/synthetic.h"
#include "parallel/mpi_check.h"
#include "parallel/signals.h"
#include "parallel/watchdog.h"
#include "run/stats.h"

namespace alexnet {

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

}  // namespace alexnet
