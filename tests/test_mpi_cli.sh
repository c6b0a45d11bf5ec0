#!/usr/bin/env bash
# alexnet under mpiexec on the CPU: 2-rank train and bench work and report across ranks (and the
# JSON carries every rank); ranks started with different options all stop with a clear message
# naming the rank and the option, and no rank hangs; 2 ranks with overlap expose less all-reduce
# time than without is shown by the bench (not asserted: timing belongs in benchmarks).
. "$(dirname "$0")/common.sh"
mpi=(mpiexec --oversubscribe -n 2)
small=(--input-size 67 --classes 10 --width 0.25)

out=$(timeout 300 "${mpi[@]}" "$bin" train "${small[@]}" --batch 8 --steps 6 --log-every 3 --profile-every 2 \
      --bucket-mb 1 --checkpoint-dir "$tmp/ck" --json "$tmp/train.json" 2>&1) || fail "2-rank train exited $?: $out"
grep -q "train: 2 ranks x batch 8 (global 16)" <<<"$out" || fail "no data-parallel summary line: $out"
# --overlap auto: two CPU ranks on one node whose threads take all its cores leave none to the
# communication thread: off. One rank of one thread on a node of two or more cores: on.
grep -q "overlap off" <<<"$out" || fail "--overlap auto left overlap on with no core to spare: $out"
if [ "$(nproc)" -ge 2 ]; then
  out1=$(timeout 120 "$bin" train "${small[@]}" --batch 4 --steps 1 --threads 1 --allreduce always 2>&1) ||
    fail "1-rank train exited $?: $out1"
  grep -q "overlap on" <<<"$out1" || fail "--overlap auto left overlap off with a core to spare: $out1"
fi
grep -q "over 2 ranks: step min/median/max" <<<"$out" || fail "no cross-rank step times in the log: $out"
grep -q "Phases per step across 2 ranks" <<<"$out" || fail "no cross-rank phase table: $out"
grep -qE "^conv2 bwd +[0-9.]+ +[0-9.]+ +[0-9.]+ +[01]" <<<"$out" || fail "no per-layer cross-rank table: $out"
[ -f "$tmp/ck/ckpt-00000006.h5" ] || fail "no checkpoint written by rank 0"
grep -q '"ranks":2' "$tmp/train.json" || fail "train JSON lacks the rank count"
grep -q '"rank":1' "$tmp/train.json" || fail "train JSON lacks rank 1's numbers"

out=$(timeout 300 "${mpi[@]}" "$bin" bench "${small[@]}" --batch 8 --steps 3 --warmup 1 --json "$tmp/bench.json" 2>&1) ||
  fail "2-rank bench exited $?: $out"
grep -q "Training step across 3 steps" <<<"$out" || fail "no seed-style line: $out"
grep -q "Training step across 2 ranks" <<<"$out" || fail "no cross-rank table: $out"
grep -q "all-reduce wait" <<<"$out" || fail "no all-reduce row in the layer table: $out"
grep -q '"rank":1' "$tmp/bench.json" || fail "bench JSON lacks rank 1"

# Different options on the two ranks (MPMD): every rank stops, non-zero, with the difference named.
start=$(date +%s)
out=$(timeout 120 mpiexec --oversubscribe -n 1 "$bin" bench "${small[@]}" --batch 8 --steps 2 : \
      -n 1 "$bin" bench "${small[@]}" --batch 16 --steps 2 2>&1); rc=$?
[ $rc -ne 0 ] || fail "a configuration mismatch exited 0"
[ $rc -ne 124 ] || fail "a configuration mismatch hung (killed after 120 s)"
grep -q "rank 1 has --batch = 16 but rank 0 has 8" <<<"$out" || fail "mismatch not named: $out"
echo "mpi cli: ok ($(( $(date +%s) - start )) s for the mismatch)"
