// Fuzz target: the command line and --config. An input is a command (its first byte picks train,
// eval or bench), then one argument per line; after a line "%%" comes the text of a --config file.
// The arguments go through the command's own option parsing and, for train, through the reading
// of every option into a TrainConfig (schedules, epochs, failure injection, paths): everything a
// command does before it builds the model. Bad input must be a UsageError or an Error.
#include <mpi.h>
#include <sanitizer/lsan_interface.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "cli/options.h"
#include "fuzz_util.h"

namespace po = boost::program_options;

namespace {
const alexnet::Cluster* cluster = nullptr;  // the process's MPI world, as main() makes it once
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  __lsan_disable();  // what OpenMPI allocates for the life of the process is not a finding
  MPI_Init(argc, argv);
  cluster = new alexnet::Cluster(alexnet::Cluster::from(MPI_COMM_WORLD));
  __lsan_enable();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace alexnet;
  if (size == 0) return 0;
  const int which = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> args;
  std::string config;
  size_t pos = 0;
  bool in_config = false;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    if (in_config)
      config += line + "\n";
    else if (line == "%%")
      in_config = true;
    else if (!line.empty())
      args.push_back(line);
    pos = end + 1;
  }
  if (in_config) {
    const std::string path = fuzz::scratch("cli") + "/run.ini";
    std::ofstream(path) << config;
    args.push_back("--config");
    args.push_back(path);
  }
  const char* names[] = {"train", "eval", "bench"};
  po::options_description desc(std::string(names[which]) + " options");
  if (which == 0) add_train_options(desc);
  if (which == 1) add_eval_options(desc);
  if (which == 2) add_bench_options(desc);
  try {
    po::variables_map vm;
    if (!parse_options(names[which], desc, args, vm)) return 0;
    if (which == 0) {
      const TrainConfig cfg = train_config_from(vm, *cluster);
      (void)cfg;
      (void)options_ini(vm);
    }
  } catch (const UsageError&) {
  } catch (const Error&) {}
  return 0;
}
