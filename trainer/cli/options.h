// The `alexnet` command line: subcommands in the manner of `caffe train|test|time`. Each command
// parses its own options (Boost.Program_options) and returns the process exit code.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "layers/backend_info.h"
#include "model/model.h"
#include "model/model_config.h"
#include "parallel/cluster.h"
#include "parallel/data_parallel.h"
#include "parallel/placement.h"
#include "run/train.h"

namespace alexnet {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Parses args against desc (throws UsageError for unknown flags and bad values); returns false
// after printing help when --help was given.
bool parse_options(const std::string& command, const boost::program_options::options_description& desc,
                   const std::vector<std::string>& args, boost::program_options::variables_map& vm);

// parse_options() for a command that runs on every rank, then the check that every rank was
// started with the same options (collective). nullopt when --help was given (printed by rank 0).
std::optional<boost::program_options::variables_map> parse_on_every_rank(
    const std::string& command, const boost::program_options::options_description& desc,
    const std::vector<std::string>& args, const Cluster& cluster);

// A double option whose default prints as written ("0.9", not boost's "0.90000000000000002").
inline boost::program_options::typed_value<double>* number_value(double v) {
  return boost::program_options::value<double>()->default_value(v, format_number(v));
}

// Every option's resolved value (command line, --config, defaults) as "name = value" lines: what
// --config reads back, recorded in every --json and checkpoint.
std::string options_ini(const boost::program_options::variables_map& vm);

// Rank 0 checks that it can write `path` (given as `flag`): a UsageError on every rank otherwise,
// before anything runs. Collective. Nothing when path is empty.
void check_output_file(const Cluster& c, const std::string& flag, const std::string& path);

// Options shared by every command that builds the model, and the ModelConfig they describe.
void add_model_options(boost::program_options::options_description& desc);
ModelConfig model_config_from(const boost::program_options::variables_map& vm);

// Options of the commands that run the model (batch, layout, device, threads, seed, init, dropout)
// and the ModelOptions they describe (also applies --threads).
// Also the data-parallel options (--bucket-mb, --overlap).
void add_run_options(boost::program_options::options_description& desc, int64_t default_batch);
// --threads 0 means the node's cores shared among its ranks; rng_stream is the rank.

// The value of an on|off option (UsageError-worthy Error naming it otherwise).
bool on_off(const boost::program_options::variables_map& vm, const std::string& name);

// --devices, --precision and --deterministic (bench, train, eval), and the tower devices and precision they give
// (usage errors exit 2). Collective (gpus_per_rank).
void add_device_options(boost::program_options::options_description& desc);
void devices_from(const boost::program_options::variables_map& vm, const Cluster& cluster, ModelOptions& o);

ModelOptions model_options_from(const boost::program_options::variables_map& vm, const Cluster& cluster);
// --overlap auto resolves with the model's device and the ranks on this node (see
// overlap_by_default); call after model_options_from (which sets the CPU threads).
DataParallelOptions data_parallel_from(const boost::program_options::variables_map& vm, const ModelOptions& mo,
                                       const Cluster& cluster);
// --overlap auto: on for GPU towers and across nodes; on the CPU with all ranks on one node, only
// when the rank's compute threads leave one of its cores to the communication thread.
bool overlap_by_default(const ModelOptions& mo, const Cluster& cluster);
// The node's cores shared among its ranks (at least 1): --threads 0's choice with several ranks.
int cores_per_rank(const Cluster& cluster);

// --threads: n > 0 as given; 0 shares the node's cores among the ranks on it (oversubscribed
// OpenMP threads spin against each other). UsageError when negative.
void apply_cpu_threads(int requested, const Cluster& cluster);

// Every option's value as text (what check_same_config compares), except the rank-local ones.
std::vector<std::pair<std::string, std::string>> options_as_config(const boost::program_options::variables_map& vm);

// Turns an Error raised while reading options into a UsageError (exit 2, printed once).
template <class F>
auto as_usage_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

// The option sets of train, eval and bench, and train's reading of its options into a TrainConfig
// (collective: --devices): what the commands parse, for the tests and the command-line fuzzer.
void add_train_options(boost::program_options::options_description& desc);
void add_eval_options(boost::program_options::options_description& desc);
void add_bench_options(boost::program_options::options_description& desc);
TrainConfig train_config_from(const boost::program_options::variables_map& vm, const Cluster& cluster);

int cmd_info(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_shards(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_bench_io(const std::vector<std::string>& args);

}  // namespace alexnet
