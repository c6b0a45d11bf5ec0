# What the local Slurm clusters share (source it): launch/slurm_local.sh (one node on 127.0.0.1)
# and launch/netns_cluster.sh (one slurmd per namespace node). As root.
#   stop_pidfiles FILE...       kill the daemons of these pid files, wait for them, remove the files
#   start_munged DIR            a munged of its own: DIR/munge (key, socket), DIR/munged.pid,
#                               DIR/log/munged.log; checks that munged can reach its socket
#   slurm_conf_common DIR       the slurm.conf lines both clusters use (munge of DIR, state in
#                               DIR/state, no accounting, cons_tres by CPU, PMIx)
# The callers set `die` (prints and exits) before calling.

stop_pidfiles() {
  local f alive
  for f in "$@"; do [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }; done
  for _ in $(seq 50); do
    alive=0
    for f in "$@"; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  rm -f "$@"
}

start_munged() {
  local d=$1 p
  mkdir -p "$d/munge" "$d/log"
  chmod 711 "$d" "$d/munge"  # munged wants every folder above its socket searchable by all
  p=$(dirname "$d")
  while [ "$p" != / ]; do
    [ "$(( 0$(stat -c %a "$p") & 01 ))" -ne 0 ] || die "$p is not searchable by all (chmod o+x): munged refuses"
    p=$(dirname "$p")
  done
  [ -f "$d/munge/munge.key" ] || mungekey --create --keyfile="$d/munge/munge.key" >/dev/null
  chmod 400 "$d/munge/munge.key"
  munged --socket="$d/munge/munge.socket.2" --pid-file="$d/munged.pid" --log-file="$d/log/munged.log" \
    --seed-file="$d/munge/munge.seed" --key-file="$d/munge/munge.key"
}

slurm_conf_common() {
  local d=$1
  # Job ids start at a random number: a PMIx step folder (spmix_appdir_<uid>_<job>.<step>) left by
  # a killed job of an earlier local cluster must never meet a new job with the same id.
  cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket.2
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
StateSaveLocation=$d/state
KillWait=5
FirstJobId=$(( (RANDOM << 8 | RANDOM & 255) % 4000000 + 1000 ))
CONF
}
