#!/usr/bin/env bash
# A real single-node Slurm cluster on 127.0.0.1 (munge + slurmctld + slurmd) in a scratch folder,
# for the tests and for trying the launch scripts without a cluster. As root.
#   launch/slurm_local.sh start DIR [CPUS]   # prints: export SLURM_CONF=DIR/slurm.conf
#   launch/slurm_local.sh stop DIR
# Everything (config, key, sockets, state, logs, pids) lives under DIR. CPUS (default: this
# machine's) may exceed the cores: the node is declared with that many CPUs.
set -euo pipefail
cmd=${1:?usage: slurm_local.sh start|stop DIR [CPUS]}
dir=$(mkdir -p "${2:?usage: slurm_local.sh start|stop DIR [CPUS]}" && cd "$2" && pwd)
cpus=${3:-$(nproc)}
host=$(hostname)

. "$(dirname "$0")/slurm_common.sh"
die() { echo "slurm_local.sh: $*" >&2; exit 2; }
stop() { stop_pidfiles "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; }

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "slurm_local.sh: unknown command $cmd" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "slurm_local.sh: run as root" >&2; exit 2; }
for b in munged mungekey slurmctld slurmd sinfo; do
  command -v $b >/dev/null || { echo "slurm_local.sh: $b missing (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
done
stop
mkdir -p "$dir/state" "$dir/spool" "$dir/pmix"
start_munged "$dir"
# PMIx keeps its per-step folders here rather than in /tmp (see slurm_conf_common: job ids).
echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
{
  echo "ClusterName=alexnet-local"
  echo "SlurmctldHost=$host"
  echo "SlurmctldPort=16817"
  echo "SlurmdPort=16818"
  slurm_conf_common "$dir"
  cat <<CONF
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=60 State=UP
CONF
} >"$dir/slurm.conf"
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  [ "$(sinfo -h -n "$host" -o %t 2>/dev/null)" = idle ] && { echo "export SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.1
done
echo "slurm_local.sh: the node did not become idle; logs in $dir/log" >&2
exit 1
