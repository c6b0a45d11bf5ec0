// The project's error types and the checks that throw them: every failure names the expression,
// file:line and the library's own message. Library-specific checks live beside their users
// (CUDA_CHECK in core/gpu.h, CUDNN_CHECK in cuda/cuda_check.h, DNNL_CHECK in cpu/dnnl_util.h,
// MPI_CHECK in parallel/mpi_check.h, H5_CHECK in io/h5_util.h) and all build on throw_error().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace alexnet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad command line or configuration: printed once (rank 0) with the usage; every rank exits 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Raised by every rank at the same point after they agreed (a NaN everyone saw, say): logged once
// (rank 0) and every rank exits 1 through MPI_Finalize, no MPI_Abort needed.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// Throws Error("<library> error: <what> at <file>:<line>: <expr>").
[[noreturn]] void throw_error(const char* library, const std::string& what, const char* expr, const char* file,
                              int line);

}  // namespace alexnet

// A precondition of ours: ALEXNET_CHECK(n > 0, "batch must be positive, got " << n).
#define ALEXNET_CHECK(cond, msg)                       \
  do {                                                 \
    if (!(cond)) {                                     \
      std::ostringstream alexnet_check_os_;            \
      alexnet_check_os_ << msg;                        \
      throw ::alexnet::Error(alexnet_check_os_.str()); \
    }                                                  \
  } while (0)
