#!/usr/bin/env bash
# alexnet under mpirun without Slurm: one rank per task, ranks bound to cores, OpenMP threads set
# from the cores each rank gets.
#   launch/mpirun.sh -np 4 [--hostfile hosts] [--threads N] [--no-bind] -- train --batch 32 --steps 1000
# hosts: one line per node, "node01 slots=2" (a slot is a rank). Extra mpirun options can go in
# MPIRUN_ARGS. The executable is $ALEXNET_BIN (default build/trainer/alexnet).
# When the job aborts (MPI_ABORT: the stall detector, an error) and mpirun has not exited
# ABORT_GRACE seconds later (default 2), mpirun is ended: it waits for ever on the daemon of a node
# it can no longer reach (a cut link), until TCP gives up minutes later. The exit code is then 3.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bin=$ALEXNET_BIN
np=1 hostfile="" threads=0 bind=core
while [ $# -gt 0 ]; do
  case "$1" in
    -np|-n) np=$2; shift 2 ;;
    --hostfile) hostfile=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-bind) bind=none; shift ;;  # nodes that share cores (launch/netns_cluster.sh): no binding
    --) shift; break ;;
    *) echo "mpirun.sh: unknown option $1 (alexnet's own options go after --)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: mpirun.sh -np N [--hostfile F] [--threads T] [--no-bind] -- <alexnet command and options>" >&2; exit 2; }
[ -x "$bin" ] || { echo "mpirun.sh: no executable at $bin" >&2; exit 2; }
cores=$(nproc)
if [ "$threads" -eq 0 ]; then  # a single node: share its cores; with a hostfile alexnet decides per node
  [ -z "$hostfile" ] && threads=$(( cores / np > 0 ? cores / np : 1 ))
fi
opts=(-np "$np")
[ -n "$hostfile" ] && opts+=(--hostfile "$hostfile")
if [ -z "$hostfile" ] && [ "$np" -gt "$cores" ]; then
  opts+=(--oversubscribe --bind-to none)  # more ranks than cores: nothing to bind to
elif [ "$bind" = none ]; then
  opts+=(--bind-to none)
elif [ "$threads" -gt 0 ]; then
  opts+=(--map-by "slot:PE=$threads" --bind-to core)  # each rank on its own cores
fi
[ "$(id -u)" -eq 0 ] && opts+=(--allow-run-as-root)
cmd=$1; shift
flag=$(mktemp)
trap 'rm -f "$flag"' EXIT
# mpirun's standard error passes through unchanged; a copy is watched for the abort: Open MPI's
# notice, or alexnet's own (the stall detector's last words; Open MPI's notice can fail to print).
aborts="MPI_ABORT was invoked|stall: ending the job|stall: rank 0 did not end the job"
# shellcheck disable=SC2086  # MPIRUN_ARGS is a list of options
mpirun "${opts[@]}" ${MPIRUN_ARGS:-} -x OMP_PROC_BIND=close "$bin" "$cmd" --threads "$threads" "$@" \
  2> >(tee -p >(grep -qE "$aborts" && echo abort >"$flag") >&2) &
job=$!
for sig in INT TERM HUP USR1 USR2; do trap 'kill -'$sig' $job 2>/dev/null' $sig; done  # as exec would
while kill -0 $job 2>/dev/null; do
  if [ -s "$flag" ]; then
    for _ in $(seq $(( ${ABORT_GRACE:-2} * 10 ))); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
    if kill -0 $job 2>/dev/null; then
      echo "mpirun.sh: the job aborted but mpirun still waits after ${ABORT_GRACE:-2} s (for a node it cannot reach?); ending it" >&2
      kill -TERM $job 2>/dev/null || true
      for _ in $(seq 10); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
      kill -KILL $job 2>/dev/null || true
      wait $job || true
      exit 3
    fi
  fi
  sleep 0.2
done
rc=0
wait $job || rc=$?
wait  # the copy of standard error, to its last line
exit $rc
