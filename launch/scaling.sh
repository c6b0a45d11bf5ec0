#!/usr/bin/env bash
# A scaling sweep: `alexnet bench --json` at each rank count, weak scaling (fixed batch per rank)
# and/or strong scaling (fixed global batch). Inside a Slurm allocation it launches with srun,
# elsewhere with launch/mpirun.sh. Then `alexnet report DIR` renders the report.
#   launch/scaling.sh --ranks 1,2,4,8 --batch 64 --out runs/scaling [--mode weak|strong|both]
#                     [--global-batch 256] [-- extra alexnet bench options]
set -euo pipefail
. "$(dirname "$0")/env.sh"
bin=$ALEXNET_BIN
ranks=1,2,4 batch=32 global=0 mode=both out=runs/scaling
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --global-batch) global=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "scaling.sh: unknown option $1 (bench options go after --)" >&2; exit 2 ;;
  esac
done
case "$mode" in weak|strong|both) ;; *) echo "scaling.sh: --mode must be weak, strong or both" >&2; exit 2 ;; esac
IFS=, read -r -a counts <<<"$ranks"
max=1; for n in "${counts[@]}"; do [ "$n" -gt "$max" ] && max=$n; done
[ "$global" -gt 0 ] || global=$((batch * max))
mkdir -p "$out"

launch() {  # ranks, then alexnet arguments
  local n=$1; shift
  if [ -n "${SLURM_JOB_ID:-}" ]; then
    srun --mpi="${ALEXNET_SRUN_MPI:-pmix}" --overcommit -n "$n" "$bin" "$@"
  else
    bash "$ALEXNET_ROOT/launch/mpirun.sh" -np "$n" -- "$@"
  fi
}

for sweep in weak strong; do
  [ "$mode" = both ] || [ "$mode" = "$sweep" ] || continue
  for n in "${counts[@]}"; do
    if [ $sweep = weak ]; then b=$batch; else
      [ $((global % n)) -eq 0 ] || { echo "scaling.sh: global batch $global is not divisible by $n ranks" >&2; exit 2; }
      b=$((global / n))
    fi
    echo "scaling.sh: $sweep scaling, $n rank(s) x batch $b"
    launch "$n" bench --batch "$b" --modes train --label "$sweep" --json "$out/$sweep-n$n.json" "$@" \
      >"$out/$sweep-n$n.log" 2>&1 || { echo "scaling.sh: failed, see $out/$sweep-n$n.log" >&2; tail -5 "$out/$sweep-n$n.log" >&2; exit 1; }
    grep "Training step across" "$out/$sweep-n$n.log" || true
  done
done
echo "scaling.sh: JSON in $out; render with: $bin report $out --out $out/report"
