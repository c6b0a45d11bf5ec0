// Command registry and the option helpers shared by the commands (see options.h).
#include "cli/options.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/any.hpp>

#include "core/device.h"
#include "core/text.h"
#include "layers/backend_info.h"
#include "parallel/mpi_check.h"
#include "run/json.h"

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

namespace {

// Boost.Program_options (1.74) builds its messages by replacing placeholders such as %value% with
// the user's text until none is left: a value that holds a placeholder ("--steps %value%") made
// what() loop for ever. The message is built here with every '%' of the substituted text stood in
// for, then put back.
class SafeMessage : public po::error_with_option_name {
 public:
  static std::string of(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    if (!named) return e.what();
    SafeMessage m(*named);
    for (auto& kv : m.m_substitutions) std::replace(kv.second.begin(), kv.second.end(), '%', kStandIn);
    for (auto& kv : m.m_substitution_defaults) {
      std::replace(kv.second.first.begin(), kv.second.first.end(), '%', kStandIn);
      std::replace(kv.second.second.begin(), kv.second.second.end(), '%', kStandIn);
    }
    std::string text = m.what();
    std::replace(text.begin(), text.end(), kStandIn, '%');
    return text;
  }

 private:
  static constexpr char kStandIn = '\x01';
  explicit SafeMessage(const po::error_with_option_name& e) : po::error_with_option_name(e) {}
};

bool truthy(const std::string& v, bool* value) {
  if (v == "true" || v == "on" || v == "yes" || v == "1") return *value = true, true;
  if (v == "false" || v == "off" || v == "no" || v == "0") return *value = false, true;
  return false;
}

// --config FILE: its entries stored under the command line's (which win: store() keeps a value
// already given). Throws UsageError naming the file and line of an unknown name or a bad value.
void store_config_file(const std::string& command, const std::string& path, const po::options_description& all,
                       po::variables_map& vm) {
  std::ifstream f(path);
  if (!f) throw UsageError("alexnet " + command + ": --config " + path + ": cannot read the file");
  std::stringstream text;
  text << f.rdbuf();
  std::vector<IniEntry> entries;
  try {
    entries = parse_ini(text.str(), path);
  } catch (const Error& e) {
    throw UsageError("alexnet " + command + ": --config " + e.what());
  }
  for (const IniEntry& e : entries) {
    const std::string where = "alexnet " + command + ": --config " + path + " line " + std::to_string(e.line) + ": ";
    const po::option_description* d = all.find_nothrow(e.key, false);
    if (!d || e.key == "config" || e.key == "help")
      throw UsageError(where + "'" + e.key + "' is not an option of alexnet " + command + " (alexnet " + command +
                       " --help lists them)");
    po::option opt;
    opt.string_key = e.key;
    opt.original_tokens = {"--" + e.key, e.value};
    if (d->semantic()->max_tokens() == 0) {  // a switch: true/false
      bool on = false;
      if (!truthy(e.value, &on))
        throw UsageError(where + e.key + " is a switch: write true or false, not '" + e.value + "'");
      if (!on) continue;
    } else {
      opt.value = {e.value};
    }
    po::parsed_options one(&all);
    one.options.push_back(opt);
    try {
      po::store(one, vm);
    } catch (const po::error& err) {
      throw UsageError(where + SafeMessage::of(err));
    }
  }
}

}  // namespace

bool parse_options(const std::string& command, const po::options_description& desc,
                   const std::vector<std::string>& args, po::variables_map& vm) {
  po::options_description all(desc);
  // clang-format off
  all.add_options()
      ("config", po::value<std::string>(), "an INI file of options (name = value lines, the names of the flags); "
       "flags on the command line win")
      ("help,h", "show this help");
  // clang-format on
  try {
    po::store(po::command_line_parser(args).options(all).run(), vm);
    if (vm.count("help")) {
      if (is_rank0()) std::cout << "Usage: alexnet " << command << " [options]\n" << all << "\n";
      return false;
    }
    if (vm.count("config")) store_config_file(command, vm["config"].as<std::string>(), all, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::ostringstream os;
    os << "alexnet " << command << ": " << SafeMessage::of(e) << "\n\nUsage: alexnet " << command << " [options]\n"
       << all;
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
      ("width", number_value(1.0), "channel width multiplier (1 = the paper)")
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
       "arithmetic: fp32, tf32 (GPUs: tensor cores, fp32 storage), bf16 (bf16 activations and gradients, fp32 "
       "weights, weight gradients and update; on the CPU where it has bf16 instructions) or auto (tf32 on GPUs, "
       "fp32 on the CPU)")
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
    if (o.device.is_cpu() && o.precision == Precision::bf16) {
      const std::string missing = cpu_bf16_missing();
      ALEXNET_CHECK(missing.empty(), "--precision bf16: " << missing);
    }
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
      ("dropout", number_value(0.5), "dropout probability of fc6 and fc7 (0: none)")
      ("fuse-relu", po::value<std::string>()->default_value("on"),
       "on: conv1-5, fc6 and fc7 apply their ReLU in forward (a oneDNN post-op, or in the GPU's bias pass); off: "
       "separate ReLU layers, for comparison")
      ("bucket-mb", number_value(25), "gradient bucket size for the all-reduce (MB)")
      ("overlap", po::value<std::string>()->default_value("auto"),
       "on: a bucket's all-reduce starts as soon as backward has produced it; off: after backward; auto: on, "
       "except for CPU ranks all on one node whose threads leave no core to the communication thread (there "
       "the all-reduce is CPU work too, and overlapping slows backward by as much as it hides)")
      ("allreduce", po::value<std::string>()->default_value("auto"),
       "auto: gradients are all-reduced when there are several ranks; always: also with one rank (its "
       "communicator, MPI or NCCL, really runs: a check of the path on one machine)");
  // clang-format on
}

int cores_per_rank(const Cluster& cluster) {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / cluster.local_size);
}

bool overlap_by_default(const ModelOptions& mo, const Cluster& cluster) {
  if (!mo.device.is_cpu()) return true;                // NCCL runs on its own stream
  if (cluster.local_size < cluster.size) return true;  // across nodes: the network's time is worth hiding
  return cpu_threads() < cores_per_rank(cluster);  // one node: only with a core to spare for the communication thread
}

DataParallelOptions data_parallel_from(const po::variables_map& vm, const ModelOptions& mo, const Cluster& cluster) {
  return as_usage_error([&] {
    DataParallelOptions d;
    d.bucket_mb = vm["bucket-mb"].as<double>();
    ALEXNET_CHECK(d.bucket_mb > 0, "--bucket-mb must be positive, got " << d.bucket_mb);
    const std::string overlap = vm["overlap"].as<std::string>();
    ALEXNET_CHECK(overlap == "auto" || overlap == "on" || overlap == "off",
                  "--overlap must be on, off or auto, got " << overlap);
    d.overlap = overlap == "auto" ? overlap_by_default(mo, cluster) : overlap == "on";
    const std::string allreduce = vm["allreduce"].as<std::string>();
    ALEXNET_CHECK(allreduce == "auto" || allreduce == "always",
                  "--allreduce must be auto or always, got " << allreduce);
    d.always_communicate = allreduce == "always";
    return d;
  });
}

namespace {

// The text of an option's value; "" for a switch.
std::string option_text(const po::variable_value& value) {
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
    os << format_number(*d);
  else if (auto* b = boost::any_cast<bool>(&a))
    os << (*b ? "true" : "false");
  return os.str();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> options_as_config(const po::variables_map& vm) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : vm) {
    if (name == "json" || name == "threads" || name == "help") continue;  // may differ per rank
    out.emplace_back("--" + name, value.value().empty() ? "(set)" : option_text(value));
  }
  return out;
}

std::string options_ini(const po::variables_map& vm) {
  std::string out;
  for (const auto& [name, value] : vm) {
    if (name == "help" || name == "config") continue;  // the file's entries are among the others
    out += name + " = " + option_text(value) + "\n";
  }
  return out;
}

void check_output_file(const Cluster& c, const std::string& flag, const std::string& path) {
  if (path.empty()) return;
  usage_check_on_root(c, [&] {
    const std::string why = unwritable_reason(path);
    return why.empty() ? std::string() : flag + " " + path + ": " + why;
  });
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
    if (threads == 0 && cluster.local_size > 1) threads = cores_per_rank(cluster);
    set_cpu_threads(threads);
    return 0;
  });
}

}  // namespace alexnet
