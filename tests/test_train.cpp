// Training end to end on a small AlexNet: a run resumed from a checkpoint reproduces the
// uninterrupted run bit for bit (weights, momentum, dropout masks, data position); checkpoints are
// pruned to the newest K, and a corrupt, truncated or foreign checkpoint is refused by name; the
// model learns the synthetic data.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/options.h"
#include "core/error.h"
#include "parallel/cluster.h"
#include "run/checkpoint.h"
#include "run/trace.h"
#include "run/train.h"

namespace fs = std::filesystem;

namespace alexnet {
namespace {

TrainConfig small_config() {
  TrainConfig c;
  c.model.config.input_size = 67;
  c.model.config.classes = 10;
  c.model.config.width = 0.25;
  c.model.batch = 8;
  c.model.seed = 42;
  c.model.dropout = 0.5;  // on: its RNG must resume too
  c.steps = 6;
  c.synthetic_samples = 40;  // epochs turn over within the run
  c.sgd = {.momentum = 0.9, .weight_decay = 0.0005};
  c.lr.base_lr = 0.01;
  c.log_every = 100;
  return c;
}

std::vector<float> flat(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("alexnet-train-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TrainTest, ResumedRunIsBitIdenticalToTheUninterruptedOne) {
  TrainConfig straight = small_config();
  AlexNet a(straight.model);
  train(straight, a);

  TrainConfig first = small_config();
  first.steps = 3;
  first.checkpoint_dir = (dir_ / "ck").string();
  AlexNet b(first.model);
  TrainResult r1 = train(first, b);
  ASSERT_EQ(r1.last_checkpoint, checkpoint_path(first.checkpoint_dir, 3));

  TrainConfig second = small_config();
  second.resume = first.checkpoint_dir;  // a folder: its newest checkpoint
  AlexNet c(second.model);               // freshly initialised, then overwritten by the checkpoint
  TrainResult r2 = train(second, c);
  EXPECT_EQ(r2.first_step, 3);
  EXPECT_EQ(r2.last_step, 6);
  for (int t = 0; t < 2; ++t) {
    EXPECT_EQ(flat(a.params(t).all_values()), flat(c.params(t).all_values())) << "tower " << t << " weights";
    EXPECT_EQ(flat(a.params(t).all_momentum()), flat(c.params(t).all_momentum())) << "tower " << t << " momentum";
  }
  EXPECT_EQ(a.rng_state(), c.rng_state());
  // And the resume really mattered: one more step from scratch differs.
  TrainConfig other = small_config();
  other.steps = 3;
  AlexNet d(other.model);
  train(other, d);
  EXPECT_NE(flat(a.params(0).all_values()), flat(d.params(0).all_values()));
}

TEST_F(TrainTest, KeepsTheNewestCheckpointsAndRefusesBadOnes) {
  TrainConfig c = small_config();
  c.steps = 5;
  c.checkpoint_dir = (dir_ / "ck").string();
  c.checkpoint_every = 1;
  c.keep = 2;
  AlexNet net(c.model);
  train(c, net);
  auto all = list_checkpoints(c.checkpoint_dir);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], checkpoint_path(c.checkpoint_dir, 4));
  EXPECT_EQ(all[1], checkpoint_path(c.checkpoint_dir, 5));
  for (const auto& e : fs::directory_iterator(c.checkpoint_dir))  // no temporary files left behind
    EXPECT_EQ(e.path().extension(), ".h5") << e.path();

  AlexNet fresh(c.model);
  TrainState st;
  // Flip bytes in the middle of the newest checkpoint's data: the checksum catches it.
  {
    std::fstream f(all[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(all[1]) / 2));
    const char junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    f.write(junk, sizeof junk);
  }
  try {
    load_checkpoint(all[1], fresh);
    FAIL() << "a corrupted checkpoint loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(all[1]), std::string::npos) << e.what();
  }
  // Resuming from the folder falls back to the previous checkpoint.
  EXPECT_EQ(resume_from(c.checkpoint_dir, fresh, &st), all[0]);
  EXPECT_EQ(st.step, 4);

  // Truncated, not HDF5, missing, another model: refused with the file's name.
  fs::resize_file(all[1], 1000);
  EXPECT_THROW(load_checkpoint(all[1], fresh), Error);
  std::ofstream((dir_ / "junk.h5").string()) << "not hdf5";
  EXPECT_THROW(load_checkpoint((dir_ / "junk.h5").string(), fresh), Error);
  EXPECT_THROW(load_checkpoint((dir_ / "missing.h5").string(), fresh), Error);
  TrainConfig other = small_config();
  other.model.config.classes = 12;
  AlexNet different(other.model);
  try {
    load_checkpoint(all[0], different);
    FAIL() << "a checkpoint of another model loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("classes 10 but this run has 12"), std::string::npos) << e.what();
  }
}

TEST_F(TrainTest, LearnsTheSyntheticData) {
  // Two classes, no dropout, lr 0.1: past AlexNet's early plateau within a few hundred steps.
  TrainConfig c = small_config();
  c.model.dropout = 0;
  c.model.batch = 32;
  c.data_classes = 2;
  c.synthetic_samples = 4096;
  c.steps = 400;
  c.log_every = 50;
  c.lr.base_lr = 0.1;
  AlexNet net(c.model);
  TrainResult r = train(c, net);
  EXPECT_NEAR(r.loss.front(), std::log(10.0), 0.1);  // chance over the model's 10 classes
  EXPECT_LT(r.last_window.loss, 0.1);
  EXPECT_GT(static_cast<double>(r.last_window.top1) / r.last_window.count, 0.95);
}

}  // namespace
}  // namespace alexnet

namespace alexnet::test {
namespace {

// --devices: the placement rules of DESIGN.md, decided from (local rank, ranks on the node, GPUs).
TEST(EpochSchedule, EpochsBecomeStepsOfTheGlobalBatch) {
  EXPECT_EQ(epoch_start_step(1, 6000, 64), 94);  // 93.75 steps per epoch
  EXPECT_EQ(epoch_start_step(2, 6000, 64), 188);
  EXPECT_EQ(epoch_start_step(1, 6400, 64), 100);  // exact
  EXPECT_EQ(epoch_start_step(30, 1281167, 128), 300274);
  EXPECT_EQ(epoch_start_step(90, 1281167, 128), 900821);
  EXPECT_EQ(epoch_start_step(1.5, 320, 16), 30);
  EXPECT_EQ(epoch_start_step(0.01, 6000, 64), 1);
  EXPECT_THROW(epoch_start_step(0, 6000, 64), Error);
  EXPECT_THROW(epoch_start_step(1, 6000, 0), Error);

  TrainConfig c;
  c.lr.decay_steps = {50};
  c.lr_step_epochs = {2, 1};
  c.epochs = 3;
  const RunPlan p = plan_run(c, 6000, 64);
  EXPECT_EQ(p.steps, 282);  // 281.25 rounded up
  EXPECT_DOUBLE_EQ(p.steps_per_epoch, 93.75);
  EXPECT_EQ(p.lr.decay_steps, (std::vector<int64_t>{50, 94, 188}));
  EXPECT_DOUBLE_EQ(p.lr.at(93), c.lr.at(0) * 0.1);  // after step 50's decay only
  EXPECT_DOUBLE_EQ(p.lr.at(94), c.lr.at(0) * 0.01);
  c.epochs = 0;
  c.steps = 7;
  EXPECT_EQ(plan_run(c, 6000, 64).steps, 7);
  EXPECT_THROW(plan_run(c, 60, 64), Error);  // less than one global batch
}

TEST(NodeNames, RanksGroupedByNode) {
  const std::vector<std::string> hosts = {"node1", "node1", "node2", "node2", "node3"};
  EXPECT_EQ(describe_nodes(hosts), "3 nodes: node1 (ranks 0, 1), node2 (ranks 2, 3), node3 (rank 4)");
  EXPECT_EQ(describe_nodes({"a", "a", "a", "b"}), "2 nodes: a (ranks 0-2), b (rank 3)");
  EXPECT_EQ(describe_nodes({"vm"}), "1 node: vm (rank 0)");
  // Silent ranks: a whole node says so; part of a node, or every rank of the job, does not.
  EXPECT_EQ(ranks_by_node({2, 3}, hosts), "2, 3 on node2 (all of its ranks)");
  EXPECT_EQ(ranks_by_node({1, 4}, hosts), "1 on node1; 4 on node3 (all of its ranks)");
  EXPECT_EQ(ranks_by_node({0, 1, 2, 3, 4}, hosts), "0, 1 on node1; 2, 3 on node2; 4 on node3");
  EXPECT_EQ(ranks_by_node({7}, hosts), "7 on ?");  // a rank the list does not know
}

TEST(TowerPlacement, FollowsLocalRankAndGpuCount) {
  using D = std::array<Device, 2>;
  EXPECT_EQ(place_towers("cpu", 0, 1, 8), (D{Device::cpu(), Device::cpu()}));
  EXPECT_EQ(place_towers("auto", 0, 1, 0), (D{Device::cpu(), Device::cpu()}));
  // Two GPUs per rank: the 2012 split, towers on GPUs 2L and 2L+1.
  EXPECT_EQ(place_towers("auto", 0, 1, 2), (D{Device::cuda(0), Device::cuda(1)}));
  EXPECT_EQ(place_towers("cuda", 3, 4, 8), (D{Device::cuda(6), Device::cuda(7)}));
  // One GPU per rank: both towers on GPU L.
  EXPECT_EQ(place_towers("auto", 0, 1, 1), (D{Device::cuda(0), Device::cuda(0)}));
  EXPECT_EQ(place_towers("gpu", 5, 8, 8), (D{Device::cuda(5), Device::cuda(5)}));
  // Explicit.
  EXPECT_EQ(place_towers("cuda:1", 0, 1, 2), (D{Device::cuda(1), Device::cuda(1)}));
  EXPECT_EQ(place_towers("cuda:1,0", 0, 1, 2), (D{Device::cuda(1), Device::cuda(0)}));
  EXPECT_EQ(place_towers("cuda:0,cuda:1", 0, 1, 2), (D{Device::cuda(0), Device::cuda(1)}));
}

TEST(TowerPlacement, ImpossiblePlacementsNameTheFlag) {
  auto message = [](const std::string& text, int local_rank, int local_size, int gpus) {
    try {
      place_towers(text, local_rank, local_size, gpus);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("cuda", 0, 1, 0).find("--devices cuda: this node has no GPU"), std::string::npos);
  EXPECT_NE(message("cuda", 0, 4, 2).find("4 ranks on this node but only 2 GPUs"), std::string::npos);
  EXPECT_NE(message("cuda:2", 0, 1, 2).find("there is no cuda:2"), std::string::npos);
  EXPECT_NE(message("cpu,cuda:0", 0, 1, 2).find("both towers on the CPU or both on GPUs"), std::string::npos);
  EXPECT_NE(message("tpu", 0, 1, 2).find("unknown device 'tpu'"), std::string::npos);
}

// Layers refuse what their backend cannot run, naming the layer.
TEST(BackendChecks, PrecisionAndLayoutPerBackend) {
  EXPECT_NO_THROW(check_backend("conv1", Device::cpu(), Layout::nchw16c, Precision::fp32));
  try {
    check_backend("conv1", Device::cpu(), Layout::nhwc, Precision::tf32);
    FAIL() << "tf32 accepted on the CPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv1: the CPU backend computes in fp32 or bf16, not tf32"),
              std::string::npos)
        << e.what();
  }
  // bf16 passes the front end's check on the CPU; whether the instructions are there is the
  // oneDNN backend's to say (layers/cpu, and --precision on the command line).
  EXPECT_NO_THROW(check_backend("conv1", Device::cpu(), Layout::nhwc, Precision::bf16));
  EXPECT_THROW(check_backend("conv1", Device::cuda(0), Layout::nchw16c), Error);  // no CUDA, or no nchw16c there
  EXPECT_EQ(parse_precision("tf32"), Precision::tf32);
  EXPECT_THROW(parse_precision("fp16"), Error);
}

}  // namespace
}  // namespace alexnet::test

TEST(TraceSteps, DefaultsAndRangesWithinTheRun) {
  using alexnet::parse_trace_steps;
  EXPECT_EQ(parse_trace_steps("", 1, 100).first, 2);  // the first step's set-up left out
  EXPECT_EQ(parse_trace_steps("", 1, 100).last, 6);
  EXPECT_EQ(parse_trace_steps("", 1, 4).first, 1);  // a short run: all of it
  EXPECT_EQ(parse_trace_steps("", 1, 4).last, 4);
  EXPECT_EQ(parse_trace_steps("", 51, 100).first, 52);  // a resumed run
  EXPECT_EQ(parse_trace_steps("3:7", 1, 10).last, 7);
  EXPECT_EQ(parse_trace_steps("5", 1, 10).first, 5);
  EXPECT_EQ(parse_trace_steps("5", 1, 10).last, 5);
  for (const char* bad : {"0:3", "4:2", "a:b", "1:2:3", "9:11", ":"}) {
    try {
      parse_trace_steps(bad, 1, 10);
      ADD_FAILURE() << bad << " accepted";
    } catch (const alexnet::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("--trace-steps ") + bad), std::string::npos) << e.what();
    }
  }
  try {
    parse_trace_steps("1:3", 51, 100);
    ADD_FAILURE() << "a range before a resumed run's first step accepted";
  } catch (const alexnet::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("outside the run, which runs steps 51 to 100"), std::string::npos);
  }
}
