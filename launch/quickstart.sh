#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing (Debian 12, as root), builds, then on
# the built-in default (the real AlexNet, synthetic data, the CPU) runs a short training with a
# checkpoint, and the benchmark (the seed's three timings and the per-layer table).
# Outputs (log, checkpoint, JSON) go to $ALEXNET_OUT (default runs/quickstart). About 3 minutes on
# 2 cores once built. Extra arguments go to both commands (e.g. --batch 64 --threads 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
out=${ALEXNET_OUT:-runs/quickstart}
bash launch/install_deps.sh build
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j2 --target alexnet
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_ess_singleton_isolated=1
mkdir -p "$out"
alexnet="$build/trainer/alexnet"

"$alexnet" info | tee "$out/info.txt"
echo
echo "== a short training of AlexNet on synthetic data (batch 32; loss starts at ln(1000) = 6.91) =="
"$alexnet" train --batch 32 --steps 30 --log-every 5 --checkpoint-dir "$out/checkpoints" \
  --json "$out/train.json" "$@" 2>&1 | tee "$out/train.log"
echo
echo "== the benchmark (batch 32: 5 burn-in + 20 timed steps per mode) =="
"$alexnet" bench --batch 32 --warmup 5 --steps 20 --json "$out/bench.json" "$@" 2>&1 | tee "$out/bench.log"
echo
echo "quickstart: outputs in $out (info.txt, train.log, train.json, checkpoints/, bench.log, bench.json)"
