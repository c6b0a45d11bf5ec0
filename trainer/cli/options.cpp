// Command registry and the option helpers shared by the commands (see options.h).
#include "cli/options.h"

#include <cctype>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/any.hpp>

#include "core/device.h"
#include "layers/backend_info.h"
#include "parallel/mpi_check.h"

#include <mpi.h>

namespace po = boost::program_options;

namespace alexnet {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"info", "the AlexNet architecture, parameters and FLOPs; the devices and libraries found", cmd_info},
      {"bench", "time forward, forward-backward and the training step, per layer (the seed's benchmark)", cmd_bench},
      {"train", "train on a shard set (--data) or synthetic data, with checkpoints and resume", cmd_train},
      {"eval", "top-1/top-5 error of a checkpoint on a shard set (centre crop or ten crops)", cmd_eval},
      {"shards", "shard sets: import from image folders, synth, inspect", cmd_shards},
      {"bench-io", "images/s of the input pipeline alone, for 1..k loader threads, raw and jpeg", cmd_bench_io},
  };
  return list;
}

static bool is_rank0() {
  int initialized = 0, rank = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank == 0;
}

bool parse_options(const std::string& command, const po::options_description& desc,
                   const std::vector<std::string>& args, po::variables_map& vm) {
  po::options_description all(desc);
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(all).run(), vm);
    if (vm.count("help")) {
      if (is_rank0()) std::cout << "Usage: alexnet " << command << " [options]\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::ostringstream os;
    os << "alexnet " << command << ": " << e.what() << "\n\nUsage: alexnet " << command << " [options]\n" << all;
    throw UsageError(os.str());
  }
  return true;
}

std::optional<po::variables_map> parse_on_every_rank(const std::string& command, const po::options_description& desc,
                                                     const std::vector<std::string>& args, const Cluster& cluster) {
  po::variables_map vm;
  if (!parse_options(command, desc, args, vm)) return std::nullopt;
  check_same_config(cluster, options_as_config(vm));
  return vm;
}

void add_model_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
      ("input-size", po::value<int64_t>()->default_value(227), "input image side (pixels)")
      ("classes", po::value<int64_t>()->default_value(1000), "number of classes (even: half per tower)")
      ("width", po::value<double>()->default_value(1.0), "channel width multiplier (1 = the paper)")
      ("lrn", po::value<std::string>()->default_value("paper"),
       "LRN convention: paper (k=2, alpha*sum) or caffe (k=1, alpha/n*sum, as PyTorch)");
  // clang-format on
}

ModelConfig model_config_from(const po::variables_map& vm) {
  return as_usage_error([&] {
    ModelConfig m;
    m.input_size = vm["input-size"].as<int64_t>();
    m.classes = vm["classes"].as<int64_t>();
    m.width = vm["width"].as<double>();
    m.lrn =
        parse_lrn_convention(vm["lrn"].as<std::string>()) == LrnConvention::paper ? LrnSpec::paper() : LrnSpec::caffe();
    m.validate();
    return m;
  });
}

bool on_off(const po::variables_map& vm, const std::string& name) {
  const std::string v = vm[name].as<std::string>();
  ALEXNET_CHECK(v == "on" || v == "off", "--" << name << " must be on or off, got " << v);
  return v == "on";
}

void add_device_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
      ("devices", po::value<std::string>()->default_value("auto"),
       "where a rank's two towers run: auto (GPUs when there are, else cpu), cpu, cuda (by local rank: GPUs 2L "
       "and 2L+1 when the node has two per rank, else GPU L), cuda:A (both on GPU A), cuda:A,B (one each)")
      ("precision", po::value<std::string>()->default_value("auto"),
       "GPU arithmetic: fp32, tf32 (tensor cores, fp32 storage), bf16 (bf16 activations and gradients, fp32 "
       "weights and update) or auto (tf32 on GPUs, fp32 on the CPU)")
      ("deterministic", po::value<std::string>()->default_value("on"),
       "on: the same result every run (GPUs: no cuDNN engine marked non-deterministic); off: any engine, "
       "for speed");
  // clang-format on
}

void devices_from(const po::variables_map& vm, const Cluster& cluster, ModelOptions& o) {
  as_usage_error([&] {
    std::string why;
    const auto gpus = static_cast<int>(list_gpus(&why).size());
    // Ranks that each see their own GPUs (Slurm's --gpus-per-task) place their towers among them.
    const bool own = gpus_per_rank(cluster);
    const auto towers =
        place_towers(vm["devices"].as<std::string>(), own ? 0 : cluster.local_rank, own ? 1 : cluster.local_size, gpus);
    o.device = towers[0];
    o.tower1_device.reset();
    if (towers[1] != towers[0]) o.tower1_device = towers[1];
    const std::string precision = vm["precision"].as<std::string>();
    o.precision =
        precision == "auto" ? (o.device.is_cuda() ? Precision::tf32 : Precision::fp32) : parse_precision(precision);
    check_backend("--precision " + precision, o.device, Layout::nchw, o.precision);
    o.deterministic = on_off(vm, "deterministic");
    return 0;
  });
}

void add_run_options(po::options_description& desc, int64_t default_batch) {
  add_model_options(desc);
  add_device_options(desc);
  // clang-format off
  desc.add_options()
      ("batch", po::value<int64_t>()->default_value(default_batch), "images per step on this rank")
      ("layout", po::value<std::string>()->default_value("auto"),
       "activation layout: auto (the fastest: nchw16c on an AVX-512 CPU when channels allow, else nhwc), nchw16c, nhwc or nchw")
      ("conv-algo", po::value<std::string>()->default_value("auto"),
       "conv2-5 algorithm: auto (winograd where available), direct or winograd")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: the node's cores shared among its ranks)")
      ("seed", po::value<uint64_t>()->default_value(1), "seed of the weights, dropout and data")
      ("init", po::value<std::string>()->default_value("caffe"),
       "initialisation: caffe (N(0,.01), fc6/7 .005, biases .1) or paper (N(0,.01), biases 1)")
      ("dropout", po::value<double>()->default_value(0.5), "dropout probability of fc6 and fc7 (0: none)")
      ("fuse-relu", po::value<std::string>()->default_value("on"),
       "on: conv1-5, fc6 and fc7 apply their ReLU in forward (a oneDNN post-op, or in the GPU's bias pass); off: "
       "separate ReLU layers, for comparison")
      ("bucket-mb", po::value<double>()->default_value(25), "gradient bucket size for the all-reduce (MB)")
      ("overlap", po::value<std::string>()->default_value("on"),
       "on: a bucket's all-reduce starts as soon as backward has produced it; off: after backward")
      ("allreduce", po::value<std::string>()->default_value("auto"),
       "auto: gradients are all-reduced when there are several ranks; always: also with one rank (its "
       "communicator, MPI or NCCL, really runs: a check of the path on one machine)");
  // clang-format on
}

DataParallelOptions data_parallel_from(const po::variables_map& vm) {
  return as_usage_error([&] {
    DataParallelOptions d;
    d.bucket_mb = vm["bucket-mb"].as<double>();
    ALEXNET_CHECK(d.bucket_mb > 0, "--bucket-mb must be positive, got " << d.bucket_mb);
    d.overlap = on_off(vm, "overlap");
    const std::string allreduce = vm["allreduce"].as<std::string>();
    ALEXNET_CHECK(allreduce == "auto" || allreduce == "always",
                  "--allreduce must be auto or always, got " << allreduce);
    d.always_communicate = allreduce == "always";
    return d;
  });
}

std::vector<std::pair<std::string, std::string>> options_as_config(const po::variables_map& vm) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : vm) {
    if (name == "json" || name == "threads" || name == "help") continue;  // may differ per rank
    const boost::any& a = value.value();
    std::ostringstream os;
    if (auto* s = boost::any_cast<std::string>(&a))
      os << *s;
    else if (auto* i = boost::any_cast<int>(&a))
      os << *i;
    else if (auto* l = boost::any_cast<int64_t>(&a))
      os << *l;
    else if (auto* u = boost::any_cast<uint64_t>(&a))
      os << *u;
    else if (auto* d = boost::any_cast<double>(&a))
      os << *d;
    else if (auto* b = boost::any_cast<bool>(&a))
      os << *b;
    else
      os << "(set)";
    out.emplace_back("--" + name, os.str());
  }
  return out;
}

ModelOptions model_options_from(const po::variables_map& vm, const Cluster& cluster) {
  ModelOptions o;
  o.rng_stream = static_cast<uint64_t>(cluster.rank);
  o.config = model_config_from(vm);
  as_usage_error([&] {
    o.batch = vm["batch"].as<int64_t>();
    ALEXNET_CHECK(o.batch >= 1, "--batch must be at least 1, got " << o.batch);
    devices_from(vm, cluster, o);
    const std::string layout = vm["layout"].as<std::string>();
    o.layout = layout == "auto" ? best_layout(o.config, o.device) : parse_layout(layout);
    o.conv_algorithm = parse_conv_algorithm(vm["conv-algo"].as<std::string>());
    o.seed = vm["seed"].as<uint64_t>();
    o.init = parse_init_recipe(vm["init"].as<std::string>());
    o.dropout = vm["dropout"].as<double>();
    o.fuse_relu = on_off(vm, "fuse-relu");
    ALEXNET_CHECK(o.dropout >= 0 && o.dropout < 1, "--dropout must be in [0, 1), got " << o.dropout);
    apply_cpu_threads(vm["threads"].as<int>(), cluster);
    return 0;
  });
  return o;
}

void apply_cpu_threads(int requested, const Cluster& cluster) {
  as_usage_error([&] {
    ALEXNET_CHECK(requested >= 0, "--threads must be >= 0, got " << requested);
    int threads = requested;
    if (threads == 0 && cluster.local_size > 1)
      threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / cluster.local_size);
    set_cpu_threads(threads);
    return 0;
  });
}

}  // namespace alexnet
