#!/usr/bin/env bash
# Side by side on this machine, one after the other in one run, same batch, steps and threads:
# `alexnet bench` against the PyTorch peer as Debian ships it and tuned (tcmalloc, AVX-512), then
# the ratios. Usage: launch/compare_cpu.sh [PEERS_DIR] (default ../shared/peers)
#   BATCH=32 STEPS=20 WARMUP=5 THREADS=2 BUILD_DIR=build
set -euo pipefail
. "$(dirname "$0")/env.sh"
root=$ALEXNET_ROOT
peers=$(cd "${1:-$root/../shared/peers}" && pwd)
batch=${BATCH:-32} steps=${STEPS:-20} warmup=${WARMUP:-5} threads=${THREADS:-2}
alexnet=$ALEXNET_BIN
out=${ALEXNET_OUT:-$root/runs/compare}
mkdir -p "$out"
[ -x "$alexnet" ] || { echo "compare_cpu.sh: build alexnet first ($alexnet)"; exit 2; }
# Debian's python3-torch recommends OpenBLAS; without it PyTorch's fc layers run on the reference
# BLAS (measured here: fc6 alone 0.77 s per forward at batch 32) and the comparison is meaningless.
if readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -qv openblas; then
  echo "compare_cpu.sh: libblas.so.3 is the reference BLAS; install libopenblas0-pthread for a fair peer" >&2
  exit 2
fi

echo "== alexnet bench, batch $batch, $threads threads =="
"$alexnet" bench --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" \
  --json "$out/alexnet.json" 2>&1 | tee "$out/alexnet.log"
peer_args=(--batches "$batch" --steps "$steps" --burn-in "$warmup" --threads "$threads" --budget 100000 --no-layers)
echo "== PyTorch peer as shipped =="
/usr/bin/python3 "$peers/torch_alexnet.py" "${peer_args[@]}" --json "$out/torch.json" 2>&1 | tee "$out/torch.log" | grep "sec / batch"
echo "== PyTorch peer tuned =="
bash "$peers/torch_alexnet_tuned.sh" "${peer_args[@]}" --json "$out/torch_tuned.json" 2>&1 | tee "$out/torch_tuned.log" | grep "sec / batch"

ours() { grep -E "^$1 across" "$out/alexnet.log" | sed -E 's/.*steps, ([0-9.]+) .*/\1/'; }
peer() { grep -E " $1 +batch" "$2" | sed -E 's/.*steps, ([0-9.]+) .*/\1/'; }
echo
echo "| mode (batch $batch, $threads threads) | alexnet s | PyTorch s | tuned PyTorch s | vs PyTorch | vs tuned |"
echo "|---|---|---|---|---|---|"
for pair in "Forward:fwd" "Forward-backward:fwdbwd" "Training step:train"; do
  a=$(ours "${pair%%:*}"); p=$(peer "${pair##*:}" "$out/torch.log"); t=$(peer "${pair##*:}" "$out/torch_tuned.log")
  awk -v m="${pair%%:*}" -v a="$a" -v p="$p" -v t="$t" \
    'BEGIN { printf "| %s | %.3f | %.3f | %.3f | %.2fx | %.2fx |\n", m, a, p, t, p / a, t / a }'
done
