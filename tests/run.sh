#!/usr/bin/env bash
# The test command: on a fresh Debian 12 machine (as root) installs what is missing, configures,
# builds with -j2 and runs every test with ctest; exits non-zero on any failure.
#   tests/run.sh            (BUILD_DIR=build by default; CMAKE_ARGS passes extra cmake options)
set -euo pipefail
. "$(dirname "$0")/../launch/env.sh"
cd "$ALEXNET_ROOT"
t0=$SECONDS
bash launch/install_deps.sh test
t_install=$((SECONDS - t0))
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DALEXNET_BUILD_TESTS=ON ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j2
t_build=$((SECONDS - t0 - t_install))
rc=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j2 --timeout 600) || rc=$?
echo "tests/run.sh: install ${t_install} s, build ${t_build} s, tests $((SECONDS - t0 - t_install - t_build)) s, exit $rc"
exit "$rc"
