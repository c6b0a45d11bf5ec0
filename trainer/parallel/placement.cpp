// Where a rank's towers go (see placement.h).
#include "parallel/placement.h"

#include <mpi.h>

#include <cctype>
#include <cstdlib>
#include <functional>

#include "core/error.h"
#include "parallel/mpi_check.h"

namespace alexnet {

bool gpus_per_rank(const Cluster& c) {
  if (c.alone() || c.local_size == 1) return false;
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  // The same binary on every rank: std::hash gives every rank the same value for the same text.
  const auto mine = static_cast<unsigned long long>(visible ? std::hash<std::string>{}(visible) : 0);
  MPI_Comm local;
  MPI_CHECK(MPI_Comm_split_type(c.world, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &local));
  unsigned long long lo = 0, hi = 0;
  MPI_CHECK(MPI_Allreduce(&mine, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, local));
  MPI_CHECK(MPI_Allreduce(&mine, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, local));
  MPI_CHECK(MPI_Comm_free(&local));
  return lo != hi;
}

std::array<Device, 2> place_towers(const std::string& text, int local_rank, int local_size, int gpus) {
  const std::string what = "--devices " + text;
  if (text == "cpu") return {Device::cpu(), Device::cpu()};
  if (text == "auto" && gpus == 0) return {Device::cpu(), Device::cpu()};
  if (text == "auto" || text == "cuda" || text == "gpu") {
    ALEXNET_CHECK(gpus > 0, what << ": this node has no GPU the job can use");
    if (gpus >= 2 * local_size) return {Device::cuda(2 * local_rank), Device::cuda(2 * local_rank + 1)};
    ALEXNET_CHECK(gpus >= local_size, what << ": " << local_size << " ranks on this node but only " << gpus << " GPU"
                                           << (gpus == 1 ? "" : "s") << " (each rank needs one or two)");
    return {Device::cuda(local_rank), Device::cuda(local_rank)};
  }
  std::array<Device, 2> d;
  const auto comma = text.find(',');
  if (comma == std::string::npos) {
    d[0] = d[1] = parse_device(text);
  } else {
    d[0] = parse_device(text.substr(0, comma));
    std::string second = text.substr(comma + 1);
    if (!second.empty() && std::isdigit(static_cast<unsigned char>(second[0]))) second = "cuda:" + second;
    d[1] = parse_device(second);
  }
  ALEXNET_CHECK(d[0].is_cpu() == d[1].is_cpu(), what << ": both towers on the CPU or both on GPUs");
  for (const Device& x : d)
    ALEXNET_CHECK(x.is_cpu() || x.index < gpus, what << ": there is no " << x.str() << " (this process sees " << gpus
                                                     << " GPU" << (gpus == 1 ? "" : "s") << ")");
  return d;
}

}  // namespace alexnet
