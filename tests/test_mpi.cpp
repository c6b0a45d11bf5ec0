// Data parallelism under mpiexec (2 and 4 ranks, on the CPU; with a GPU per rank, NCCL too): after training steps every
// rank holds bit-identical weights; R ranks with batch b make the same updates as one process with batch R*b (dropout
// off), with overlap on and off and with one or many buckets; buckets cover the flat gradients exactly, in backward
// order. Every rank runs every test; failures anywhere fail every rank's exit code.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cli/options.h"
#include "core/device.h"
#include "layers/backend_info.h"
#include "parallel/data_parallel.h"
#include "run/train.h"

namespace alexnet {
namespace {

TrainConfig small_config(int64_t batch) {
  TrainConfig c;
  c.model.config.input_size = 67;
  c.model.config.classes = 10;
  c.model.config.width = 0.25;
  c.model.batch = batch;
  c.model.seed = 9;
  c.steps = 3;
  c.synthetic_samples = 256;
  c.sgd = {.momentum = 0.9, .weight_decay = 0.0005};
  c.lr.base_lr = 0.05;
  c.log_every = 1000;
  return c;
}

std::vector<float> values(AlexNet& net, int t) { return host_floats(net.params(t).all_values()); }

// Whether the weights of every rank equal rank 0's, bit for bit (every rank gets the answer).
bool identical_across_ranks(AlexNet& net, int t) {
  std::vector<float> mine = values(net, t), root = mine;
  MPI_Bcast(root.data(), static_cast<int>(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  int differs = std::memcmp(mine.data(), root.data(), mine.size() * sizeof(float)) != 0, n = 0;
  MPI_Allreduce(&differs, &n, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return n == 0;
}

// "" when every rank of this node has a GPU of its own (NCCL wants one GPU per rank), else why not.
std::string gpu_per_rank(const Cluster& cluster) {
  std::string why;
  const auto gpus = list_gpus(&why);
  if (gpus.empty()) return "no GPU (" + why + ")";
  if (static_cast<int>(gpus.size()) < cluster.local_size)
    return std::to_string(cluster.local_size) + " ranks on this node but " + std::to_string(gpus.size()) + " GPU(s)";
  return "";
}

TEST(DataParallel, EveryRankHoldsBitIdenticalWeights) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  for (bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap on" : "overlap off");
    TrainConfig c = small_config(4);
    c.model.dropout = 0.5;  // each rank draws its own masks
    c.model.rng_stream = static_cast<uint64_t>(cluster.rank);
    c.parallel = {1.0, overlap};  // 1 MB buckets: several per tower
    AlexNet net(c.model);
    train(c, net, cluster);
    for (int t = 0; t < 2; ++t)
      EXPECT_TRUE(identical_across_ranks(net, t)) << "some rank holds tower " << t << " weights unlike rank 0's";
  }
}

TEST(DataParallel, RanksEqualOneProcessWithTheWholeBatch) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const int64_t b = 4;
  struct Variant {
    bool overlap;
    double bucket_mb;
  };
  for (Variant v : {Variant{true, 25}, Variant{true, 0.5}, Variant{false, 25}, Variant{false, 0.5}}) {
    SCOPED_TRACE(std::string(v.overlap ? "overlap on" : "overlap off") + ", buckets of " + std::to_string(v.bucket_mb) +
                 " MB");
    TrainConfig c = small_config(b);
    c.model.dropout = 0;
    c.parallel = {v.bucket_mb, v.overlap};
    AlexNet net(c.model);
    const TrainResult r = train(c, net, cluster);

    TrainConfig whole = small_config(b * cluster.size);  // the same samples in one batch
    whole.model.dropout = 0;
    AlexNet ref(whole.model);
    const TrainResult rr = train(whole, ref);  // alone
    EXPECT_NEAR(r.last_window.loss, rr.last_window.loss, 1e-4 * std::fabs(rr.last_window.loss));
    for (int t = 0; t < 2; ++t) {
      const auto got = values(net, t), want = values(ref, t);
      double max_abs = 0, worst = 0;
      size_t bad = 0;
      for (size_t i = 0; i < want.size(); ++i) max_abs = std::max(max_abs, std::fabs(double(want[i])));
      for (size_t i = 0; i < want.size(); ++i) {
        const double err = std::fabs(double(got[i]) - want[i]);
        worst = std::max(worst, err);
        bad += err > 1e-6 * max_abs + 1e-4 * std::fabs(double(want[i]));
      }
      EXPECT_EQ(bad, 0u) << "tower " << t << ": " << bad << " weights differ; worst abs error " << worst
                         << " (largest weight " << max_abs << ")";
    }
  }
}

TEST(NonFinite, SkipDropsTheStepOnEveryRankAlike) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  TrainConfig c = small_config(4);
  c.steps = 4;
  c.model.rng_stream = static_cast<uint64_t>(cluster.rank);
  c.parallel = {1.0, true, true};
  c.skip_nonfinite = true;
  c.inject_step = 1;                 // the second step
  c.inject_rank = cluster.size - 1;  // on the last rank only
  c.inject_layer = "fc6";
  AlexNet net(c.model);
  const TrainResult r = train(c, net, cluster);
  EXPECT_EQ(r.skipped_steps, 1);
  for (int t = 0; t < 2; ++t) {
    bool finite = true;
    for (float v : values(net, t)) finite = finite && std::isfinite(v);
    EXPECT_TRUE(finite) << "tower " << t << " holds NaN/Inf after a skipped step";
    EXPECT_TRUE(identical_across_ranks(net, t)) << "ranks differ from rank 0 after the skip";
  }
}

// A NaN put into conv4's gradient on the last rank at the third step stops every rank, naming the
// step, the layer and the rank.
void expect_nan_stop_named(const Device& device, const Cluster& cluster) {
  TrainConfig c = small_config(4);
  c.model.device = device;
  c.steps = 4;
  c.inject_step = 2;  // the third step
  c.inject_rank = cluster.size - 1;
  c.inject_layer = "conv4";
  AlexNet net(c.model);
  try {
    train(c, net, cluster);
    ADD_FAILURE() << "no error for a NaN gradient on " << device.str();
  } catch (const CollectiveError& e) {
    const std::string want = "step 3: non-finite values: rank " + std::to_string(cluster.size - 1) +
                             ": the first NaN/Inf gradient (backward order) is in conv4 of tower 0";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

TEST(NonFinite, StopNamesStepLayerAndRankOnEveryRank) {
  expect_nan_stop_named(Device::cpu(), Cluster::from(MPI_COMM_WORLD));
}

// On GPUs with NCCL: rank L trains both towers on GPU L; the ranks end bit-identical and equal one
// process with the whole batch (on the same kind of GPU) within fp32 tolerance; a NaN injected on
// the last rank is found by the GPU scan and named on every rank.
TEST(DataParallelGpu, NcclRanksAgreeAndEqualOneProcess) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const std::string why = gpu_per_rank(cluster);
  if (!why.empty()) GTEST_SKIP() << "NCCL test skipped: " << why;
  const Device gpu = Device::cuda(cluster.local_rank);
  for (bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap on" : "overlap off");
    TrainConfig c = small_config(4);
    c.model.device = gpu;
    c.model.dropout = 0;
    c.parallel = {0.5, overlap};
    AlexNet net(c.model);
    train(c, net, cluster);
    TrainConfig whole = small_config(4 * cluster.size);
    whole.model.device = gpu;
    whole.model.dropout = 0;
    AlexNet ref(whole.model);
    train(whole, ref);  // alone
    for (int t = 0; t < 2; ++t) {
      EXPECT_TRUE(identical_across_ranks(net, t)) << "tower " << t << " differs between ranks";
      const auto got = values(net, t), want = values(ref, t);
      double max_abs = 0;
      size_t bad = 0;
      for (float w : want) max_abs = std::max(max_abs, std::fabs(double(w)));
      for (size_t i = 0; i < want.size(); ++i)
        bad += std::fabs(double(got[i]) - want[i]) > 1e-5 * max_abs + 1e-3 * std::fabs(double(want[i]));
      EXPECT_EQ(bad, 0u) << "tower " << t << ": " << bad << " weights differ from one process with the whole batch";
    }
  }
  expect_nan_stop_named(gpu, cluster);
}

// --allreduce always: a job of one rank runs its all-reduce through a communicator of one rank
// (MPI on the CPU, NCCL on a GPU: init, streams, events and the sum) and ends where the same job
// without it ends, bit for bit, since a sum over one rank is the gradient itself. Every rank of
// the test does it on its own (MPI_COMM_SELF).
void expect_one_rank_allreduce_changes_nothing(const Device& d) {
  const Cluster self = Cluster::from(MPI_COMM_SELF);
  for (bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap on" : "overlap off");
    TrainConfig c = small_config(4);
    c.model.device = d;
    c.parallel = {.bucket_mb = 0.5, .overlap = overlap, .always_communicate = true};
    AlexNet net(c.model);
    const TrainResult r = train(c, net, self);
    c.parallel.always_communicate = false;
    AlexNet ref(c.model);
    const TrainResult rr = train(c, ref, self);
    EXPECT_GT(r.total.allreduce, 0.0) << "no all-reduce ran with always_communicate";
    EXPECT_EQ(rr.total.allreduce, 0.0);
    EXPECT_EQ(r.loss, rr.loss);
    for (int t = 0; t < 2; ++t) EXPECT_TRUE(values(net, t) == values(ref, t)) << "tower " << t << " differs";
  }
}

TEST(OneRankAllReduce, MpiChangesNothing) { expect_one_rank_allreduce_changes_nothing(Device::cpu()); }

TEST(OneRankAllReduce, NcclChangesNothing) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const std::string why = gpu_per_rank(cluster);
  if (!why.empty()) GTEST_SKIP() << "NCCL test skipped: " << why;
  expect_one_rank_allreduce_changes_nothing(Device::cuda(cluster.local_rank));
}

// Slurm's --gpus-per-task gives each rank its own CUDA_VISIBLE_DEVICES: the ranks of a node then
// see different GPU sets and each places its towers among its own.
TEST(Placement, RanksWithTheirOwnVisibleGpusAreDetected) {
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const char* before = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string saved = before ? before : "";
  const std::string mine = std::to_string(2 * cluster.local_rank) + "," + std::to_string(2 * cluster.local_rank + 1);
  setenv("CUDA_VISIBLE_DEVICES", mine.c_str(), 1);
  EXPECT_EQ(gpus_per_rank(cluster), cluster.local_size > 1);
  setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3", 1);
  EXPECT_FALSE(gpus_per_rank(cluster));
  unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_FALSE(gpus_per_rank(cluster));
  if (before) setenv("CUDA_VISIBLE_DEVICES", saved.c_str(), 1);
}

TEST(DataParallel, BucketsCoverTheGradientsInBackwardOrder) {
  ModelOptions o = small_config(2).model;
  AlexNet net(o);
  for (double mb : {0.01, 1.0, 1000.0}) {
    const auto buckets = plan_buckets(net.params(0).layout, mb);
    int64_t next = 0;
    std::vector<std::string> layers;
    for (const auto& bk : buckets) {
      EXPECT_EQ(bk.offset, next);
      EXPECT_GT(bk.count, 0);
      next += bk.count;
      layers.insert(layers.end(), bk.layers.begin(), bk.layers.end());
    }
    EXPECT_EQ(next, net.params(0).layout.total());
    EXPECT_EQ(layers, (std::vector<std::string>{"fc8", "fc7", "fc6", "conv5", "conv4", "conv3", "conv2", "conv1"}));
    if (mb == 1000.0) {
      EXPECT_EQ(buckets.size(), 1u);
    }
    if (mb == 0.01) {
      EXPECT_EQ(buckets.size(), 8u);  // one layer each: no bucket splits a layer
    }
  }
}

}  // namespace
}  // namespace alexnet

int main(int argc, char** argv) {
  setenv("ALEXNET_CUDNN_RUNTIME_COMPILED", "0", 0);  // as alexnet-tests: no runtime-compiled engine
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  alexnet::set_cpu_threads(1);  // several ranks share the machine's cores
  ::testing::InitGoogleTest(&argc, argv);
  if (rank != 0) {  // one copy of the report (rank 0's); every rank's failures still count
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any && !failed) std::fprintf(stderr, "a test failed on another rank\n");
  MPI_Finalize();
  return any;
}
