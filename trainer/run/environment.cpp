// The environment of a run for JSON reports (see environment.h).
#include "run/environment.h"

#include <mpi.h>

#include <algorithm>
#include <thread>

#include "core/device.h"
#include "core/host.h"
#include "core/log.h"
#include "layers/backend_info.h"
#include "parallel/comm.h"
#include "run/json.h"

namespace alexnet {

std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  if (MPI_Get_library_version(text, &len) != MPI_SUCCESS) return "MPI (unknown)";
  std::string s(text, static_cast<std::size_t>(len));
  auto cut = s.find_first_of(",\n");
  return cut == std::string::npos ? s : s.substr(0, cut);
}

std::string nccl_version() {
  const auto v = nccl_library_version();
  return v ? "NCCL " + v->str(v->running) : "";
}

void write_placement(JsonWriter& j, const std::vector<RankPlace>& placement) {
  std::vector<std::string> hosts;
  for (const auto& p : placement)
    if (std::find(hosts.begin(), hosts.end(), p.host) == hosts.end()) hosts.push_back(p.host);
  j.value("nodes", static_cast<int64_t>(hosts.size()));
  j.begin_array("placement");
  for (size_t r = 0; r < placement.size(); ++r)
    j.begin_object()
        .value("rank", static_cast<int64_t>(r))
        .value("host", placement[r].host)
        .value("local_rank", static_cast<int64_t>(placement[r].local_rank))
        .value("local_size", static_cast<int64_t>(placement[r].local_size))
        .end_object();
  j.end_array();
}

std::vector<RankPlace> log_placement(const Cluster& c, const std::string& what) {
  std::vector<RankPlace> placement = gather_placement(c);
  if (c.root() && !c.alone()) {
    std::vector<std::string> hosts;
    for (const auto& p : placement) hosts.push_back(p.host);
    LOG_INFO << what << ": " << describe_nodes(hosts);
  }
  return placement;
}

void write_environment(JsonWriter& j) {
  j.begin_object("host")
      .value("hostname", hostname())
      .value("cpu", cpu_model())
      .value("hardware_threads", static_cast<int64_t>(std::thread::hardware_concurrency()))
      .value("cpu_threads_used", cpu_threads());
  std::string why;
  auto gpus = list_gpus(&why);
  j.begin_array("gpus");
  for (const auto& g : gpus)
    j.begin_object()
        .value("index", g.index)
        .value("name", g.name)
        .value("memory_bytes", static_cast<int64_t>(g.memory_bytes))
        .value("compute_capability", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor))
        .end_object();
  j.end_array();
  if (gpus.empty()) j.value("no_gpu_reason", why);
  j.end_object();
  j.begin_object("libraries")
      .value("alexnet", code_version())
      .value("compiler", compiler())
      .value("onednn", dnnl_version())
      .value("onednn_isa", dnnl_cpu_isa())
      .value("mpi", mpi_library());
  if (cuda_built())
    j.value("cuda", cuda_runtime_version())
        .value("cudnn", cudnn_version())
        .value("cublas", cublas_version())
        .value("nccl", nccl_version());
  j.end_object();
}

}  // namespace alexnet
