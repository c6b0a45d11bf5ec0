// MPI error strings for MPI_CHECK (see mpi_check.h).
#include "parallel/mpi_check.h"

namespace alexnet {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(len));
}

}  // namespace alexnet
