# What the shell tests share (source it, with the alexnet executable as $1): set -u, the project's
# environment (launch/env.sh), `bin` (the executable, absolute), `py` (Debian's Python, which has
# h5py and Pillow), `fail MESSAGE` (prints FAIL and exits 1) and `tmp`, a scratch folder removed on
# exit (a test that needs more at exit sets its own trap and removes $tmp there).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../launch/env.sh"
bin=$(readlink -f "${1:?usage: $(basename "$0") path/to/alexnet}")
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
