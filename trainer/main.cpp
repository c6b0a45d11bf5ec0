// The `alexnet` executable: MPI and logging set-up, the subcommand dispatch, and the one place
// errors are caught: a bad command line exits 2 on every rank (printed once), any other error is
// logged and ends the whole job with MPI_Abort so that no rank is left hanging.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli.h"
#include "device.h"
#include "log.h"

namespace {

void print_usage() {
  std::printf("alexnet: the 2012 two-tower AlexNet, trained and timed across MPI ranks.\n\n"
              "Usage: alexnet <command> [options]   (alexnet <command> --help for its options)\n\n"
              "Commands:\n");
  for (const auto& c : alexnet::commands()) std::printf("  %-8s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
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
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
        !std::strcmp(argv[1], "help")) {
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
