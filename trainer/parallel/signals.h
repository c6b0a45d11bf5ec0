// Pre-emption: SIGTERM and SIGUSR1 (what Slurm sends before it kills a job) only set a flag; the
// training loop reads it at the end of every step, all ranks agree, a checkpoint is written and
// the run exits 0.
#pragma once

namespace alexnet {

void install_stop_handlers();  // SIGTERM, SIGUSR1
int stop_signal();             // the signal received, or 0
const char* signal_name(int sig);

}  // namespace alexnet
