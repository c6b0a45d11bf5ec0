// MPI_CHECK and NCCL_CHECK: throw alexnet::Error with the expression, file:line and the library's
// message (MPI's error string; NCCL's plus its last error text).
#pragma once

#include <mpi.h>

#include "core/error.h"

namespace alexnet {
std::string mpi_error_string(int code);
}

#define MPI_CHECK(expr)                                                                                   \
  do {                                                                                                    \
    int alexnet_rc_ = (expr);                                                                             \
    if (alexnet_rc_ != MPI_SUCCESS)                                                                       \
      ::alexnet::throw_error("MPI", ::alexnet::mpi_error_string(alexnet_rc_), #expr, __FILE__, __LINE__); \
  } while (0)

#ifdef ALEXNET_HAVE_CUDA
#include <nccl.h>
#define NCCL_CHECK(expr)                                                                          \
  do {                                                                                            \
    ncclResult_t alexnet_nr_ = (expr);                                                            \
    if (alexnet_nr_ != ncclSuccess && alexnet_nr_ != ncclInProgress)                              \
      ::alexnet::throw_error("NCCL", ncclGetErrorString(alexnet_nr_), #expr, __FILE__, __LINE__); \
  } while (0)
#endif
