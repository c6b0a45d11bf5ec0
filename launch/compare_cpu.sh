#!/usr/bin/env bash
# Side by side on this machine, one after the other in one run, same batches, steps and threads:
# `alexnet bench` in fp32 and in bf16 (where the CPU has bf16) against the PyTorch peer
# (torch_alexnet.py, the same AlexNet timed the same way) as a CPU user would run it:
#   shipped   Debian's PyTorch 1.13 as installed
#   tuned     Debian's PyTorch 1.13 with tcmalloc and AVX-512 ATen kernels
#   eager     the newest PyTorch from PyPI (launch/torch_peer.sh), fp32
#   cl        the same, channels_last
#   compile   the same, torch.compile
#   bf16      the same, bf16 autocast (only where the CPU has bf16)
#   bf16_cl   bf16 autocast and channels_last
# then, per batch and mode, the seconds per batch and the ratios (peer / ours: above 1, we are
# faster) against ours in the same precision, and the best peer of each precision.
#   launch/compare_cpu.sh [PEERS_DIR]   (default ../shared/peers beside the repository)
#   BATCHES="32 128" STEPS=10 WARMUP=3 THREADS=2 MODES="fwd fwdbwd train" PEERS="shipped tuned eager cl compile bf16 bf16_cl"
# Results in $ALEXNET_OUT (default runs/compare): the logs, our JSON, versions and summary.md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
root=$ALEXNET_ROOT
peers=$(cd "${1:-$root/../shared/peers}" && pwd)
batches=${BATCHES:-32 128} steps=${STEPS:-10} warmup=${WARMUP:-3} threads=${THREADS:-2}
modes=${MODES:-fwd fwdbwd train}
peer_set=${PEERS:-shipped tuned eager cl compile bf16 bf16_cl}
alexnet=$ALEXNET_BIN
out=${ALEXNET_OUT:-$root/runs/compare}
mkdir -p "$out"
[ -x "$alexnet" ] || { echo "compare_cpu.sh: build alexnet first ($alexnet)" >&2; exit 2; }
bash "$root/launch/install_deps.sh" peers
# Debian's python3-torch recommends OpenBLAS; without it PyTorch's fc layers run on the reference
# BLAS (measured here: fc6 alone 0.77 s per forward at batch 32) and the comparison is meaningless.
if readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -qv openblas; then
  echo "compare_cpu.sh: libblas.so.3 is the reference BLAS; select OpenBLAS (update-alternatives) for a fair peer" >&2
  exit 2
fi

# Our bf16 needs bf16 instructions; the peers' bf16 autocast likewise (it would run, emulated and slow).
bf16=0
"$alexnet" info 2>/dev/null | grep -qE "dispatching to avx512_core_(bf16|amx)" && bf16=1
{
  echo "machine: $(lscpu | sed -nE 's/^Model name: +//p'), $(nproc) cores; $threads threads per run"
  "$alexnet" info 2>/dev/null | sed -nE 's/^ +CPU: /alexnet: /p'
  echo "Debian PyTorch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)"
  bash "$root/launch/torch_peer.sh" --info | sed 's/^/newest PyTorch /'
} | tee "$out/versions.txt"

peer_modes=() ours_modes=()
for m in $modes; do
  case $m in
    fwd) ours_modes+=(forward) ;; fwdbwd) ours_modes+=(forward-backward) ;; train) ours_modes+=(train) ;;
    *) echo "compare_cpu.sh: unknown mode $m (fwd, fwdbwd, train)" >&2; exit 2 ;;
  esac
  peer_modes+=("$m")
done
ours_list=$(IFS=,; echo "${ours_modes[*]}")
precisions=(fp32)
[ $bf16 -eq 1 ] && precisions+=(bf16)
for b in $batches; do
  for p in "${precisions[@]}"; do
    echo "== alexnet bench, batch $b, $p =="
    "$alexnet" bench --devices cpu --precision "$p" --batch "$b" --steps "$steps" --warmup "$warmup" \
      --threads "$threads" --modes "$ours_list" --json "$out/alexnet_${p}_b$b.json" >"$out/alexnet_${p}_b$b.log" 2>&1
    grep -E "sec per batch" "$out/alexnet_${p}_b$b.log"
  done
done

peer_args=(--batches $batches --modes "${peer_modes[@]}" --steps "$steps" --burn-in "$warmup" --threads "$threads"
           --budget 100000 --no-layers)
run_peer() {  # name, then how
  local name=$1; shift
  echo "== PyTorch peer: $name =="
  "$@" "${peer_args[@]}" >"$out/torch_$name.log" 2>&1 || { echo "  (failed: see $out/torch_$name.log)"; return 0; }
  grep "sec / batch" "$out/torch_$name.log" || true
}
ran=()
for name in $peer_set; do
  case $name in
    shipped) run_peer "$name" /usr/bin/python3 "$peers/torch_alexnet.py" ;;
    tuned) run_peer "$name" bash "$peers/torch_alexnet_tuned.sh" ;;
    eager) run_peer "$name" env PEERS_DIR="$peers" bash "$root/launch/torch_peer.sh" ;;
    cl) run_peer "$name" env PEERS_DIR="$peers" bash "$root/launch/torch_peer.sh" --channels-last ;;
    compile) run_peer "$name" env PEERS_DIR="$peers" bash "$root/launch/torch_peer.sh" --compile ;;
    bf16|bf16_cl)
      [ $bf16 -eq 1 ] || { echo "== PyTorch peer: $name skipped (no bf16 instructions) =="; continue; }
      extra=(--precision bf16); [ $name = bf16_cl ] && extra+=(--channels-last)
      run_peer "$name" env PEERS_DIR="$peers" bash "$root/launch/torch_peer.sh" "${extra[@]}" ;;
    *) echo "compare_cpu.sh: unknown peer $name" >&2; exit 2 ;;
  esac
  ran+=("$name")
done

ours() {  # mode (fwd|fwdbwd|train), precision, batch -> seconds per batch
  local label
  case $1 in fwd) label=Forward ;; fwdbwd) label=Forward-backward ;; train) label="Training step" ;; esac
  grep -E "^$label across" "$out/alexnet_$2_b$3.log" 2>/dev/null | sed -E 's/.*steps, ([0-9.]+) .*/\1/'
}
peer() {  # mode, peer name, batch -> seconds per batch
  grep -E " $1 +batch +$3 across" "$out/torch_$2.log" 2>/dev/null | sed -E 's/.*steps, ([0-9.]+) .*/\1/' | tail -1
}
{
  echo
  cat "$out/versions.txt"
  for b in $batches; do
    echo
    header="| batch $b | ours fp32 |"
    [ $bf16 -eq 1 ] && header+=" ours bf16 |"
    for n in "${ran[@]}"; do header+=" $n |"; done
    echo "$header best fp32 peer / ours fp32 |$([ $bf16 -eq 1 ] && echo ' best bf16 peer / ours bf16 |')"
    echo "|$(printf -- '---|%.0s' $(seq 1 $(( $(grep -o '|' <<<"$header" | wc -l) + bf16 ))))"
    for m in "${peer_modes[@]}"; do
      f=$(ours "$m" fp32 "$b"); h=$([ $bf16 -eq 1 ] && ours "$m" bf16 "$b" || true)
      row="| $m | ${f:--} |"
      [ $bf16 -eq 1 ] && row+=" ${h:--} |"
      best32="" best16=""
      for n in "${ran[@]}"; do
        t=$(peer "$m" "$n" "$b")
        if [ -z "$t" ]; then row+=" - |"; continue; fi
        case $n in bf16*) ref=$h ;; *) ref=$f ;; esac
        row+=" $t ($(awk -v p="$t" -v a="$ref" 'BEGIN { if (a > 0) printf "%.2fx", p / a; else printf "-" }')) |"
        case $n in
          bf16*) best16=$(awk -v x="$t" -v y="$best16" 'BEGIN { print (y == "" || x < y) ? x : y }') ;;
          *) best32=$(awk -v x="$t" -v y="$best32" 'BEGIN { print (y == "" || x < y) ? x : y }') ;;
        esac
      done
      row+=" $(awk -v p="$best32" -v a="$f" 'BEGIN { if (p > 0 && a > 0) printf "%.2fx", p / a; else printf "-" }') |"
      [ $bf16 -eq 1 ] && row+=" $(awk -v p="$best16" -v a="$h" 'BEGIN { if (p > 0 && a > 0) printf "%.2fx", p / a; else printf "-" }') |"
      echo "$row"
    done
  done
  echo
  echo "Seconds per batch (mean of $steps timed steps after $warmup burn-in, $threads threads); in brackets the"
  echo "peer's time over ours in the same precision (fp32 peers against our fp32, bf16 peers against our bf16)."
} | tee "$out/summary.md"
