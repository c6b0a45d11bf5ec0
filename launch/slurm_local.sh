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

stop() {
  for p in slurmd slurmctld munged; do
    [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    alive=0
    for p in slurmd slurmctld munged; do
      [ -f "$dir/$p.pid" ] && kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null && alive=1
    done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  rm -f "$dir"/*.pid
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "slurm_local.sh: unknown command $cmd" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "slurm_local.sh: run as root" >&2; exit 2; }
for b in munged mungekey slurmctld slurmd sinfo; do
  command -v $b >/dev/null || { echo "slurm_local.sh: $b missing (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
done
stop
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/pmix"
chmod 711 "$dir" "$dir/munge"  # munged wants every folder above its socket searchable by all
p=$(dirname "$dir")
while [ "$p" != / ]; do
  [ "$(( 0$(stat -c %a "$p") & 01 ))" -ne 0 ] || { echo "slurm_local.sh: $p is not searchable by all (chmod o+x): munged refuses" >&2; exit 2; }
  p=$(dirname "$p")
done
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
chmod 400 "$dir/munge/munge.key"
munged --socket="$dir/munge/munge.socket.2" --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge/munge.seed" --key-file="$dir/munge/munge.key"
# Job ids start at a random number, and PMIx keeps its per-step folders here rather than in /tmp:
# a step folder (spmix_appdir_<uid>_<job>.<step>) left by a killed job of an earlier local cluster
# must never meet a new job with the same id, whose step would fail to launch.
first_job=$(( (RANDOM << 8 | RANDOM & 255) % 4000000 + 1000 ))
echo "PMIxCliTmpDirBase=$dir/pmix" >"$dir/mpi.conf"
cat >"$dir/slurm.conf" <<CONF
ClusterName=alexnet-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
EnforcePartLimits=ALL
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
KillWait=5
FirstJobId=$first_job
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=60 State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  [ "$(sinfo -h -n "$host" -o %t 2>/dev/null)" = idle ] && { echo "export SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.1
done
echo "slurm_local.sh: the node did not become idle; logs in $dir/log" >&2
exit 1
