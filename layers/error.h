// The project's error type and the checks that throw it: every failure names the expression,
// file:line and the library's own message. Library-specific checks live beside their users
// (cuda_check.h, dnnl_util.h, trainer/mpi_check.h, io/h5_check.h) and all build on throw_error().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace alexnet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<library> error: <what> at <file>:<line>: <expr>").
[[noreturn]] void throw_error(const char* library, const std::string& what, const char* expr,
                              const char* file, int line);

}  // namespace alexnet

// A precondition of ours: ALEXNET_CHECK(n > 0, "batch must be positive, got " << n).
#define ALEXNET_CHECK(cond, msg)                                         \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::ostringstream alexnet_check_os_;                              \
      alexnet_check_os_ << msg;                                          \
      throw ::alexnet::Error(alexnet_check_os_.str());                   \
    }                                                                    \
  } while (0)
