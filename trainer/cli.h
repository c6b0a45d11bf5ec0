// The `alexnet` command line: subcommands in the manner of `caffe train|test|time`. Each command
// parses its own options (Boost.Program_options) and returns the process exit code.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "error.h"
#include "model_config.h"

namespace alexnet {

// A bad command line: printed once (rank 0) with the command's usage; every rank exits with 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

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

// Options shared by every command that builds the model, and the ModelConfig they describe.
void add_model_options(boost::program_options::options_description& desc);
ModelConfig model_config_from(const boost::program_options::variables_map& vm);

int cmd_info(const std::vector<std::string>& args);

}  // namespace alexnet
