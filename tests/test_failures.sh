#!/usr/bin/env bash
# No hangs, nothing lost (CPU, under mpiexec where ranks matter):
#   a killed rank ends the job in bounded time and is named; a stopped (hung) rank is named by the
#   stall detector; a NaN stops training naming step, layer and rank; SIGTERM writes a checkpoint
#   and exits 0, and --resume auto then reaches the same weights as an uninterrupted run; a
#   truncated newest checkpoint falls back to the previous one with a warning; a full disk during a
#   checkpoint leaves the previous one loadable; each bad flag gives its message and exit code 2.
. "$(dirname "$0")/common.sh"
model=(--input-size 67 --classes 10 --width 0.25)
small=("${model[@]}" --batch 8)
trap 'umount "$tmp/disk" 2>/dev/null; rm -rf "$tmp"' EXIT

rank_pid() {  # the PID of MPI rank $1 among running "alexnet train" processes
  for p in $(pgrep -f "alexnet train"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$p"
  done
}
wait_for_step() {  # until log $1 shows a training step (the run is past start-up)
  for _ in $(seq 100); do grep -q "step [0-9]*/" "$1" 2>/dev/null && return 0; sleep 0.2; done
  fail "no training step logged in $1: $(cat "$1")"
}
same_weights() {  # two checkpoints hold bit-identical weights and momentum
  "$py" - "$1" "$2" <<'PY' || fail "checkpoints $1 and $2 differ"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for t in ("tower0", "tower1"):
    for d in ("values", "momentum"):
        if not np.array_equal(a[t][d][...].view(np.uint32), b[t][d][...].view(np.uint32)):
            sys.exit(f"{t}/{d} differ")
PY
}

# 1. kill -9 one of 3 ranks mid-training: the job ends, non-zero, within the bound, naming it.
long=(train "${small[@]}" --steps 1000000 --log-every 10)
start=$(date +%s)
timeout 120 mpiexec --oversubscribe -n 3 "$bin" "${long[@]}" --timeout 10 >"$tmp/kill.log" 2>&1 &
job=$!
wait_for_step "$tmp/kill.log"
kill -9 "$(rank_pid 1)"
wait $job; rc=$?; took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] || fail "the job exited 0 after a rank was killed"
[ $rc -ne 124 ] || fail "the job hung after a rank was killed"
grep -qE "rank 1( |\)|:|,)" "$tmp/kill.log" || fail "the killed rank is not named: $(tail -20 "$tmp/kill.log")"
echo "killed rank: exit $rc after ${took} s"

# 2. A rank that hangs (SIGSTOP): the stall detector names it and ends the job.
start=$(date +%s)
timeout 120 mpiexec --oversubscribe -n 3 "$bin" "${long[@]}" --timeout 5 >"$tmp/stall.log" 2>&1 &
job=$!
wait_for_step "$tmp/stall.log"
victim=$(rank_pid 2)
kill -STOP "$victim"
wait $job; rc=$?; took=$(( $(date +%s) - start ))
kill -9 "$victim" 2>/dev/null
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a hung rank: exit $rc (124: the job hung)"
grep -q "Silent (dead or hung) rank(s): 2" "$tmp/stall.log" || fail "the hung rank is not named: $(cat "$tmp/stall.log")"
# Where the others wait depends on where the stop lands: a bucket's all-reduce, the end-of-step
# agreement or a log line's sums; each is named with its step.
grep -qE "stall: no progress for [0-9]+ s in (all-reduce|the end-of-step agreement|the sum of the losses|the gather of step times).* of step [0-9]+" "$tmp/stall.log" ||
  fail "the collective is not named: $(cat "$tmp/stall.log")"
echo "hung rank: exit $rc after ${took} s"

# 3. A NaN: stop names step, layer and rank (and exits non-zero on every rank, no abort needed).
out=$(timeout 120 mpiexec --oversubscribe -n 2 "$bin" train "${small[@]}" --steps 6 --inject-nan 4:1:fc7 2>&1); rc=$?
[ $rc -ne 0 ] || fail "a NaN did not stop training"
grep -q "step 4: non-finite values: rank 1: the first NaN/Inf gradient (backward order) is in fc7 of tower 0" <<<"$out" ||
  fail "NaN report: $out"

# 4. SIGTERM mid-run: checkpoint, exit 0; --resume auto reaches the uninterrupted run's weights.
timeout 120 "$bin" train "${small[@]}" --steps 100000 --log-every 10 --checkpoint-dir "$tmp/pre" >"$tmp/term.log" 2>&1 &
job=$!
wait_for_step "$tmp/term.log"
kill -TERM $job
wait $job; rc=$?
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc: $(tail -5 "$tmp/term.log")"
grep -q "stopped early by SIGTERM at step" "$tmp/term.log" || fail "no pre-emption summary: $(tail -5 "$tmp/term.log")"
ck=$(ls "$tmp/pre"/ckpt-*.h5 | tail -1)
k=$(basename "$ck" .h5 | sed 's/ckpt-0*//')
n=$((k + 7))
"$bin" train "${small[@]}" --steps $n --resume auto --checkpoint-dir "$tmp/pre" >"$tmp/resume.log" 2>&1 ||
  fail "resume: $(tail -5 "$tmp/resume.log")"
grep -q "resumed from $ck at step $k" "$tmp/resume.log" || fail "did not resume from $ck: $(head -5 "$tmp/resume.log")"
"$bin" train "${small[@]}" --steps $n --checkpoint-dir "$tmp/straight" >/dev/null 2>&1 || fail "uninterrupted run failed"
same_weights "$tmp/pre/ckpt-$(printf %08d $n).h5" "$tmp/straight/ckpt-$(printf %08d $n).h5"
echo "pre-emption at step $k, resumed to $n: identical weights"

# 5. A truncated newest checkpoint: resume falls back to the previous one, with a warning.
"$bin" train "${small[@]}" --steps 4 --checkpoint-every 2 --checkpoint-dir "$tmp/trunc" >/dev/null 2>&1 || fail "train for truncation"
truncate -s 5000 "$tmp/trunc/ckpt-00000004.h5"
out=$("$bin" train "${small[@]}" --steps 5 --resume auto --checkpoint-dir "$tmp/trunc" 2>&1) || fail "resume after truncation: $out"
grep -q "warning.*ckpt-00000004.h5.*trying the previous checkpoint" <<<"$out" || fail "no warning for the truncated file: $out"
grep -q "resumed from .*ckpt-00000002.h5 at step 2" <<<"$out" || fail "did not fall back to step 2: $out"

# 6. A full disk while writing a checkpoint: the previous one stays loadable.
mkdir -p "$tmp/disk"
if mount -t tmpfs -o size=16m tmpfs "$tmp/disk" 2>/dev/null; then
  out=$("$bin" train "${small[@]}" --steps 4 --checkpoint-every 1 --keep 1 --checkpoint-dir "$tmp/disk/ck" 2>&1); rc=$?
  [ $rc -ne 0 ] || fail "a full disk went unnoticed: $out"
  grep -q "writing checkpoint .*ckpt-00000002.h5 failed (the previous checkpoints are intact)" <<<"$out" ||
    fail "full disk message: $out"
  [ "$(ls "$tmp/disk/ck")" = "ckpt-00000001.h5" ] || fail "left behind: $(ls -a "$tmp/disk/ck")"
  out=$("$bin" train "${small[@]}" --steps 1 --resume "$tmp/disk/ck/ckpt-00000001.h5" 2>&1) || fail "previous checkpoint: $out"
  grep -q "already at step 1" <<<"$out" || fail "the previous checkpoint did not load: $out"
  umount "$tmp/disk"
else
  echo "full disk: skipped (cannot mount a tmpfs here)"
fi

# 7. Bad command lines: a message naming the problem, exit 2, before any work.
check() {  # expected-substring, then the alexnet arguments
  local want=$1; shift
  out=$(timeout 60 "$bin" "$@" 2>&1); rc=$?
  [ $rc -eq 2 ] || fail "alexnet $*: exit $rc, expected 2: $out"
  grep -qF -- "$want" <<<"$out" || fail "alexnet $*: message lacks '$want': $out"
}
check "--batch must be at least 1" train "${model[@]}" --batch 0
check "--steps must be at least 1" train "${small[@]}" --steps 0
check "give the length of the run: --steps N or --epochs E" train "${small[@]}"
check "give --steps or --epochs, not both" train "${small[@]}" --steps 2 --epochs 1
check "--epochs must be in (0, 1e6]" train "${small[@]}" --epochs 0
check "--devices cuda:7: there is no cuda:7" train "${small[@]}" --devices cuda:7
check "the CPU backend computes in fp32 or bf16, not tf32" bench "${small[@]}" --devices cpu --precision tf32
# bf16 on a CPU without bf16 instructions (oneDNN held to AVX2 here): refused, naming the ISA.
ONEDNN_MAX_CPU_ISA=AVX2 check "bf16 on the CPU needs bf16 instructions (oneDNN's avx512_core_bf16 or avx512_core_amx)" \
  bench "${small[@]}" --devices cpu --precision bf16
ONEDNN_MAX_CPU_ISA=AVX2 check "dispatches to avx2 here" bench "${small[@]}" --devices cpu --precision bf16
check "unknown precision 'fp16'" bench "${small[@]}" --precision fp16
check "unknown device 'tpu'" bench "${small[@]}" --devices tpu
check "unknown layout 'chw'" bench "${small[@]}" --layout chw
check "unknown LRN convention 'tf'" info --lrn tf
check "class count must be even" train --classes 7
check "input size must be in [67, 4096]" bench --input-size 50
check "model width must be in (0, 16]" info --width 0
check "--threads must be >= 0" train "${small[@]}" --threads -1
check "--dropout must be in [0, 1)" train "${small[@]}" --dropout 1.5
check "--bucket-mb must be positive" bench "${small[@]}" --bucket-mb 0
check "--overlap must be on, off or auto" bench "${small[@]}" --overlap maybe
check "--deterministic must be on or off" bench "${small[@]}" --deterministic sometimes
check "--allreduce must be auto or always" bench "${small[@]}" --allreduce never
check "--profile-steps must be >= 0" bench "${small[@]}" --profile-steps -1
check "--lr must be > 0" train "${small[@]}" --steps 2 --lr 0
check "--keep must be at least 1" train "${small[@]}" --steps 2 --keep 0
check "--on-nonfinite must be stop or skip" train "${small[@]}" --steps 2 --on-nonfinite ignore
check "--timeout must be >= 0" train "${small[@]}" --steps 2 --timeout -1
check "is smaller than one batch" train "${small[@]}" --steps 2 --synthetic-samples 4
check "unknown mode 'backward'" bench "${small[@]}" --modes backward
check "unrecognised option '--no-such-flag'" train --no-such-flag
check "the argument ('abc') for option '--batch' is invalid" train --batch abc
out=$("$bin" train "${small[@]}" --steps 2 --resume "$tmp/none.h5" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "$tmp/none.h5 does not exist" <<<"$out" || fail "missing checkpoint: exit $rc: $out"
# On 2 ranks: printed once, every rank non-zero.
out=$(timeout 60 mpiexec --oversubscribe -n 2 "$bin" train "${model[@]}" --batch 0 2>&1); rc=$?
[ $rc -ne 0 ] || fail "2 ranks, bad flag: exit 0"
[ "$(grep -c -- "--batch must be at least 1" <<<"$out")" -eq 1 ] || fail "2 ranks, bad flag: not printed once: $out"
echo "failures: ok"
