#!/usr/bin/env bash
# What to run on a GPU machine; it builds nothing. Shows the GPUs, runs `alexnet info` and the GPU
# tests, then times our training step (fp32, tf32, bf16 when built; batch 128 and 256) beside the
# PyTorch peer and ends with a summary table. Logs and JSON go to the output folder.
#   tests/gpu_check.sh [BUILD_DIR or folder holding the binaries]   (default: build; else PATH)
# Environment: GPU_CHECK_OUT (output folder, default gpu-check-out), TORCH_PEER (the peer script,
# default .gpu/torch_alexnet.py beside tests/ when present; "none" skips it), GPU_CHECK_TIMEOUT
# (seconds one command may run, default 300), GPU_CHECK_BATCHES (default "128 256"),
# GPU_CHECK_PRECISIONS (default "fp32 tf32 bf16"): fewer rows when device time is short;
# GPU_CHECK_LAYOUT=0 skips the one nchw run beside nhwc.
# Exit status 1 when a test failed, every GPU test was skipped on a GPU host, a program is missing
# or one of our benchmark runs failed; PyTorch's failures are reported but do not count.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-build}
out=${GPU_CHECK_OUT:-gpu-check-out}
limit=${GPU_CHECK_TIMEOUT:-300}
batches=${GPU_CHECK_BATCHES:-128 256}
precisions=${GPU_CHECK_PRECISIONS:-fp32 tf32 bf16}
peer=${TORCH_PEER:-$here/../.gpu/torch_alexnet.py}
mkdir -p "$out" || { echo "gpu_check: cannot create $out" >&2; exit 2; }
failures=()
fail() { failures+=("$*"); echo "FAIL: $*"; }
note() { echo "== $*"; }

find_bin() { # NAME -> path of the program in the given folder (or its trainer/, tests/, bin/), else on PATH
  local c
  for c in "$dir/$1" "$dir/trainer/$1" "$dir/tests/$1" "$dir/bin/$1"; do
    if [ -f "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  command -v "$1" 2>/dev/null
}
run_limited() { # COMMAND... with the time limit (exit 124 when it ran out)
  if command -v timeout >/dev/null 2>&1; then timeout "$limit" "$@"; else "$@"; fi
}
show_tail() { echo "   --- last lines of $1 ---"; tail -n 20 "$1" | sed 's/^/   | /'; }
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }

# ---- 1. the machine
gpus=0
if command -v nvidia-smi >/dev/null 2>&1; then
  note "nvidia-smi -L"
  nvidia-smi -L 2>&1 | tee "$out/nvidia-smi.txt"
  gpus=$(grep -c '^GPU [0-9]' "$out/nvidia-smi.txt")
  note "driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
else
  note "nvidia-smi not found: no NVIDIA driver on this machine"
fi
note "GPUs seen: $gpus"

alexnet=$(find_bin alexnet)
tests_bin=$(find_bin alexnet-tests)
note "alexnet: ${alexnet:-NOT FOUND}; alexnet-tests: ${tests_bin:-NOT FOUND} (looked in $dir, then PATH)"

# ---- 2. alexnet info
if [ -n "$alexnet" ]; then
  note "alexnet info"
  run_limited "$alexnet" info >"$out/info.log" 2>&1
  rc=$?
  cat "$out/info.log"
  [ $rc -eq 0 ] || fail "alexnet info exited $rc"
else
  fail "alexnet not found in $dir or on PATH"
fi

# ---- 3. the GPU tests
t_passed=0 t_failed=0 t_skipped=0 t_ran=0 t_state="not run"
count() { # WORD LOG -> N of gtest's "[  WORD  ] N tests" line (0 when absent)
  local n
  n=$(sed -n "s/^\[ *$1 *\] \([0-9][0-9]*\) tests\{0,1\}[.,].*/\1/p" "$2" | tail -n 1)
  echo "${n:-0}"
}
if [ -n "$tests_bin" ]; then
  note "GPU tests: $tests_bin --gtest_filter='*cuda*:*Cuda*:*Gpu*:*gpu*'"
  run_limited "$tests_bin" --gtest_filter='*cuda*:*Cuda*:*Gpu*:*gpu*' --gtest_color=no >"$out/tests.log" 2>&1
  rc=$?
  t_passed=$(count PASSED "$out/tests.log")
  t_failed=$(count FAILED "$out/tests.log")
  t_skipped=$(count SKIPPED "$out/tests.log")
  t_ran=$(sed -n 's/^\[==========\] \([0-9][0-9]*\) tests\{0,1\} from .* ran\..*/\1/p' "$out/tests.log" | tail -n 1)
  t_ran=${t_ran:-0}
  t_state="exit $rc"
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\] [A-Za-z]' "$out/tests.log" | sed 's/^/   /'
  if [ $rc -eq 124 ]; then fail "GPU tests ran past ${limit}s"; show_tail "$out/tests.log"
  elif [ $rc -ne 0 ] || [ "$t_failed" -gt 0 ]; then
    fail "GPU tests: $t_failed failed (exit $rc)"
    [ "$t_failed" -gt 0 ] || show_tail "$out/tests.log"
  fi
  # The reasons given for skipping (the line after gtest's "file:line: Skipped"), with counts.
  grep -A 1 ': Skipped$' "$out/tests.log" | grep -v -e ': Skipped$' -e '^--$' | sort | uniq -c |
    sed 's/^/   skipped because: /' | tee "$out/skip_reasons.txt"
  if [ "$gpus" -gt 0 ] && [ "$t_ran" -eq 0 ]; then
    fail "no test matched the GPU filter although $gpus GPU(s) are present"
  elif [ "$gpus" -gt 0 ] && { [ "$t_skipped" -ge "$t_ran" ] || grep -qi 'no GPU' "$out/skip_reasons.txt"; }; then
    fail "GPU tests were SKIPPED ($t_skipped of $t_ran) for want of a GPU although $gpus GPU(s) are present"
  elif [ "$t_skipped" -gt 0 ] && [ "$gpus" -gt 0 ]; then
    echo "   WARNING: $t_skipped GPU test(s) skipped on a GPU host (reasons above)"
  fi
else
  fail "alexnet-tests not found in $dir or on PATH"
fi

# ---- 3b. NCCL across ranks (one GPU per rank: needs two GPUs)
mpi_tests=$(find_bin alexnet-mpi-tests)
nccl_state="skipped (needs 2 GPUs, mpirun and alexnet-mpi-tests)"
if [ "$gpus" -ge 2 ] && [ -n "$mpi_tests" ] && command -v mpirun >/dev/null 2>&1; then
  note "mpirun -np 2 alexnet-mpi-tests --gtest_filter='DataParallelGpu*'"
  run_limited mpirun -np 2 --oversubscribe "$mpi_tests" --gtest_filter='DataParallelGpu*' --gtest_color=no \
    >"$out/nccl_tests.log" 2>&1
  rc=$?
  nccl_state="exit $rc: $(count PASSED "$out/nccl_tests.log") passed, $(count FAILED "$out/nccl_tests.log") failed, $(count SKIPPED "$out/nccl_tests.log") skipped"
  [ $rc -eq 0 ] || { fail "NCCL tests ($nccl_state)"; show_tail "$out/nccl_tests.log"; }
fi
note "NCCL: $nccl_state"

# ---- 4. our benchmark: the training step, fp32 / tf32 / bf16 x batches
declare -A ours theirs
ours_ips() { # JSON LOG -> images/s of the train mode
  if python3 - "$1" 2>/dev/null <<'EOF'; then return 0; fi
import json, sys
d = json.load(open(sys.argv[1]))
print("%.1f" % next(m["images_per_s"] for m in d["modes"] if m["mode"] == "train"))
EOF
  awk '$1 == "train" && NF >= 6 && $NF ~ /^[0-9.]+$/ {v = $NF} END {if (v == "") exit 1; print v}' "$2"
}
bf16_listed=0
if [ -n "$alexnet" ] && "$alexnet" bench --help 2>&1 | grep -q bf16; then bf16_listed=1; fi
for p in $precisions; do
  for b in $batches; do
    if [ -z "$alexnet" ]; then ours[$p,$b]=missing; continue; fi
    if [ "$p" = bf16 ] && [ "${ours[bf16,first]:-}" = "n/a" ]; then ours[$p,$b]="n/a"; continue; fi
    log=$out/bench_${p}_$b.log json=$out/bench_${p}_$b.json
    rm -f "$json"
    note "alexnet bench --devices cuda:0 --precision $p --batch $b --steps 50 --warmup 10 --modes train"
    run_limited "$alexnet" bench --devices cuda:0 --precision "$p" --batch "$b" --steps 50 --warmup 10 \
      --modes train --json "$json" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && v=$(ours_ips "$json" "$log") && is_number "$v"; then
      ours[$p,$b]=$v
      echo "   $p batch $b: $v images/s"
    elif [ "$p" = bf16 ] && [ $bf16_listed -eq 0 ] && [ $rc -ne 0 ]; then
      ours[$p,$b]="n/a" ours[bf16,first]="n/a"
      echo "   bf16: not available in this build (bench exited $rc; --help does not list bf16)"
    else
      ours[$p,$b]=failed
      fail "alexnet bench $p batch $b (exit $rc, images/s: ${v:-none})"
      show_tail "$log"
    fi
    unset v
  done
done

# ---- 4b. the layout: --layout auto takes nhwc on GPUs; time nchw beside it once (tf32, batch 256)
layout_line="not timed"
if [ -n "$alexnet" ] && [ "${GPU_CHECK_LAYOUT:-1}" = 1 ]; then
  note "alexnet bench --devices cuda:0 --precision tf32 --batch 256 --layout nchw (the other layout)"
  run_limited "$alexnet" bench --devices cuda:0 --precision tf32 --batch 256 --layout nchw --steps 30 --warmup 5 \
    --modes train --json "$out/bench_tf32_256_nchw.json" >"$out/bench_tf32_256_nchw.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && v=$(ours_ips "$out/bench_tf32_256_nchw.json" "$out/bench_tf32_256_nchw.log"); then
    layout_line="tf32 batch 256: nchw $v images/s, nhwc ${ours[tf32,256]:--} images/s"
  else
    layout_line="nchw run failed (exit $rc), see bench_tf32_256_nchw.log"
  fi
  unset v
fi

# ---- 5. the PyTorch peer, same configurations
peer_note=""
if [ "$peer" = none ]; then
  peer_note="skipped (TORCH_PEER=none)"
elif [ ! -f "$peer" ]; then
  peer_note="no peer script at $peer (set TORCH_PEER)"
elif ! python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  peer_note="python3 has no PyTorch with CUDA here"
else
  phelp=$(python3 "$peer" --help 2>&1)
  has() { grep -q -e "$1" <<<"$phelp"; }
  pbatch=--batch; has --batches && pbatch=--batches
  pwarm=(); if has --burn-in; then pwarm=(--burn-in 10); elif has --warmup; then pwarm=(--warmup 10); fi
  pmodes=(); has --modes && pmodes=(--modes train)
  # The issue's peer: eager, cudnn.benchmark (the script's default on CUDA), channels-last.
  pmodes+=($(has --channels-last && echo --channels-last))
  pmodes+=($(has --no-layers && echo --no-layers))  # no per-layer breakdown: device time is short
  for p in $precisions; do
    if has --precision; then pprec=(--precision "$p")
    elif has --amp; then
      case $p in fp32) pprec=() ;; bf16) pprec=(--amp bf16) ;; *) pprec=(none) ;; esac
    else
      [ "$p" = fp32 ] && pprec=() || pprec=(none)
    fi
    for b in $batches; do
      if [ "${pprec[*]-}" = none ]; then theirs[$p,$b]="n/a"; continue; fi
      log=$out/torch_${p}_$b.log json=$out/torch_${p}_$b.json
      pjson=(); has --json && pjson=(--json "$json")
      rm -f "$json"
      note "python3 $peer --device cuda $pbatch $b --steps 50 ${pwarm[*]-} ${pmodes[*]-} ${pprec[*]-}"
      run_limited python3 "$peer" --device cuda "$pbatch" "$b" --steps 50 ${pwarm[@]+"${pwarm[@]}"} \
        ${pmodes[@]+"${pmodes[@]}"} ${pprec[@]+"${pprec[@]}"} ${pjson[@]+"${pjson[@]}"} >"$log" 2>&1
      rc=$?
      v=""
      [ -f "$json" ] && v=$(python3 - "$json" 2>/dev/null <<'EOF'
import json, sys
r = [x for x in json.load(open(sys.argv[1]))["results"] if x.get("mode", "train") == "train"]
print("%.1f" % r[-1]["img_per_s"])
EOF
)
      is_number "$v" || v=$(sed -n 's/.*[ ,]\([0-9][0-9]*\.[0-9]*\) img\/s.*/\1/p' "$log" | tail -n 1)
      if [ $rc -eq 0 ] && is_number "$v"; then theirs[$p,$b]=$v; echo "   PyTorch $p batch $b: $v images/s"
      else theirs[$p,$b]=failed; echo "   PyTorch $p batch $b failed (exit $rc), see $log"; show_tail "$log"; fi
    done
  done
fi
[ -n "$peer_note" ] && note "PyTorch peer skipped: $peer_note"

# ---- 6. summary
{
  echo
  echo "==================== gpu_check summary ===================="
  echo "GPUs: $gpus   GPU tests ($t_state): $t_ran ran, $t_passed passed, $t_failed failed, $t_skipped skipped"
  echo "NCCL tests: $nccl_state"
  echo "layout: $layout_line"
  [ "$gpus" -eq 0 ] && [ "$t_ran" -gt 0 ] && [ "$t_skipped" -ge "$t_ran" ] && echo "   (no GPU here: skips expected)"
  printf '%-6s %6s %14s %14s %12s\n' mode batch "ours img/s" "PyTorch img/s" "ours/PyTorch"
  for p in $precisions; do
    for b in $batches; do
      o=${ours[$p,$b]:-"-"} t=${theirs[$p,$b]:-"-"} r="-"
      is_number "$o" && is_number "$t" && r=$(awk -v o="$o" -v t="$t" 'BEGIN {printf "%.2f", o / t}')
      printf '%-6s %6s %14s %14s %12s\n' "$p" "$b" "$o" "$t" "$r"
    done
  done
  [ -n "$peer_note" ] && echo "PyTorch: $peer_note"
  # The per-layer table of the last configuration that ran (the fastest mode is usually bf16 256).
  for p in $precisions; do for b in $batches; do
    is_number "${ours[$p,$b]:-}" && last_log=$out/bench_${p}_$b.log
  done; done
  if [ -n "${last_log:-}" ]; then
    echo "per-layer times of $(basename "$last_log" .log):"
    sed -n '/^Per-layer\|^layer /,$p' "$last_log" | head -n 40
  fi
  echo "logs: $out"
  if [ ${#failures[@]} -eq 0 ]; then echo "RESULT: OK"
  else
    echo "RESULT: FAILED (${#failures[@]})"
    printf '  - %s\n' "${failures[@]}"
  fi
} | tee "$out/summary.txt"
[ ${#failures[@]} -eq 0 ]
