#!/usr/bin/env bash
# The test command: on a fresh Debian 12 machine (as root) installs what is missing, configures,
# builds with -j2 and runs every test with ctest; exits non-zero on any failure.
#   tests/run.sh            (BUILD_DIR=build by default; CMAKE_ARGS passes extra cmake options)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
bash launch/install_deps.sh test
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DALEXNET_BUILD_TESTS=ON ${CMAKE_ARGS:-}
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2 --timeout 600
