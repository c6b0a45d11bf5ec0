#!/usr/bin/env bash
# Many nodes on one machine (launch/netns_cluster.sh: each node a network namespace with its own
# address and host name, TCP between nodes through a bridge):
#   - mpirun (launch/mpirun.sh with the cluster's launch agent) and Slurm (one slurmd per node,
#     sbatch launch/alexnet.sbatch, srun --mpi=pmix) train and bench on 2 and 4 nodes; local ranks
#     are per node (bench --json's placement), and pre-emption (scancel --signal=USR1) reaches
#     the ranks of every node;
#   - a shaped link (tc tbf) slows the all-reduce as its rate says;
#   - faults: a node's link cut and a node's ranks frozen end the job through the stall detector
#     within --timeout + 10 s, naming the silent ranks and their node; a node killed ends it
#     non-zero within 60 s; after each, --resume auto on the surviving node continues.
# Nothing is left running or mounted: the cluster is torn down at exit, also on failure.
# Exit 77 (skipped) without root, network namespaces or Slurm.
. "$(dirname "$0")/common.sh"
root=$ALEXNET_ROOT
nc=$root/launch/netns_cluster.sh
[ "$(id -u)" -eq 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
for b in ip tc nsenter unshare sbatch slurmctld slurmd munged; do
  command -v $b >/dev/null || { echo "SKIP: $b missing (launch/install_deps.sh test)"; exit 77; }
done
chmod 711 "$tmp"  # munged wants every folder above its socket searchable by all
c=$tmp/cluster
teardown() {
  bash "$nc" stop "$c" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap teardown EXIT
trap 'exit 1' INT TERM  # through the EXIT trap: nothing left behind
fail() {
  echo "FAIL: $*"
  for f in "$c"/slurm/log/slurm*.log; do [ -f "$f" ] && { echo "--- last lines of $(basename "$f")"; tail -n 15 "$f"; }; done
  exit 1
}
ip netns add "alexnet-probe-$$" 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; exit 77; }
ip netns del "alexnet-probe-$$"
model=(--input-size 67 --classes 10 --width 0.25 --batch 8)
on() { bash "$nc" exec "$c" "$@"; }  # on NODE COMMAND...
run_mpi() {  # ranks, then alexnet's command and options: launch/mpirun.sh on node1 over $hosts
  local n=$1; shift
  on node1 bash "$root/launch/mpirun.sh" -np "$n" --hostfile "${hosts:-$c/hosts}" -- "$@"
}
placement() {  # bench/train JSON -> "host:local_rank/local_size ..." in rank order
  "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["nodes"], " ".join("%s:%d/%d" % (p["host"], p["local_rank"], p["local_size"]) for p in d["placement"]))' "$1"
}
expect_placement() {  # file, nodes, ranks per node
  local want="$2" k r
  for k in $(seq "$2"); do for r in $(seq 0 $(($3 - 1))); do want+=" node$k:$r/$3"; done; done
  [ "$(placement "$1")" = "$want" ] || fail "placement in $1: $(placement "$1"), want $want"
}

# 1. mpirun across 2 and then 4 nodes, 2 ranks each: bench (placement) and a short training run.
for nodes in 2 4; do
  bash "$nc" start "$c" "$nodes" >/dev/null || fail "the $nodes-node cluster did not start"
  n=$((2 * nodes))
  run_mpi $n bench "${model[@]}" --steps 2 --warmup 1 --modes train --json "$tmp/mpi-bench-$nodes.json" \
    >"$tmp/mpi-bench-$nodes.log" 2>&1 || fail "mpirun bench on $nodes nodes: $(tail -20 "$tmp/mpi-bench-$nodes.log")"
  expect_placement "$tmp/mpi-bench-$nodes.json" "$nodes" 2
  grep -q "bench: $nodes nodes: node1 (ranks 0, 1), node2 (ranks 2, 3)" "$tmp/mpi-bench-$nodes.log" ||
    fail "bench does not log the nodes: $(grep nodes "$tmp/mpi-bench-$nodes.log")"
  run_mpi $n train "${model[@]}" --steps 4 --log-every 2 --json "$tmp/mpi-train-$nodes.json" >"$tmp/mpi-train-$nodes.log" 2>&1 ||
    fail "mpirun train on $nodes nodes: $(tail -20 "$tmp/mpi-train-$nodes.log")"
  grep -q "Training finished: steps 0..4 on $n ranks" "$tmp/mpi-train-$nodes.log" || fail "train log: $(tail "$tmp/mpi-train-$nodes.log")"
  expect_placement "$tmp/mpi-train-$nodes.json" "$nodes" 2
  # The ranks of different nodes really are apart: no shared memory, TCP over the bridge.
  grep -q "overlap on" "$tmp/mpi-train-$nodes.log" || fail "--overlap auto is not on across nodes: $(grep overlap "$tmp/mpi-train-$nodes.log")"
  echo "mpirun: $nodes nodes x 2 ranks: bench and train, local ranks per node"
  [ "$nodes" = 4 ] || bash "$nc" stop "$c"
done

# 2. Slurm across the 4 nodes: sbatch --nodes=2 and --nodes=4, 2 tasks per node; pre-emption.
eval "$(bash "$nc" slurm "$c" 2)" || fail "Slurm on the nodes did not start"
cd "$tmp" || exit 1
. "$root/tests/slurm_jobs.sh"  # wait_job
. "$c/env.sh"
# 4 nodes under Slurm with one task each: 8 ranks on these 2 cores once failed Open MPI's TCP
# connection wave (connect(): "Operation now in progress", a known overload symptom of 4.1); mpirun
# above covers 4 nodes x 2.
for spec in "2 2" "4 1"; do
  read -r nodes per <<<"$spec"
  id=$(ALEXNET_CMD=bench ALEXNET_OUT=$tmp/sb$nodes ALEXNET_ARGS="${model[*]} --steps 2 --warmup 1 --modes train" \
       sbatch --parsable --nodes=$nodes --ntasks-per-node=$per --cpus-per-task=1 -o "$tmp/sb$nodes-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch"
  st=$(wait_job "$id" 120)
  grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "bench job on $nodes nodes: $st: $(tail -20 "$tmp/sb$nodes-$id.out")"
  expect_placement "$tmp/sb$nodes/bench.json" "$nodes" "$per"
  echo "Slurm: sbatch --nodes=$nodes --ntasks-per-node=$per: bench, local ranks per node"
done
id=$(ALEXNET_CMD=train ALEXNET_OUT=$tmp/st2 ALEXNET_ARGS="${model[*]} --steps 4 --log-every 2" \
     sbatch --parsable --nodes=2 --ntasks-per-node=2 -o "$tmp/st2-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch train"
st=$(wait_job "$id" 120)
grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "train job on 2 nodes: $st: $(tail -20 "$tmp/st2-$id.out")"
grep -q "Training finished: steps 0..4 on 4 ranks" "$tmp/st2-$id.out" || fail "train log: $(tail "$tmp/st2-$id.out")"
expect_placement "$tmp/st2/train.json" 2 2
echo "Slurm: sbatch --nodes=2 --ntasks-per-node=2: train"
# Pre-emption of a training job on all 4 nodes: every rank of every node gets the signal.
id=$(ALEXNET_CMD=train ALEXNET_OUT=$tmp/st ALEXNET_ARGS="${model[*]} --steps 1000000 --log-every 20" \
     sbatch --parsable --nodes=4 --ntasks-per-node=1 --cpus-per-task=1 -o "$tmp/st-%j.out" "$root/launch/alexnet.sbatch") || fail "sbatch train"
for _ in $(seq 300); do grep -q "step [0-9]*/" "$tmp/st-$id.out" 2>/dev/null && break; sleep 0.2; done
grep -q "step [0-9]*/" "$tmp/st-$id.out" || fail "the training job never trained: $(tail "$tmp/st-$id.out")"
scancel --signal=USR1 "$id" || fail "scancel --signal=USR1"
st=$(wait_job "$id" 60)
grep -q "JobState=COMPLETED.*ExitCode=0:0" <<<"$st" || fail "pre-empted job: $st: $(tail -20 "$tmp/st-$id.out")"
grep -q "SIGUSR1 received by 4 of 4 ranks (0 on node1; 1 on node2; 2 on node3; 3 on node4)" "$tmp/st-$id.out" ||
  fail "the signal did not reach every node: $(grep -a SIGUSR1 "$tmp/st-$id.out")"
ls "$tmp/st/checkpoints"/ckpt-*.h5 >/dev/null 2>&1 || fail "the pre-empted job wrote no checkpoint"
expect_placement "$tmp/st/train.json" 4 1
echo "Slurm: sbatch --nodes=4 --ntasks-per-node=1: train, pre-emption reached every node, checkpoint written"
bash "$nc" stop "$c"

# 3. A shaped link: at 100 Mbit/s the gradients (5 MB a rank) take far longer than unshaped.
ar() {  # bench JSON -> the median over ranks of the mean all-reduce (ms)
  "$py" -c 'import json, sys, statistics
m = json.load(open(sys.argv[1]))["modes"][0]
print(round(1e3 * statistics.median(statistics.mean(r["all-reduce_s"]) for r in m["ranks"])))' "$1"
}
SLOTS=1 bash "$nc" start "$c" 2 >/dev/null || fail "the 2-node cluster did not start"
for rate in off 100mbit; do
  bash "$nc" shape "$c" $rate || fail "tc shape $rate"
  run_mpi 2 bench "${model[@]}" --steps 3 --warmup 1 --modes train --overlap off --json "$tmp/shape-$rate.json" \
    >"$tmp/shape-$rate.log" 2>&1 || fail "bench at $rate: $(tail "$tmp/shape-$rate.log")"
done
# A 2-rank ring all-reduce sends each rank's whole gradient once: S bytes at 100 Mbit/s.
bytes=$("$py" -c 'import json, sys; print(4 * sum(b["floats"] for b in json.load(open(sys.argv[1]))["buckets"]) * 2)' "$tmp/shape-off.json")
floor=$((bytes * 8 / 100000))  # ms at 100 Mbit/s
slow=$(ar "$tmp/shape-100mbit.json") fast=$(ar "$tmp/shape-off.json")
[ "$slow" -ge "$floor" ] && [ "$slow" -ge $((3 * fast)) ] ||
  fail "at 100 Mbit/s the all-reduce took $slow ms (unshaped $fast ms; $bytes bytes need >= $floor ms)"
echo "shaped link: all-reduce $fast ms unshaped, $slow ms at 100 Mbit/s (>= $floor ms by the rate)"
# The report's model against these runs: a row for the 2 ranks, its plot; a bad --link is refused.
mkdir -p "$tmp/shaped" && cp "$tmp/shape-100mbit.json" "$tmp/shaped/"
"$bin" report "$tmp/shaped" --out "$tmp/model" --link 100mbit --compare --unshaped "$tmp/shape-off.json" >"$tmp/model.log" 2>&1 ||
  fail "report --compare: $(tail "$tmp/model.log")"
row=$(grep "^| 2 | off | pairwise |" "$tmp/model/report.md") || fail "no model row: $(cat "$tmp/model/report.md")"
[ -s "$tmp/model/model.png" ] || fail "report --compare drew no model.png"
echo "report --compare at 100 Mbit/s: $row"
"$bin" report "$tmp/shaped" --out "$tmp/model" --link 7parsecs --compare >"$tmp/badlink.log" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "7parsecs.*neither a named link" "$tmp/badlink.log" || fail "a bad --link: exit $rc: $(cat "$tmp/badlink.log")"
bash "$nc" shape "$c" off

# 4. Faults on 2 nodes x 2 ranks, each followed by --resume auto on node1 alone.
bash "$nc" start "$c" 2 >/dev/null || fail "the 2-node cluster did not start"
long=(train "${model[@]}" --steps 1000000 --log-every 10 --checkpoint-every 10 --timeout 5)
fault() {  # name, action (a function), bound in s, what the log must say
  local name=$1 action=$2 bound=$3 want=$4 job rc t0 took
  rm -rf "$tmp/ck-$name"
  timeout -s KILL 100 bash "$nc" exec "$c" node1 bash "$root/launch/mpirun.sh" -np 4 --hostfile "$c/hosts" -- \
    "${long[@]}" --checkpoint-dir "$tmp/ck-$name" >"$tmp/$name.log" 2>&1 &
  job=$!
  for _ in $(seq 150); do ls "$tmp/ck-$name"/ckpt-*.h5 >/dev/null 2>&1 && break; sleep 0.2; done
  ls "$tmp/ck-$name"/ckpt-*.h5 >/dev/null 2>&1 || fail "$name: no checkpoint before the fault: $(tail "$tmp/$name.log")"
  t0=$(date +%s.%N)
  $action
  wait $job; rc=$?
  [ $rc -ne 137 ] || fail "$name: the job hung (killed after 100 s): $(grep -a -E "error|stall|abort" "$tmp/$name.log" | head)"
  took=$("$py" -c "import sys; print(round($(date +%s.%N) - $t0, 1))")
  [ $rc -ne 0 ] || fail "$name: the job exited 0"
  "$py" -c "import sys; sys.exit(0 if $took <= $bound else 1)" || fail "$name: the job took $took s to end (bound $bound s)"
  grep -q "$want" "$tmp/$name.log" || fail "$name: the log lacks '$want': $(grep -a -E "error|stall" "$tmp/$name.log" | head)"
  bash "$nc" link "$c" node2 up
  # The survivors continue from the last checkpoint.
  last=$(ls "$tmp/ck-$name"/ckpt-*.h5 | tail -1)
  step=$((10#$(basename "$last" .h5 | sed 's/ckpt-//')))
  echo "node1 slots=2" >"$tmp/survivors"
  hosts=$tmp/survivors run_mpi 2 train "${model[@]}" --steps $((step + 5)) --checkpoint-dir "$tmp/ck-$name" \
    --resume auto >"$tmp/$name-resume.log" 2>&1 || fail "$name: resume: $(tail "$tmp/$name-resume.log")"
  grep -q "resumed from $last at step $step" "$tmp/$name-resume.log" || fail "$name: resume: $(grep -a resum "$tmp/$name-resume.log")"
  grep -q "Training finished: steps $step..$((step + 5)) on 2 ranks" "$tmp/$name-resume.log" || fail "$name: resumed run did not finish"
  echo "$name: exit $rc after $took s (bound $bound s); resumed on node1 at step $step"
  bash "$nc" kill "$c" node2  # what is left of the job on node2 (an unreachable node keeps its daemon)
}
cut_link() { bash "$nc" link "$c" node2 down; }
freeze_node() {
  for p in $(ip netns pids "an$(cat "$c/id")-node2"); do grep -qa "alexnet" "/proc/$p/cmdline" 2>/dev/null && kill -STOP "$p"; done
}
kill_node() { bash "$nc" kill "$c" node2; }
silent="Silent (dead or hung) rank(s): 2, 3 on node2 (all of its ranks)"
fault cut_link cut_link 15 "$silent"
fault freeze_node freeze_node 15 "$silent"
fault kill_node kill_node 60 "node2"
id=$(cat "$c/id")
bash "$nc" stop "$c"
[ -z "$(ip netns list | grep "^an$id-" || true)" ] || fail "namespaces left: $(ip netns list)"
! ip link show "anbr$id" >/dev/null 2>&1 || fail "bridge anbr$id left"
[ -z "$(ls /etc/netns | grep "^an$id-" || true)" ] || fail "/etc/netns entries left"
echo "multinode: torn down, nothing left"
