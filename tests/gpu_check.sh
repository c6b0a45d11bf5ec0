#!/usr/bin/env bash
# The one prepared call for a GPU window (it builds nothing): stages ordered by what they are worth,
# each under a time limit, all under one budget; every log into a scratch folder packed into one
# archive; a compact summary last (it fits the tail a device run returns).
#
#   First call (build here, bundle, copy the peer, rehearse, then one device run):
#     cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2
#     ../shared/gpu/bundle.sh .gpu build/trainer/alexnet build/tests/alexnet-tests build/tests/alexnet-mpi-tests
#     cp ../shared/peers/torch_alexnet.py .gpu/
#     bash .gpu/run.sh 'bash tests/gpu_check.sh'                  # rehearsal here: exits 0, GPU stages skip
#     device run, carry [".gpu"], timeout_s 480:  bash .gpu/run.sh 'bash tests/gpu_check.sh'
#   Rerun after a fix: rebuild, bundle again, then only what failed, e.g.
#     bash .gpu/run.sh 'GPU_CHECK_STAGES="model layers" bash tests/gpu_check.sh'
#
# Stages (GPU_CHECK_STAGES, default all, in this order):
#   info    nvidia-smi, `alexnet info` (versions compiled against and found, warnings)
#   model   the model on the GPU against the CPU and the single-network reference; NCCL with one
#           rank (a real communicator: init, stream, events, the sum)
#   bench   our training step, bf16 and tf32 at batch 256 (and bf16 through NCCL, --allreduce always)
#   peer    the PyTorch peer for the same rows (TORCH_PEER, default .gpu/torch_alexnet.py)
#   layers  every other GPU test (each layer against the double reference, every precision)
#   more    fp32 and batch 128 rows, ours and the peer's, and --layout nchw beside nhwc
#   nccl2   NCCL across two ranks (two GPUs)
# Environment: GPU_CHECK_OUT (where gpu_check.tgz and summary.txt go: default $OUT, else
# gpu-check-out), GPU_CHECK_STAGE_TIMEOUT (seconds per command, default 150), GPU_CHECK_BUDGET
# (seconds in all, default 400: a stage that would not fit is skipped and said so).
# Without a GPU (the rehearsal) the GPU stages are skipped and the exit status says whether the
# programs ran: 1 on a failed test, a failed run of ours or a missing program; PyTorch's failures
# are reported but do not count.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-}  # the programs' folder; default: PATH (the bundle's wrappers under run.sh), then build/
out=${GPU_CHECK_OUT:-${OUT:-gpu-check-out}}
work=$(mktemp -d /tmp/gpu-check.XXXXXX)
limit=${GPU_CHECK_STAGE_TIMEOUT:-150}
budget=${GPU_CHECK_BUDGET:-400}
stages=${GPU_CHECK_STAGES:-info model bench peer layers more nccl2}
peer=${TORCH_PEER:-$here/../.gpu/torch_alexnet.py}
mkdir -p "$out" || { echo "gpu_check: cannot create $out" >&2; exit 2; }
start=$SECONDS
failures=() skipped=() notes=()
fail() { failures+=("$*"); echo "FAIL: $*"; }
note() { echo "== $*"; }
left() { echo $((budget - (SECONDS - start))); }
wanted() { [[ " $stages " == *" $1 "* ]]; }
# stage NAME SECONDS: whether to run it (asked for, and the budget has SECONDS left)
stage() {
  wanted "$1" || return 1
  if [ "$(left)" -lt "$2" ]; then skipped+=("$1 (needs ~$2 s, $(left) s left)"); return 1; fi
  note "stage $1 ($(left) s of the budget left)"
}
find_bin() { # NAME -> the program in the given folder (or its trainer/, tests/, bin/), else on PATH, else build/
  local c d
  if [ -z "$dir" ]; then command -v "$1" 2>/dev/null && return 0; fi
  for d in ${dir:-$here/../build}; do
    for c in "$d/$1" "$d/trainer/$1" "$d/tests/$1" "$d/bin/$1"; do
      if [ -f "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
  done
  [ -n "$dir" ] && command -v "$1" 2>/dev/null
}
limited() { # COMMAND... under the stage limit, and never past the budget (exit 124 when cut)
  local t
  t=$(left)
  [ "$t" -gt "$limit" ] && t=$limit
  [ "$t" -lt 5 ] && t=5
  timeout "$t" "$@"
}
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
count() { # WORD LOG -> N of gtest's "[  WORD  ] N tests" line (0 when absent)
  local n
  n=$(sed -n "s/^\[ *$1 *\] \([0-9][0-9]*\) tests\{0,1\}[.,].*/\1/p" "$2" | tail -n 1)
  echo "${n:-0}"
}

alexnet=$(find_bin alexnet)
tests_bin=$(find_bin alexnet-tests)
mpi_tests=$(find_bin alexnet-mpi-tests)
gpus=0
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L >"$work/nvidia-smi.txt" 2>&1
  gpus=$(grep -c '^GPU [0-9]' "$work/nvidia-smi.txt")
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv \
    >>"$work/nvidia-smi.txt" 2>&1
fi
note "GPUs: $gpus; alexnet: ${alexnet:-NOT FOUND}; alexnet-tests: ${tests_bin:-NOT FOUND}; alexnet-mpi-tests: ${mpi_tests:-NOT FOUND}"
[ -n "$alexnet" ] || fail "alexnet not found (${dir:-PATH, build/})"
[ -n "$tests_bin" ] || fail "alexnet-tests not found (${dir:-PATH, build/})"
[ -n "$mpi_tests" ] || fail "alexnet-mpi-tests not found (${dir:-PATH, build/})"

# gtest RUN-NAME FILTER [BINARY]: a filtered run of the tests into $work/RUN-NAME.log, counted.
declare -A t_counts
gtest() {
  local name=$1 filter=$2 bin=${3:-$tests_bin} rc
  [ -n "$bin" ] || return 0
  limited "$bin" --gtest_filter="$filter" --gtest_color=no >"$work/$name.log" 2>&1
  rc=$?
  local p f s
  p=$(count PASSED "$work/$name.log") f=$(count FAILED "$work/$name.log") s=$(count SKIPPED "$work/$name.log")
  t_counts[$name]="$p passed, $f failed, $s skipped"
  echo "   $name: ${t_counts[$name]} (exit $rc)"
  grep -E '^\[  FAILED  \] [A-Za-z].*\(' "$work/$name.log" | sed 's/^/   /'
  if [ $rc -eq 124 ]; then fail "$name: ran past ${limit} s"
  elif [ $rc -ne 0 ] || [ "$f" -gt 0 ]; then fail "$name: $f failed (exit $rc)"
  fi
  if [ "$gpus" -gt 0 ] && [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then fail "$name: every test skipped on a GPU host"; fi
  grep -A 1 ': Skipped$' "$work/$name.log" | grep -v -e ': Skipped$' -e '^--$' | sort | uniq -c |
    sed "s/^/   $name skipped because: /" >>"$work/skip_reasons.txt"
  grep -h 'no cuDNN engine, case left out' "$work/$name.log" >>"$work/lacking_engines.txt"
}

# ours PRECISION BATCH [EXTRA...]: one benchmark of our training step; images/s into ours[key].
declare -A ours theirs
ours() {
  local p=$1 b=$2 key="$1,$2" rc v name; shift 2
  [ $# -gt 0 ] && key="$key,$*"
  name=bench_${p}_$b$( [ $# -gt 0 ] && echo "_$*" | tr -c 'a-z0-9_\n' '_')
  local log=$work/$name.log json=$work/$name.json
  limited "$alexnet" bench --devices cuda:0 --precision "$p" --batch "$b" --steps 50 --warmup 10 --modes train \
    --json "$json" "$@" >"$log" 2>&1
  rc=$?
  v=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.1f" % d["modes"][0]["images_per_s"])' \
      "$json" 2>/dev/null)
  if [ $rc -eq 0 ] && is_number "$v"; then ours[$key]=$v; echo "   ours $key: $v images/s"
  else ours[$key]=failed; fail "alexnet bench $key (exit $rc)"; tail -n 8 "$log" | sed 's/^/   | /'; fi
}

# theirs PRECISION BATCH: the PyTorch peer, eager, cudnn.benchmark, channels-last, no per-layer pass.
peer_ok=""
theirs() {
  local p=$1 b=$2 rc v log=$work/torch_${1}_$2.log json=$work/torch_${1}_$2.json
  limited python3 "$peer" --device cuda --batches "$b" --steps 50 --burn-in 10 --budget 60 --modes train \
    --precision "$p" --channels-last --no-layers --json "$json" >"$log" 2>&1
  rc=$?
  v=$(python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["results"] if x.get("mode","train")=="train"]; print("%.1f" % r[-1]["img_per_s"])' \
      "$json" 2>/dev/null)
  if [ $rc -eq 0 ] && is_number "$v"; then theirs[$p,$b]=$v; echo "   PyTorch $p,$b: $v images/s"
  else theirs[$p,$b]=failed; notes+=("PyTorch $p batch $b failed (exit $rc): $(tail -n 1 "$log")"); fi
}
peer_usable() {
  [ -n "$peer_ok" ] && { [ "$peer_ok" = yes ]; return; }
  if [ ! -f "$peer" ]; then notes+=("no PyTorch peer at $peer (TORCH_PEER)"); peer_ok=no
  elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    notes+=("python3 has no PyTorch with CUDA here"); peer_ok=no
  else peer_ok=yes; fi
  [ "$peer_ok" = yes ]
}

if stage info 20 && [ -n "$alexnet" ]; then
  limited "$alexnet" info >"$work/info.log" 2>&1 || fail "alexnet info exited $?"
  grep -E '^  (GPU|CPU|Towers|MPI)|WARNING' "$work/info.log" | sed 's/^/   /'
fi
if [ "$gpus" -eq 0 ]; then
  notes+=("no GPU on this host: a rehearsal (the GPU tests skip, the benchmarks do not run)")
fi
if stage model 120; then
  gtest model '*FullModelMatchesCpu*cuda*:*ModelEquivalence*cuda*'
  gtest nccl1 'OneRankAllReduce.*' "$mpi_tests"
fi
if [ "$gpus" -gt 0 ] && stage bench 90 && [ -n "$alexnet" ]; then
  ours bf16 256
  ours tf32 256
  ours bf16 256 --allreduce always
fi
if [ "$gpus" -gt 0 ] && stage peer 100 && peer_usable; then
  theirs bf16 256
  theirs tf32 256
fi
if stage layers 150; then
  gtest layers '*cuda*:*Cuda*:*Gpu*:*gpu*:-*FullModelMatchesCpu*:*ModelEquivalence*'
fi
if [ "$gpus" -gt 0 ] && stage more 120 && [ -n "$alexnet" ]; then
  ours fp32 256
  ours bf16 128
  ours tf32 128
  ours tf32 256 --layout nchw
  if peer_usable; then theirs fp32 256; theirs bf16 128; theirs tf32 128; fi
fi
if [ "$gpus" -ge 2 ] && stage nccl2 60 && [ -n "$mpi_tests" ]; then
  limited mpirun -np 2 --oversubscribe "$mpi_tests" --gtest_filter='DataParallelGpu*' --gtest_color=no \
    >"$work/nccl2.log" 2>&1 || fail "NCCL across 2 ranks (exit $?)"
  t_counts[nccl2]="$(count PASSED "$work/nccl2.log") passed, $(count FAILED "$work/nccl2.log") failed"
fi

# The engines cuDNN chose and any tf32/bf16 that fell back to fp32, from the benchmarks' logs.
grep -h 'cuDNN: ' "$work"/bench_*.log 2>/dev/null | sed 's/^.*\] cuDNN: //' | sort -u >"$work/engines.txt"

{
  echo
  echo "==================== gpu_check summary ($((SECONDS - start)) s) ===================="
  head -n 3 "$work/nvidia-smi.txt" 2>/dev/null
  grep -E 'GPU libraries|WARNING' "$work/info.log" 2>/dev/null
  for k in model nccl1 layers nccl2; do [ -n "${t_counts[$k]:-}" ] && echo "tests $k: ${t_counts[$k]}"; done
  grep -h -E '^\[  FAILED  \] [A-Za-z].*\(' "$work"/*.log 2>/dev/null | sort -u | head -n 20
  [ -s "$work/lacking_engines.txt" ] && echo "exotic conv cases without a cuDNN engine: $(wc -l <"$work/lacking_engines.txt")"
  printf '%-6s %6s %-18s %12s %14s %8s\n' mode batch extra "ours img/s" "PyTorch img/s" ratio
  for key in "${!ours[@]}"; do echo "$key"; done | sort | while IFS=, read -r p b x; do
    o=${ours[$p,$b${x:+,$x}]} t=${theirs[$p,$b]:--} r=-
    [ -n "$x" ] && t=-
    is_number "$o" && is_number "$t" && r=$(awk -v o="$o" -v t="$t" 'BEGIN {printf "%.2f", o / t}')
    printf '%-6s %6s %-18s %12s %14s %8s\n' "$p" "$b" "${x:--}" "$o" "$t" "$r"
  done
  for f in "$work"/bench_bf16_256.log "$work"/bench_tf32_256.log; do
    [ -f "$f" ] || continue
    echo "per-layer ($(basename "$f" .log)):"
    sed -n '/^layer /,/^sum of rows/p' "$f" | awk '{printf "  %s", $0; if (NR % 2 == 0) print ""} END {print ""}'
  done
  if [ -s "$work/engines.txt" ]; then
    echo "cuDNN engines ($(wc -l <"$work/engines.txt") problems; all in engines.txt):"
    grep -E 'forward of x|does not use tensor cores' "$work/engines.txt" | cut -c1-240 | head -n 24
  fi
  for n in "${notes[@]}"; do echo "note: $n"; done
  for s in "${skipped[@]}"; do echo "stage skipped: $s"; done
  echo "logs: $out/gpu_check.tgz"
  if [ ${#failures[@]} -eq 0 ]; then echo "RESULT: OK"
  else echo "RESULT: FAILED (${#failures[@]})"; printf '  - %s\n' "${failures[@]}"; fi
} | tee "$work/summary.txt"
cp "$work/summary.txt" "$out/summary.txt"
tar -czf "$out/gpu_check.tgz" -C "$(dirname "$work")" "$(basename "$work")"
rm -rf "$work"
[ ${#failures[@]} -eq 0 ]
