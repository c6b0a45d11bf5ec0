// Command registry and the option helpers shared by the commands (see cli.h).
#include "cli.h"

#include <iostream>

#include <mpi.h>

namespace po = boost::program_options;

namespace alexnet {

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"info", "the AlexNet architecture, parameters and FLOPs; the devices and libraries found", cmd_info},
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
    os << "alexnet " << command << ": " << e.what() << "\n\nUsage: alexnet " << command
       << " [options]\n"
       << all;
    throw UsageError(os.str());
  }
  return true;
}

void add_model_options(po::options_description& desc) {
  desc.add_options()
      ("input-size", po::value<int64_t>()->default_value(227), "input image side (pixels)")
      ("classes", po::value<int64_t>()->default_value(1000), "number of classes (even: half per tower)")
      ("width", po::value<double>()->default_value(1.0), "channel width multiplier (1 = the paper)")
      ("lrn", po::value<std::string>()->default_value("paper"),
       "LRN convention: paper (k=2, alpha*sum) or caffe (k=1, alpha/n*sum, as PyTorch)");
}

ModelConfig model_config_from(const po::variables_map& vm) {
  ModelConfig m;
  m.input_size = vm["input-size"].as<int64_t>();
  m.classes = vm["classes"].as<int64_t>();
  m.width = vm["width"].as<double>();
  try {
    m.lrn = parse_lrn_convention(vm["lrn"].as<std::string>()) == LrnConvention::paper ? LrnSpec::paper()
                                                                                     : LrnSpec::caffe();
    m.validate();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return m;
}

}  // namespace alexnet
