// The training loop (see train.h): a Trainer owns one run's data, data parallelism, state and log
// window; run() is the loop, each part of a step a function of its own.
#include "run/train.h"

#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/log.h"
#include "io/loader.h"
#include "io/synthetic.h"
#include "model/step_timer.h"
#include "parallel/mpi_check.h"
#include "parallel/signals.h"
#include "parallel/watchdog.h"
#include "run/eval.h"
#include "run/input.h"
#include "run/stats.h"
#include "run/trace.h"

namespace alexnet {

RunPlan plan_run(const TrainConfig& cfg, int64_t dataset_size, int64_t global_batch) {
  ALEXNET_CHECK(dataset_size >= global_batch, "the data set holds " << dataset_size
                                                                    << " samples, fewer than one global batch ("
                                                                    << global_batch << ")");
  RunPlan p;
  p.dataset_size = dataset_size;
  p.steps_per_epoch = static_cast<double>(dataset_size) / static_cast<double>(global_batch);
  p.steps = cfg.epochs > 0 ? epoch_start_step(cfg.epochs, dataset_size, global_batch) : cfg.steps;
  ALEXNET_CHECK(p.steps >= 1, "a run of " << p.steps << " steps");
  p.lr = cfg.lr;
  for (int64_t e : cfg.lr_step_epochs)
    p.lr.decay_steps.push_back(epoch_start_step(static_cast<double>(e), dataset_size, global_batch));
  std::sort(p.lr.decay_steps.begin(), p.lr.decay_steps.end());
  return p;
}

namespace {

constexpr const char* kLayers[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"};

int layer_index(const std::string& layer) {
  for (int i = 0; i < 8; ++i)
    if (layer == kLayers[i]) return i;
  return -1;
}

// Sums loss statistics over the ranks (every rank gets the total) for the log line of `step`.
LossStats sum_over_ranks(const Cluster& c, LossStats s, int64_t step) {
  if (c.alone()) return s;
  WatchScope watch("the sum of the losses for the log of step " + std::to_string(step));
  double v[4] = {s.loss, static_cast<double>(s.top1), static_cast<double>(s.top5), static_cast<double>(s.count)};
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_SUM, c.world));
  return {v[0], static_cast<int64_t>(v[1]), static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3])};
}

struct Agreement {
  std::string nonfinite;  // "" when every rank's loss and gradients were finite; else who and where
  int signal = 0;         // a stop signal any rank received
  double mean_loss = 0;   // the step's loss, the mean over the ranks
};

// What every rank saw this step, agreed by all (one small collective per step).
Agreement agree(const Cluster& c, int64_t step, double loss, const CommTimes& ct, int sig) {
  constexpr size_t kN = 5;
  const double mine[kN] = {std::isfinite(loss) ? 0.0 : 1.0, static_cast<double>(layer_index(ct.nonfinite_layer)),
                           static_cast<double>(ct.nonfinite_tower), static_cast<double>(sig), loss};
  std::vector<double> all(kN * static_cast<size_t>(c.size));
  if (c.alone()) {
    std::copy(mine, mine + kN, all.begin());
  } else {
    WatchScope watch("the end-of-step agreement of step " + std::to_string(step + 1));
    MPI_CHECK(MPI_Allgather(mine, kN, MPI_DOUBLE, all.data(), kN, MPI_DOUBLE, c.world));
  }
  Agreement a;
  std::ostringstream os;
  for (int r = 0; r < c.size; ++r) {
    const double* v = &all[kN * static_cast<size_t>(r)];
    const int layer = static_cast<int>(v[1]);
    a.signal = std::max(a.signal, static_cast<int>(v[3]));
    a.mean_loss += v[4] / c.size;
    if (v[0] == 0 && layer < 0) continue;
    os << (os.tellp() == 0 ? "" : "; ") << "rank " << r << ": ";
    if (v[0] != 0) os << "the loss is NaN/Inf" << (layer >= 0 ? ", " : "");
    if (layer >= 0)
      os << "the first NaN/Inf gradient (backward order) is in " << kLayers[layer] << " of tower " << v[2];
  }
  if (os.tellp() > 0) a.nonfinite = "step " + std::to_string(step + 1) + ": non-finite values: " + os.str();
  return a;
}

// Rank 0 loads the checkpoint; every rank gets its weights, momentum and state. Returns what was
// loaded ("" when there was nothing to resume from).
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
  MPI_CHECK(MPI_Bcast(v, 4, MPI_INT64_T, 0, c.world));
  if (v[3] == 0) return "";
  st->step = v[0], st->samples_seen = v[1], st->dataset_size = v[2];
  st->rng = net.rng_state();
  uint64_t n = st->rng.size();
  MPI_CHECK(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, c.world));
  st->rng.resize(n);
  MPI_CHECK(MPI_Bcast(st->rng.data(), static_cast<int>(n), MPI_UINT64_T, 0, c.world));
  net.set_rng_state(st->rng);
  dp.broadcast_params();
  return c.root() ? loaded : "(rank 0's)";
}

// What a run reads: a shard set through the loader (every rank opens and checks it), or the
// synthetic set. batch() gives this rank's slice of the global batch at a stream position.
class TrainData {
 public:
  TrainData(const TrainConfig& cfg, const AlexNet& net, const Cluster& c)
      : cfg_(cfg),
        net_(net),
        rank_(c.rank),
        classes_(synthetic_classes(cfg, net)),
        synthetic_(cfg.synthetic_samples, classes_, net.options().config.input_size, net.options().seed),
        images_(net.images().shape, Device::cpu(), net.images().layout, DType::f32, /*pinned=*/net.on_gpu()),
        labels_(net.labels().shape, Device::cpu(), Layout::nchw, DType::i32, /*pinned=*/net.on_gpu()) {
    const int64_t model_classes = net.options().config.classes;
    if (cfg.data.empty()) return;
    const ShardIndex ix = ShardIndex::load(cfg.data);
    ALEXNET_CHECK(ix.num_classes <= model_classes,
                  cfg.data << " has " << ix.num_classes << " classes, the model " << model_classes << " (--classes)");
    shards_ = std::make_shared<const ShardReader>(ix);
  }

  int64_t size() const { return shards_ ? shards_->index().num_samples : synthetic_.size(); }
  bool from_shards() const { return shards_ != nullptr; }

  // The synthetic set's classes: --data-classes, or all of the model's.
  static int64_t synthetic_classes(const TrainConfig& cfg, const AlexNet& net) {
    const int64_t model_classes = net.options().config.classes;
    const int64_t k = cfg.data_classes > 0 ? cfg.data_classes : model_classes;
    ALEXNET_CHECK(k <= model_classes, "--data-classes " << k << " exceeds the model's " << model_classes << " classes");
    return k;
  }

  std::string describe() const {
    std::ostringstream os;
    if (shards_)
      os << cfg_.data << " (" << size() << " images of " << shards_->index().num_classes << " classes)";
    else
      os << "synthetic, in memory (" << size() << " images of " << classes_ << " classes)";
    return os.str();
  }

  // Starts reading at global stream position `samples_seen` (the loader prepares batches ahead).
  void start(int64_t samples_seen, const Cluster& c, Trace* trace) {
    if (!shards_) return;
    LoaderOptions lo = loader_options(net_, c);
    lo.shuffle = parse_shuffle(cfg_.shuffle), lo.shuffle_buffer = cfg_.shuffle_buffer;
    lo.threads = cfg_.loader_threads, lo.prefetch = cfg_.prefetch, lo.train = true, lo.start = samples_seen;
    lo.augment = cfg_.augment, lo.pca_std = cfg_.lighting_std, lo.augment_seed = cfg_.augment_seed.value_or(lo.seed);
    lo.trace = trace;
    loader_ = std::make_unique<Loader>(shards_, lo);
  }

  void stop() { loader_.reset(); }

  // This rank's slice of the global batch [samples_seen, samples_seen + global batch): host
  // tensors, valid until the next call.
  Batch batch(int64_t samples_seen) {
    if (loader_) return loader_->next();  // prepared in the background; here only the wait
    synthetic_.fill(*images_, *labels_, samples_seen + rank_ * net_.options().batch);
    return {*images_, *labels_, net_.options().batch, 0};
  }

  // Testing aid (--inject-nan STEP:RANK): the batch with a NaN in its first pixel.
  Batch poisoned(const Batch& b) {
    if (b.images.data != images_->data) copy(*images_, b.images), copy(*labels_, b.labels);
    images_->f32()[0] = std::numeric_limits<float>::quiet_NaN();
    return {*images_, *labels_, b.valid, b.step};
  }

 private:
  const TrainConfig& cfg_;
  const AlexNet& net_;
  int rank_;
  int64_t classes_;
  SyntheticDataset synthetic_;
  std::shared_ptr<const ShardReader> shards_;
  std::unique_ptr<Loader> loader_;
  OwnedTensor images_, labels_;  // staging in the model's image layout (pinned for GPUs)
};

// Losses and phases between two progress lines.
class LogWindow {
 public:
  // Time spent inside the window on something other than training (an evaluation): left out of
  // images/s.
  void exclude(double seconds) { excluded_ += seconds; }

  void add(const Phases& ph, const LossStats& ls, bool finite) {
    phases_ += ph;
    ++steps_;
    if (!finite) return;  // a skipped step's NaN stays out of the averages
    loss_.loss += ls.loss, loss_.top1 += ls.top1, loss_.top5 += ls.top5, loss_.count += ls.count;
    ++loss_steps_;
  }

  // Logs the window (collective: losses summed over ranks, step times gathered) and starts a new
  // one. Returns the window's loss statistics over all ranks (loss: the mean) and its numbers.
  LossStats log(const Cluster& c, const TrainState& st, int64_t steps, double lr, int64_t global_batch,
                LogPoint* point) {
    const double dt = now_seconds() - t0_ - excluded_;
    LossStats all = sum_over_ranks(c, loss_, st.step);
    all.loss =
        loss_steps_ ? all.loss / static_cast<double>(loss_steps_ * c.size) : std::numeric_limits<double>::quiet_NaN();
    const double count = std::max<double>(1.0, static_cast<double>(all.count));
    const Phases mean = phases_.scaled(1.0 / static_cast<double>(steps_));
    char line[320];
    std::snprintf(line, sizeof line,
                  "step %lld/%lld epoch %.2f loss %.4f top-1 %.1f%% top-5 %.1f%% lr %.3g %.1f images/s "
                  "(per step: data %.0f ms, forward %.0f, backward %.0f, all-reduce %.0f of which exposed %.0f, "
                  "update %.0f)",
                  static_cast<long long>(st.step), static_cast<long long>(steps), st.epoch(), all.loss,
                  100.0 * all.top1 / count, 100.0 * all.top5 / count, lr,
                  static_cast<double>(steps_ * global_batch) / dt, 1e3 * mean.data, 1e3 * mean.forward,
                  1e3 * mean.backward, 1e3 * mean.allreduce, 1e3 * mean.exposed, 1e3 * mean.update);
    // Collective: outside the log statement, which other ranks do not evaluate (info is rank 0's).
    const std::string across = across_ranks(c, mean, st.step);
    LOG_INFO << line << across;
    *point = {st.step,
              st.epoch(),
              all.loss,
              static_cast<double>(all.top1) / count,
              static_cast<double>(all.top5) / count,
              lr,
              static_cast<double>(steps_ * global_batch) / dt};
    *this = LogWindow{};
    return all;
  }

 private:
  // "; over N ranks: step min/median/max ..., exposed ..." on rank 0 (collective), "" alone.
  static std::string across_ranks(const Cluster& c, const Phases& mean, int64_t step) {
    if (c.alone()) return "";
    const std::vector<double> v = gather_to_root(
        c, {mean.step, mean.exposed}, "the gather of step times for the log of step " + std::to_string(step));
    if (!c.root()) return "";
    std::vector<double> steps, exposed;
    for (int r = 0; r < c.size; ++r) steps.push_back(v[2 * r]), exposed.push_back(v[2 * r + 1]);
    const Summary ss = summarize(steps), se = summarize(exposed);
    char buf[200];
    std::snprintf(buf, sizeof buf, "; over %d ranks: step min/median/max %.0f/%.0f/%.0f ms, exposed %.0f/%.0f/%.0f ms",
                  c.size, 1e3 * ss.min, 1e3 * ss.median, 1e3 * ss.max, 1e3 * se.min, 1e3 * se.median, 1e3 * se.max);
    return buf;
  }

  LossStats loss_;
  Phases phases_;
  int64_t steps_ = 0, loss_steps_ = 0;
  double t0_ = now_seconds();
  double excluded_ = 0;
};

// What one step produced.
struct StepOutcome {
  double t0 = 0, t1 = 0;         // when the step began and ended
  std::vector<PhaseSpan> spans;  // its phases, for a trace
  Phases phases;
  LossStats loss;
  Agreement agreed;
  double lr = 0;
};

class Trainer {
 public:
  Trainer(const TrainConfig& cfg, AlexNet& net, const Cluster& c)
      : cfg_(cfg), net_(net), cluster_(c), global_batch_(net.options().batch * c.size), data_(cfg, net, c) {
    res_.plan = plan_run(cfg, data_.size(), global_batch_);
    log_plan();
    dp_ = std::make_unique<DataParallel>(net, c, cfg.parallel);
    watchdog_ = start_watchdog(c, cfg.timeout_s);
    if (cfg.eval_every > 0) open_eval_set();
  }
  // The loader's threads may be adding to the trace: they stop first.
  ~Trainer() {
    data_.stop();
    tracer_.reset();
  }
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  TrainResult run() {
    start();
    const RunPlan& plan = res_.plan;
    for (int64_t s = st_.step; s < plan.steps; ++s) {
      current_step_ = s;
      const bool traced = tracer_ && tracer_->traces(s + 1);
      const bool profile = (cfg_.profile_every > 0 && s % cfg_.profile_every == 0) || traced;
      net_.timer().enable(profile);
      if (profile) net_.timer().clear();
      if (tracer_) tracer_->begin_step(s + 1);
      const StepOutcome o = step(s);
      if (profile) add_layer_times();
      if (tracer_) tracer_->end_step(s + 1, o.t0, o.t1, o.spans);
      record(o);
      const bool last = st_.step == plan.steps;
      if (st_.step % cfg_.log_every == 0 || last) {
        res_.log.emplace_back();
        res_.last_window = window_.log(cluster_, st_, plan.steps, o.lr, global_batch_, &res_.log.back());
      }
      if (eval_ && (st_.step % cfg_.eval_every == 0 || last)) evaluate_now();
      if (o.agreed.signal) {
        stop_by_signal(o.agreed.signal);
        break;
      }
      if (!cfg_.checkpoint_dir.empty() && !last && cfg_.checkpoint_every > 0 && st_.step % cfg_.checkpoint_every == 0)
        save();
    }
    finish();
    return res_;
  }

 private:
  // The log's account of the data and the schedule, once the data's size is known.
  void log_plan() const {
    const RunPlan& p = res_.plan;
    std::ostringstream os;
    os << "train: data: " << data_.describe() << "; an epoch is " << p.steps_per_epoch << " steps of the global batch "
       << global_batch_ << "; " << p.steps << " steps (" << static_cast<double>(p.steps) / p.steps_per_epoch
       << " epochs); " << p.lr.str();
    if (!cfg_.lr_step_epochs.empty()) {
      os << " (epochs";
      for (size_t i = 0; i < cfg_.lr_step_epochs.size(); ++i) os << (i ? "," : " ") << cfg_.lr_step_epochs[i];
      os << " begin at steps";
      for (size_t i = 0; i < cfg_.lr_step_epochs.size(); ++i)
        os << (i ? "," : " ")
           << epoch_start_step(static_cast<double>(cfg_.lr_step_epochs[i]), p.dataset_size, global_batch_);
      os << ")";
    }
    LOG_INFO << os.str();
  }

  // Resume or start everywhere alike, then the data stream, the testing aids and the signals.
  void start() {
    if (!cfg_.resume.empty()) {
      const std::string loaded = resume_everywhere(cfg_, net_, *dp_, &st_);
      if (loaded.empty())
        LOG_INFO << "train: no checkpoint found, starting from step 0";
      else
        LOG_INFO << "train: resumed from " << loaded << " at step " << st_.step << " (sample " << st_.samples_seen
                 << ")";
    }
    if (st_.step == 0) dp_->broadcast_params();  // the same start everywhere, whatever each rank drew
    const int64_t size = data_.size();
    if (st_.dataset_size != 0 && st_.dataset_size != size && cluster_.root())
      LOG_WARN << "train: the checkpoint's data set had " << st_.dataset_size << " samples, this one has " << size
               << "; continuing at sample " << st_.samples_seen;
    st_.dataset_size = size;
    if (!cfg_.trace_path.empty() && st_.step < res_.plan.steps)  // (a run with nothing to do traces nothing)
      tracer_ = std::make_unique<Tracer>(
          cfg_.trace_path, parse_trace_steps(cfg_.trace_steps, st_.step + 1, res_.plan.steps), "alexnet train", net_,
          *dp_, cluster_, data_.from_shards() ? cfg_.loader_threads : 0);
    data_.start(st_.samples_seen, cluster_, tracer_ ? tracer_->sink() : nullptr);
    res_.first_step = st_.step;
    net_.set_training(true);
    net_.timer().enable(false);
    res_.layer_rows = net_.timer().rows();
    res_.layer_forward_s.assign(res_.layer_rows.size(), 0.0);
    res_.layer_backward_s.assign(res_.layer_rows.size(), 0.0);
    if (cfg_.inject_step >= 0 && !cfg_.inject_layer.empty()) inject_gradient_nan();
    if (cfg_.handle_signals) install_stop_handlers();
  }

  // Testing aid (--inject-nan STEP:RANK:LAYER): a NaN in that layer's weight gradient of tower 0,
  // put there after the layer's backward, before its bucket is checked and sent.
  void inject_gradient_nan() {
    ALEXNET_CHECK(layer_index(cfg_.inject_layer) >= 0, "--inject-nan: no layer " << cfg_.inject_layer);
    dp_->set_bucket_hook([this](int tower, const Bucket& b, const Tensor&) {
      if (current_step_ != cfg_.inject_step || cluster_.rank != cfg_.inject_rank || tower != 0) return;
      const ParamEntry& e = net_.params(0).layout.weight(cfg_.inject_layer);
      if (e.offset < b.offset || e.offset >= b.offset + b.count) return;
      OwnedTensor nan(Shape{1}, Device::cpu());
      nan->f32()[0] = std::numeric_limits<float>::quiet_NaN();
      const size_t at = static_cast<size_t>(e.offset + e.numel() / 2) * sizeof(float);
      copy(net_.params(0).grads.tensor(Shape{1}, Layout::nchw, DType::f32, at), *nan);
    });
  }

  StepOutcome step(int64_t s) {
    StepOutcome o;
    const double t0 = now_seconds();
    Batch b = data_.batch(st_.samples_seen);
    if (s == cfg_.inject_step && cluster_.rank == cfg_.inject_rank && cfg_.inject_layer.empty()) b = data_.poisoned(b);
    net_.upload_batch(b.images, b.labels);
    const double t1 = now_seconds();
    net_.forward();
    net_.loss();  // its statistics are read below, once backward is queued
    const double t2 = now_seconds();
    dp_->begin_step(s);
    net_.backward();
    const double t3 = now_seconds();
    const CommTimes ct = dp_->finish_backward();
    o.lr = res_.plan.lr.at(s);
    o.loss = net_.loss_stats();
    o.agreed = agree(cluster_, s, o.loss.loss, ct, cfg_.handle_signals ? stop_signal() : 0);
    const double t4 = now_seconds();
    if (o.agreed.nonfinite.empty())
      net_.update(o.lr, cfg_.sgd, dp_->grad_scale());
    else
      skip_or_stop(o.agreed);
    {
      // The step ends when the GPUs are done (nothing to wait for on the CPU); with NCCL a stalled
      // rank shows up here, so the stall detector watches the wait.
      WatchScope watch("the GPUs to finish step " + std::to_string(s + 1));
      net_.synchronize();
    }
    const double t5 = now_seconds();
    o.phases = {t1 - t0, t2 - t1, t3 - t2, ct.allreduce_s + dp_->gpu_allreduce_seconds(), t4 - t3, t5 - t4, t5 - t0};
    o.t0 = t0, o.t1 = t5;
    if (tracer_ && tracer_->traces(s + 1)) {
      const double exposed_end = std::min(t4, t3 + ct.exposed_s);
      o.spans = {{"data wait", t0, t1},
                 {"forward", t1, t2},
                 {"backward", t2, t3},
                 {"all-reduce wait (exposed)", t3, exposed_end},
                 {"step agreement", exposed_end, t4},
                 {"update", t4, t5}};
    }
    return o;
  }

  // A NaN or Inf anywhere: every rank drops the update alike (skip), or stops after keeping the
  // weights from before this step (stop).
  void skip_or_stop(const Agreement& a) {
    if (cfg_.skip_nonfinite) {
      ++res_.skipped_steps;
      if (cluster_.root())
        LOG_WARN << a.nonfinite << "; the update is skipped on every rank (" << res_.skipped_steps
                 << " skipped so far)";
      return;
    }
    std::string saved;
    if (!cfg_.checkpoint_dir.empty()) {
      st_.rng = net_.rng_state();
      st_.options = cfg_.options;
      on_root(cluster_, [&] { saved = save_checkpoint(cfg_.checkpoint_dir, net_, st_, cfg_.keep); });
    }
    throw CollectiveError(a.nonfinite + "; training stopped" +
                          (saved.empty() ? std::string() : ", the weights before this step are in " + saved) +
                          " (--on-nonfinite skip drops such steps instead)");
  }

  void add_layer_times() {
    for (size_t k = 0; k < res_.layer_rows.size(); ++k) {
      res_.layer_forward_s[k] += net_.timer().forward_seconds()[k];
      res_.layer_backward_s[k] += net_.timer().backward_seconds()[k];
    }
    ++res_.profiled_steps;
  }

  void record(const StepOutcome& o) {
    st_.step += 1;
    st_.samples_seen += global_batch_;
    res_.step_s.push_back(o.phases.step);
    res_.loss.push_back(o.agreed.mean_loss);
    res_.lr.push_back(o.lr);
    res_.total += o.phases;
    window_.add(o.phases, o.loss, o.agreed.nonfinite.empty());
  }

  // Pre-emption: every rank stops here, after a checkpoint (finish()).
  // The log names the ranks the signal has reached by now (on Slurm: all of them, on every node).
  void stop_by_signal(int sig) {
    res_.stopped_by_signal = sig;
    const std::vector<double> got =
        gather_to_root(cluster_, {stop_signal() ? 1.0 : 0.0}, "the gather of who got the stop signal");
    const std::vector<std::string> hosts = gather_hostnames(cluster_);
    if (!cluster_.root()) return;
    std::vector<int> ranks;
    for (int r = 0; r < cluster_.size; ++r)
      if (got[static_cast<size_t>(r)] != 0) ranks.push_back(r);
    LOG_WARN << "train: " << signal_name(sig) << " received by " << ranks.size() << " of " << cluster_.size
             << (cluster_.size == 1 ? " rank" : " ranks") << " (" << ranks_by_node(ranks, hosts)
             << "): stopping after step " << st_.step
             << (cfg_.checkpoint_dir.empty() ? " (no --checkpoint-dir: nothing saved)" : ", writing a checkpoint");
  }

  void save() {
    st_.rng = net_.rng_state();
    st_.options = cfg_.options;
    const double t0 = now_seconds();
    on_root(
        cluster_,
        [&] {
          res_.last_checkpoint = save_checkpoint(cfg_.checkpoint_dir, net_, st_, cfg_.keep);
          LOG_INFO << "train: checkpoint " << res_.last_checkpoint;
        },
        "rank 0 to write the checkpoint of step " + std::to_string(st_.step));
    if (tracer_) tracer_->span("checkpoint", "checkpoint", t0, now_seconds());
  }

  // --eval-every: the evaluation set, opened (and checked) by every rank before training.
  void open_eval_set() {
    const ShardIndex ix = ShardIndex::load(cfg_.eval_data);
    ALEXNET_CHECK(ix.num_classes <= net_.options().config.classes,
                  "--eval-data " << cfg_.eval_data << " has " << ix.num_classes << " classes, the model "
                                 << net_.options().config.classes << " (--classes)");
    eval_ = std::make_shared<const ShardReader>(ix);
  }

  // The model on the evaluation set (every sample once across the ranks), then back to training.
  void evaluate_now() {
    const bool timing = net_.timer().enabled();
    net_.timer().enable(false);  // the evaluation's forward passes are not the step's
    const double t0 = now_seconds();
    const EvalResult r = evaluate(net_, eval_, cluster_, EvalOptions{.loader_threads = cfg_.loader_threads});
    const double t1 = now_seconds();
    net_.set_training(true);
    net_.timer().enable(timing);
    const double n = static_cast<double>(std::max<int64_t>(1, r.samples));
    res_.evals.push_back(
        {st_.step, r.samples, r.loss, static_cast<double>(r.top1) / n, static_cast<double>(r.top5) / n, t1 - t0});
    const EvalPoint& e = res_.evals.back();
    char line[200];
    std::snprintf(line, sizeof line,
                  "eval: step %lld: loss %.4f top-1 %.2f%% top-5 %.2f%% (%lld samples of %s, %.1f s)",
                  static_cast<long long>(e.step), e.loss, 100 * e.top1, 100 * e.top5, static_cast<long long>(e.samples),
                  cfg_.eval_data.c_str(), e.seconds);
    LOG_INFO << line;
    window_.exclude(t1 - t0);
    if (tracer_) tracer_->span("evaluation", "eval", t0, t1);
  }

  void finish() {
    if (res_.profiled_steps > 0)
      for (size_t k = 0; k < res_.layer_rows.size(); ++k) {
        res_.layer_forward_s[k] /= static_cast<double>(res_.profiled_steps);
        res_.layer_backward_s[k] /= static_cast<double>(res_.profiled_steps);
      }
    res_.last_step = st_.step;
    if (!cfg_.checkpoint_dir.empty() && res_.last_step > res_.first_step) save();
    if (tracer_) tracer_->finish();
  }

  const TrainConfig& cfg_;
  AlexNet& net_;
  Cluster cluster_;
  int64_t global_batch_;
  TrainData data_;
  TrainResult res_;
  std::unique_ptr<DataParallel> dp_;
  std::unique_ptr<Watchdog> watchdog_;
  TrainState st_;
  LogWindow window_;
  int64_t current_step_ = 0;
  std::unique_ptr<Tracer> tracer_;
  std::shared_ptr<const ShardReader> eval_;  // --eval-every
};

}  // namespace

TrainResult train(const TrainConfig& cfg, AlexNet& net, const Cluster& cluster) {
  Trainer trainer(cfg, net, cluster);
  return trainer.run();
}

}  // namespace alexnet
