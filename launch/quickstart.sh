#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing (Debian 12, as root), builds, and runs
# alexnet on the built-in default (CPU, synthetic data). Today that is `alexnet info`: the
# architecture table and the devices found. Extra arguments go to `alexnet info`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
bash launch/install_deps.sh build
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DALEXNET_BUILD_TESTS=OFF ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j2 --target alexnet
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$build/trainer/alexnet" info "$@"
