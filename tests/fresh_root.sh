#!/usr/bin/env bash
# Proves the install steps on a fresh Debian 12 root: clones this repository's committed tree
# into a clean bookworm root filesystem (fresh-debian-check.sh: mmdebstrap, cached per day, CUDA
# bound in read-only, --pure: none of this machine's patched files) and runs there
#   build (default)  install_deps.sh test, configure, build the alexnet target, alexnet info
#   quickstart       the README's main-job command: launch/quickstart.sh
#   tests            the README's test command: tests/run.sh
#   -- COMMAND...    any command (run in the clone, as root)
# Skipped (exit 0, said so) where the checker is not installed: it belongs to the development
# machines, not to the project. FRESH_DEBIAN_CHECK=PATH names it; otherwise it is looked for in
# ../shared/tools beside the repository and in /work/shared/tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

what=${1:-build}
case $what in
  build) cmd='bash launch/install_deps.sh test && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target alexnet && build/trainer/alexnet info' ;;
  quickstart) cmd='bash launch/quickstart.sh' ;;
  tests) cmd='bash tests/run.sh' ;;
  --) shift; cmd="$*" ;;
  *) echo "usage: tests/fresh_root.sh [build|quickstart|tests|-- COMMAND...]" >&2; exit 2 ;;
esac

checker=${FRESH_DEBIAN_CHECK:-}
if [ -z "$checker" ]; then
  for c in "$root/../shared/tools/fresh-debian-check.sh" /work/shared/tools/fresh-debian-check.sh; do
    if [ -f "$c" ]; then checker=$c; break; fi
  done
fi
if [ -z "$checker" ] || [ ! -f "$checker" ]; then
  echo "fresh_root.sh: no fresh-debian-check.sh on this machine (set FRESH_DEBIAN_CHECK): skipped"
  exit 0
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "fresh_root.sh: note: uncommitted changes are not part of the check (only commits are cloned)"
fi
echo "fresh_root.sh: $what on a fresh Debian 12 root ($checker --pure)"
t0=$(date +%s)
rc=0
bash "$checker" --pure --repo "$root" -- "$cmd" || rc=$?
echo "fresh_root.sh: $what: exit $rc after $(( $(date +%s) - t0 )) s"
exit "$rc"
