// `alexnet bench`: its options, then the benchmark of run/bench.h on random images: the seed's
// three lines, the summary, the per-layer table whose rows add up to the measured step, the phases
// across ranks, and the JSON report.
#include <mpi.h>

#include "cli/options.h"
#include "core/log.h"
#include "core/text.h"
#include "layers/backend_info.h"
#include "parallel/watchdog.h"
#include "run/bench.h"
#include "run/environment.h"
#include "run/trace.h"

namespace po = boost::program_options;

namespace alexnet {

void add_bench_options(po::options_description& desc) {
  add_run_options(desc, 128);
  // clang-format off
  desc.add_options()
      ("steps", po::value<int>()->default_value(100), "timed steps per mode")
      ("warmup", po::value<int>()->default_value(10), "burn-in steps per mode (not counted)")
      ("modes", po::value<std::string>()->default_value("forward,forward-backward,train"),
       "comma-separated: forward, forward-backward, train")
      ("lr", number_value(0.01), "learning rate of the training step")
      ("profile-steps", po::value<int>()->default_value(10),
       "GPUs: the per-layer table comes from this many steps profiled after the timed ones, which run without "
       "the per-layer events (0: profile the timed steps). The CPU profiles every timed step (free there)")
      ("json", po::value<std::string>(), "write config, host, libraries, per-step and per-layer times here")
      ("label", po::value<std::string>()->default_value(""), "a free-form label recorded in the JSON (e.g. weak, strong)")
      ("trace", po::value<std::string>()->default_value(""),
       "write a timeline of --trace-steps of the training step's timed steps (Chrome trace-event JSON) here")
      ("trace-steps", po::value<std::string>()->default_value(""),
       "A:B, the timed steps traced (1-based, inclusive; default 2:6, or all when fewer); GPUs: traced steps carry "
       "the per-layer CUDA events")
      ("timeout", number_value(60),
       "seconds a collective may wait before the job is ended as stalled, naming the silent ranks (0: never)");
  // clang-format on
}

namespace {

BenchConfig bench_config_from(const po::variables_map& vm) {
  return as_usage_error([&] {
    BenchConfig c;
    c.steps = vm["steps"].as<int>(), c.warmup = vm["warmup"].as<int>();
    c.modes = split(vm["modes"].as<std::string>());
    c.lr = vm["lr"].as<double>();
    c.label = vm["label"].as<std::string>();
    c.profile_steps = vm["profile-steps"].as<int>();
    c.options = options_ini(vm);
    c.trace_path = vm["trace"].as<std::string>();
    c.trace_steps = vm["trace-steps"].as<std::string>();
    ALEXNET_CHECK(!c.trace_path.empty() || c.trace_steps.empty(), "--trace-steps needs --trace FILE");
    if (!c.trace_path.empty()) parse_trace_steps(c.trace_steps, 1, c.steps);  // a bad range: before anything runs
    check_bench_config(c);
    return c;
  });
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  po::options_description desc("bench options");
  add_bench_options(desc);
  const Cluster cluster = Cluster::from(MPI_COMM_WORLD);
  const auto parsed = parse_on_every_rank("bench", desc, args, cluster);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const ModelOptions mo = model_options_from(vm, cluster);
  DataParallelOptions dpo = data_parallel_from(vm, mo, cluster);
  // Timed like the seed and the peer: the model and its gradient exchange. train's NaN/Inf scan of
  // every bucket (one more pass over the gradients) is not part of the benchmark.
  dpo.check_finite = false;
  const BenchConfig bc = bench_config_from(vm);
  check_output_file(cluster, "--json", vm.count("json") ? vm["json"].as<std::string>() : "");
  check_output_file(cluster, "--trace", bc.trace_path);
  LOG_INFO << "bench: " << cluster.size << (cluster.size == 1 ? " rank" : " ranks") << " x batch " << mo.batch << ", "
           << layout_name(mo.layout) << " on " << mo.device.str() << (mo.tower1_device ? "," : "")
           << (mo.tower1_device ? mo.tower1_device->str() : "") << " (" << precision_name(mo.precision) << ", "
           << dnnl_version() << ", " << dnnl_cpu_isa() << ", " << cpu_threads() << " threads), " << bc.warmup
           << " burn-in + " << bc.steps << " timed steps per mode";
  log_placement(cluster, "bench");
  AlexNet net(mo);
  DataParallel dp(net, cluster, dpo);
  const auto watchdog = start_watchdog(cluster, vm["timeout"].as<double>());
  dp.broadcast_params();
  fill_random_batch(net, mo.seed ^ static_cast<uint64_t>(cluster.rank));
  net.upload_batch();  // once: like the seed and the peer, the same batch every step
  const std::vector<ModeResult> results = run_bench(net, dp, bc);
  print_bench(results, net, cluster);
  if (vm.count("json")) write_bench_json(vm["json"].as<std::string>(), results, bc, net, dp);
  return 0;
}

}  // namespace alexnet
