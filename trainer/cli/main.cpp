// The `alexnet` executable: MPI and logging set-up, the subcommand dispatch, and the one place
// errors are caught: a bad command line exits 2 on every rank (printed once), any other error is
// logged and ends the whole job with MPI_Abort so that no rank is left hanging.
#include <mpi.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/options.h"
#include "core/device.h"
#include "core/log.h"

namespace {

void print_usage() {
  std::printf(
      "alexnet: the 2012 two-tower AlexNet, trained and timed across MPI ranks.\n\n"
      "Usage: alexnet <command> [options]   (alexnet <command> --help for its options)\n\n"
      "Commands:\n");
  for (const auto& c : alexnet::commands()) std::printf("  %-8s %s\n", c.name, c.summary);
  std::printf("  %-8s %s\n", "report",
              "a scaling report (Markdown + plots) from bench JSON files; --project N,... --link L for a projection");
}

}  // namespace

// `alexnet report` renders plots with Debian's python3-matplotlib: it needs no MPI, so it replaces
// this process with the report script before MPI starts.
int run_report(int argc, char** argv) {
  const char* env = std::getenv("ALEXNET_REPORT_SCRIPT");
  const std::string script = env ? env : ALEXNET_SOURCE_DIR "/launch/report.py";
  const char* python = std::getenv("ALEXNET_PYTHON") ? std::getenv("ALEXNET_PYTHON") : "/usr/bin/python3";
  if (access(script.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "alexnet report: cannot read the report script %s (set ALEXNET_REPORT_SCRIPT)\n",
                 script.c_str());
    return 2;
  }
  std::vector<char*> args{const_cast<char*>(python), const_cast<char*>(script.c_str())};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(python, args.data());
  std::fprintf(stderr, "alexnet report: cannot run %s (apt-get install python3-matplotlib): %s\n", python,
               std::strerror(errno));
  return 2;
}

int main(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "report")) return run_report(argc, argv);
  alexnet::init_logging(0);
  int provided = 0;  // the communication thread overlapping backward needs more than FUNNELED
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "alexnet: MPI_Init_thread failed\n");
    return 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  alexnet::init_logging(rank);

  int rc = 0;
  try {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
      if (rank == 0) print_usage();
      rc = argc < 2 ? 2 : 0;
    } else {
      const alexnet::Command* cmd = nullptr;
      for (const auto& c : alexnet::commands())
        if (c.name == std::string(argv[1])) cmd = &c;
      if (!cmd) throw alexnet::UsageError(std::string("alexnet: unknown command '") + argv[1] + "'");
      rc = cmd->run(std::vector<std::string>(argv + 2, argv + argc));
    }
  } catch (const alexnet::UsageError& e) {
    if (rank == 0) {
      std::fprintf(stderr, "%s\n", e.what());
      if (std::strstr(e.what(), "unknown command")) print_usage();
    }
    rc = 2;
  } catch (const alexnet::CollectiveError& e) {
    if (rank == 0) LOG_ERROR << e.what();
    rc = 1;
  } catch (const std::exception& e) {
    // This rank alone: the others may be waiting in a collective, so end the whole job.
    LOG_ERROR << e.what();
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
  MPI_Finalize();
  return rc;
}
