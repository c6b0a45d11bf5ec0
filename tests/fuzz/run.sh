#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30) from its seed corpus, ASan + UBSan on.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (targets: image shards checkpoint cli)
#   FUZZ_TIMEOUT: seconds one input may take before it counts as a hang (default 20; longer runs on
#   a busy machine: libFuzzer measures wall time, so a process held up by others can time out)
# Builds build-asan first (tests/sanitize.sh build address) when a target is missing. New inputs
# go to $FUZZ_WORK (default build-asan/fuzz-work/<target>), never into the committed seeds; a finding
# leaves its input there (crash-*, leak-*, timeout-*, oom-*) and fails the run. Prints, per target,
# the executions and the coverage reached.
set -euo pipefail
. "$(dirname "$0")/../../launch/env.sh"
cd "$ALEXNET_ROOT"
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image shards checkpoint cli)
build=${SANITIZE_BUILD_DIR:-build-asan}
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { bash tests/sanitize.sh build address; break; }
done
work=${FUZZ_WORK:-$build/fuzz-work}
sup=$ALEXNET_ROOT/tests/sanitizers
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0"
export LSAN_OPTIONS="suppressions=$sup/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$sup/ubsan.supp"
export OMPI_MCA_plm=isolated OMPI_MCA_btl=self  # the command-line target's MPI: a singleton, no daemons
rc=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/findings"
  log=$work/$t/fuzz.log
  # -rss_limit_mb / -malloc_limit_mb: an input that makes us allocate past the stated limits is a finding.
  if "$build/tests/fuzz/fuzz_$t" "$work/$t/corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
       -rss_limit_mb=2560 -malloc_limit_mb=1024 -timeout="${FUZZ_TIMEOUT:-20}" -print_final_stats=1 \
       -artifact_prefix="$work/$t/findings/" >"$log" 2>&1; then
    status=ok
  else
    status="FINDING (see $log and $work/$t/findings)"
    rc=1
  fi
  runs=$(grep -oE "Done [0-9]+ runs" "$log" | grep -oE "[0-9]+" | tail -1 || true)
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1 || true)
  summary+=("fuzz_$t: ${runs:-?} runs in ${seconds} s, ${cov:-no coverage line}, corpus $(ls "$work/$t/corpus" | wc -l) inputs: $status")
  [ "$status" = ok ] || tail -40 "$log"
done
printf '%s\n' "${summary[@]}"
exit $rc
