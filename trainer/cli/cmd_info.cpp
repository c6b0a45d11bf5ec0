// `alexnet info`: the architecture table (in the manner of the seed's print_architecture) with
// parameters and FLOPs, then the compute devices and library versions this build uses.
#include <cstdio>
#include <iostream>

#include "cli/options.h"
#include "core/device.h"
#include "core/host.h"
#include "core/log.h"
#include "layers/backend_info.h"
#include "parallel/comm.h"
#include "parallel/mpi_check.h"
#include "run/environment.h"

namespace po = boost::program_options;

namespace alexnet {

namespace {

std::string with_commas(int64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

void print_architecture(const ModelConfig& m) {
  auto rows = architecture(m);
  std::printf("AlexNet (Krizhevsky, Sutskever, Hinton 2012), two towers; input 3x%lldx%lld, %lld classes, width x%g\n",
              static_cast<long long>(m.input_size), static_cast<long long>(m.input_size),
              static_cast<long long>(m.classes), m.width);
  std::printf("%-6s %-22s %-16s %-16s %12s %10s  %s\n", "layer", "op", "per tower", "whole", "params", "MFLOP/img",
              "tower exchange");
  for (const auto& r : rows) {
    std::printf("%-6s %-22s %-16s %-16s %12s %10.1f  %s\n", r.name.c_str(), r.op.c_str(), r.tower_output.str().c_str(),
                r.whole_output.str().c_str(), r.params ? with_commas(r.params).c_str() : "-", r.flops / 1e6,
                r.exchange.c_str());
  }
  const double fwd = total_flops(rows);
  const double conv1 = rows.front().flops;
  std::printf("%-6s %-22s %-16s %-16s %12s %10.1f\n", "total", "", "", "", with_commas(total_params(rows)).c_str(),
              fwd / 1e6);
  std::printf("LRN: %s\n", m.lrn.str().c_str());
  std::printf(
      "FLOPs count 2 per multiply-add of conv and fc layers. Forward %.3f GFLOP per image; a training\n"
      "step about %.2f GFLOP per image (forward, backward data except conv1's, backward weights).\n",
      fwd / 1e9, (3 * fwd - conv1) / 1e9);
  std::printf("Gradients: %.1f MB fp32 per replica (half per tower).\n", total_params(rows) * 4.0 / 1e6);
}

// Each GPU library as compiled against and as found now, and a warning for each one older at run
// time (the first thing to check when a GPU host misbehaves).
void print_gpu_libraries() {
  std::vector<LibraryVersion> libs = gpu_library_versions();
  if (const auto nccl = nccl_library_version()) libs.push_back(*nccl);
  std::printf("  GPU libraries (compiled against / running with):");
  for (size_t i = 0; i < libs.size(); ++i)
    std::printf("%s %s %s / %s", i ? "," : "", libs[i].name.c_str(), libs[i].str(libs[i].compiled).c_str(),
                libs[i].str(libs[i].running).c_str());
  std::printf("\n");
  for (const std::string& w : version_warnings(libs)) std::printf("  WARNING: %s\n", w.c_str());
}

void print_devices() {
  std::printf("\nDevices\n");
  std::string why;
  auto gpus = list_gpus(&why);
  if (gpus.empty()) {
    std::printf("  GPU: none found (%s): the layers run on the CPU backend\n", why.c_str());
  }
  for (const auto& g : gpus) {
    const std::string failure = cuda_selftest(g.index);
    std::printf("  GPU %d: %s, %.1f GiB, compute capability %d.%d, kernel self-test %s%s\n", g.index, g.name.c_str(),
                static_cast<double>(g.memory_bytes) / (1 << 30), g.cc_major, g.cc_minor,
                failure.empty() ? "ok" : "FAILED: ", failure.c_str());
  }
  if (cuda_built()) print_gpu_libraries();
  // Where `--devices auto` puts one rank's towers here (a lone rank: local rank 0 of 1).
  const auto towers = place_towers("auto", 0, 1, static_cast<int>(gpus.size()));
  std::printf("  Towers (--devices auto, one rank): %s and %s; --precision auto: %s\n", towers[0].str().c_str(),
              towers[1].str().c_str(), towers[0].is_cuda() ? "tf32" : "fp32");
  std::printf("  CPU: %s dispatching to %s, %d threads\n", dnnl_version().c_str(), dnnl_cpu_isa().c_str(),
              cpu_threads());
  int size = 1;
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  std::printf("  MPI: %s, %d rank%s\n", mpi_library().c_str(), size, size == 1 ? "" : "s");
}

}  // namespace

int cmd_info(const std::vector<std::string>& args) {
  po::options_description desc("info options");
  add_model_options(desc);
  po::variables_map vm;
  if (!parse_options("info", desc, args, vm)) return 0;
  ModelConfig m = model_config_from(vm);
  int rank = 0;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  if (rank != 0) return 0;
  print_architecture(m);
  print_devices();
  std::fflush(stdout);
  return 0;
}

}  // namespace alexnet
