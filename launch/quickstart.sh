#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing (Debian 12, as root), builds, then on
# the built-in default (the real AlexNet, synthetic data, the CPU) runs a short training with a
# checkpoint, and the benchmark (the seed's three timings and the per-layer table).
# Outputs (log, checkpoint, JSON) go to $ALEXNET_OUT (default runs/quickstart). About 3 minutes on
# 2 cores once built. Extra arguments go to both commands (e.g. --batch 64 --threads 2).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ALEXNET_ROOT"
out=${ALEXNET_OUT:-runs/quickstart}
t0=$SECONDS
bash launch/install_deps.sh build
t_install=$((SECONDS - t0))
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j2 --target alexnet
t_build=$((SECONDS - t0 - t_install))
mkdir -p "$out"
alexnet=$ALEXNET_BIN

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
echo "quickstart: install ${t_install} s, build ${t_build} s, train and bench $((SECONDS - t0 - t_install - t_build)) s"
