#!/usr/bin/env bash
# The GPU window rehearsed on this machine, which has no GPU: bundles the built programs with
# ../shared/gpu/bundle.sh as for a device run, and runs tests/gpu_check.sh through the bundle's
# run.sh, so a missing library, a broken wrapper or a script error shows up here rather than in
# the scarce window. GPU stages skip; the rehearsal passes when everything runnable ran (info,
# the GPU test filter, NCCL's one-rank test's CPU half) and the archive and summary came back.
# Skipped (exit 0, said so) where the bundler is not installed (it belongs to the development
# machines): GPU_BUNDLER=PATH names it, else ../shared/gpu beside the repository, /work/shared/gpu.
set -euo pipefail
. "$(dirname "$0")/../launch/env.sh"
cd "$ALEXNET_ROOT"
bundler=${GPU_BUNDLER:-}
if [ -z "$bundler" ]; then
  for c in "$ALEXNET_ROOT/../shared/gpu/bundle.sh" /work/shared/gpu/bundle.sh; do
    [ -f "$c" ] && { bundler=$c; break; }
  done
fi
if [ -z "$bundler" ]; then echo "gpu_rehearsal.sh: no bundle.sh on this machine (GPU_BUNDLER): skipped"; exit 0; fi
progs=("$ALEXNET_BIN" "$BUILD_DIR/tests/alexnet-tests" "$BUILD_DIR/tests/alexnet-mpi-tests")
for p in "${progs[@]}"; do [ -x "$p" ] || { echo "gpu_rehearsal.sh: build first: no $p" >&2; exit 1; }; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bash "$bundler" "$tmp/gpu" "${progs[@]}"
peer=$(dirname "$bundler")/../peers/torch_alexnet.py
[ -f "$peer" ] && cp "$peer" "$tmp/gpu/"
rc=0
OUT=$tmp/out TORCH_PEER=$tmp/gpu/torch_alexnet.py bash "$tmp/gpu/run.sh" 'bash tests/gpu_check.sh' >"$tmp/log" 2>&1 || rc=$?
tail -n 25 "$tmp/log"
[ $rc -eq 0 ] || { echo "gpu_rehearsal.sh: gpu_check failed through the bundle (exit $rc)"; exit 1; }
[ -s "$tmp/out/gpu_check.tgz" ] && grep -q "RESULT: OK" "$tmp/out/summary.txt" ||
  { echo "gpu_rehearsal.sh: no archive or no OK summary under \$OUT"; exit 1; }
listing=$(tar -tzf "$tmp/out/gpu_check.tgz")
grep -q 'info.log$' <<<"$listing" || { echo "gpu_rehearsal.sh: the archive lacks info.log"; exit 1; }
echo "gpu_rehearsal.sh: ok (bundle $(du -h "$tmp/gpu/bundle.tar.gz" | cut -f1), archive $(du -h "$tmp/out/gpu_check.tgz" | cut -f1))"
