// `alexnet bench-io`: images/s of the input pipeline alone (read, decode, augment into batches),
// for 1..k loader threads, on raw and JPEG shard sets, with where the time goes per image.
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/options.h"
#include "core/log.h"
#include "core/text.h"
#include "io/loader.h"
#include "parallel/mpi_check.h"
#include "run/stats.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace alexnet {

int cmd_bench_io(const std::vector<std::string>& args) {
  po::options_description desc("bench-io options");
  // clang-format off
  desc.add_options()
      ("data", po::value<std::vector<std::string>>()->multitoken(),
       "shard sets to read (default: a raw and a JPEG synthetic set made in a temporary folder)")
      ("threads-list", po::value<std::string>()->default_value("1,2"), "loader thread counts to time")
      ("batch", po::value<int64_t>()->default_value(64), "images per batch")
      ("batches", po::value<int>()->default_value(30), "timed batches per point (after 3 warm-up)")
      ("crop", po::value<int64_t>()->default_value(227), "crop size")
      ("samples", po::value<int64_t>()->default_value(2048), "images in each temporary synthetic set");
  // clang-format on
  po::variables_map vm;
  if (!parse_options("bench-io", desc, args, vm)) return 0;
  int rank = 0;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  if (rank != 0) return 0;
  std::vector<int> threads;
  as_usage_error([&] {
    for (const auto& t : split(vm["threads-list"].as<std::string>())) {
      const auto n = parse_int(t);
      ALEXNET_CHECK(n && *n >= 1 && *n <= 1024,
                    "--threads-list entries must be whole numbers in [1, 1024], got '" << t << "'");
      threads.push_back(static_cast<int>(*n));
    }
    ALEXNET_CHECK(!threads.empty() && vm["batch"].as<int64_t>() >= 1 && vm["batches"].as<int>() >= 1,
                  "--threads-list, --batch and --batches must be positive");
    return 0;
  });
  std::vector<std::string> sets;
  fs::path tmp;
  if (vm.count("data")) {
    sets = vm["data"].as<std::vector<std::string>>();
  } else {
    tmp = fs::temp_directory_path() / ("alexnet-bench-io-" + std::to_string(::getpid()));
    const std::string n = std::to_string(vm["samples"].as<int64_t>());
    for (const char* enc : {"raw", "jpeg"}) {
      const std::string dir = (tmp / enc).string();
      cmd_shards({"synth", "--out", dir, "--samples", n, "--classes", "10", "--encoding", enc, "--per-shard", "512"});
      sets.push_back(dir);
    }
  }
  std::printf("\n%-8s %8s %12s %16s %12s %12s %12s %16s\n", "encoding", "threads", "images/s", "images/s/thread",
              "read ms/img", "decode ms", "augment ms", "cores for 25k/s");
  for (const auto& dir : sets) {
    auto reader = std::make_shared<const ShardReader>(ShardIndex::load(dir));
    for (int t : threads) {
      LoaderOptions lo;
      lo.batch = vm["batch"].as<int64_t>(), lo.threads = t, lo.prefetch = t + 1, lo.crop = vm["crop"].as<int64_t>();
      Loader loader(reader, lo);
      for (int i = 0; i < 3; ++i) loader.next();
      const LoaderStats s0 = loader.stats();
      const double t0 = now_seconds();
      const int n = vm["batches"].as<int>();
      for (int i = 0; i < n; ++i) loader.next();
      const double dt = now_seconds() - t0;
      const LoaderStats s1 = loader.stats();
      const double ips = static_cast<double>(n * lo.batch) / dt;
      const double per = static_cast<double>(std::max<int64_t>(1, s1.samples - s0.samples));
      std::printf("%-8s %8d %12.0f %16.0f %12.3f %12.3f %12.3f %16.1f\n", encoding_name(reader->index().encoding), t,
                  ips, ips / t, 1e3 * (s1.read_s - s0.read_s) / per, 1e3 * (s1.decode_s - s0.decode_s) / per,
                  1e3 * (s1.augment_s - s0.augment_s) / per, 25000.0 / (ips / t));
    }
  }
  std::printf("(shards just written or recently read are in the page cache: 'read' is then memory speed)\n");
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}

}  // namespace alexnet
