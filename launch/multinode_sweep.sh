#!/usr/bin/env bash
# The network model against measurement, on one machine: a cluster of network-namespace nodes
# (launch/netns_cluster.sh), one rank per node, the links shaped with tc to each RATE, and the
# weak-scaling sweep (1, 2, 4 nodes) with overlap on and off at each; then `alexnet report` per rate
# with --link set to that rate, whose "Model against measurement" section compares the predicted
# all-reduce, exposed all-reduce and step with the measured ones. RATE "off" (unshaped links) gets no
# report of its own: its runs give the others the hosts' own cost of the all-reduce (--unshaped).
# As root.
#   launch/multinode_sweep.sh [--rates off,1gbit,10gbit] [--nodes 1,2,4] [--out runs/multinode]
#                             [-- bench options]   (default: a model small enough for 2 cores)
# The nodes share this machine's cores: each run's own compute is what the model is given, so the
# comparison is of the communication model. mpi_yield_when_idle keeps a rank that waits in MPI from
# spinning on a core another node's rank needs (on a real cluster each node has its own).
set -euo pipefail
. "$(dirname "$0")/env.sh"
rates=off,1gbit,10gbit nodes=1,2,4 out=runs/multinode
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) rates=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "multinode_sweep.sh: unknown option $1 (bench options go after --)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || set -- --input-size 67 --classes 10 --width 0.25 --batch 32 --bucket-mb 1 --steps 8 --warmup 2
IFS=, read -r -a counts <<<"$nodes"
IFS=, read -r -a speeds <<<"$rates"
max=1; for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
mkdir -p "$out"; out=$(cd "$out" && pwd)
c=$(mktemp -d)
chmod 711 "$c"
trap 'bash "$ALEXNET_ROOT/launch/netns_cluster.sh" stop "$c"; rm -rf "$c"' EXIT
SLOTS=1 bash "$ALEXNET_ROOT/launch/netns_cluster.sh" start "$c" "$max" >/dev/null
export MPIRUN_ARGS="${MPIRUN_ARGS:-} --mca mpi_yield_when_idle 1"
for rate in "${speeds[@]}"; do
  bash "$ALEXNET_ROOT/launch/netns_cluster.sh" shape "$c" "$rate"
  for overlap in on off; do
    for n in "${counts[@]}"; do
      f=$out/$rate/overlap-$overlap-n$n
      mkdir -p "$out/$rate"
      bash "$ALEXNET_ROOT/launch/netns_cluster.sh" exec "$c" node1 bash "$ALEXNET_ROOT/launch/mpirun.sh" -np "$n" \
        --hostfile "$c/hosts" --threads 1 --no-bind -- bench --modes train --overlap "$overlap" --label weak "$@" --json "$f.json" \
        >"$f.log" 2>&1 || { echo "multinode_sweep.sh: failed, see $f.log" >&2; tail -5 "$f.log" >&2; exit 1; }
      echo "multinode_sweep.sh: $rate, overlap $overlap, $n node(s): $(grep -E "^train " "$f.log" | awk '{print $2 " s per step"}')"
    done
  done
  [ "$rate" = off ] && continue  # unshaped: no link to model
  unshaped=()
  [ -d "$out/off" ] && unshaped=(--unshaped "$out/off")
  "$ALEXNET_BIN" report "$out/$rate" --out "$out/$rate/report" --link "$rate" --compare --shared-cores "${unshaped[@]}" --project 8,64 \
    >"$out/$rate/report.log" 2>&1 ||
    { echo "multinode_sweep.sh: report for $rate failed:" >&2; tail -5 "$out/$rate/report.log" >&2; exit 1; }
done
echo "multinode_sweep.sh: reports in $out/<rate>/report/report.md"
