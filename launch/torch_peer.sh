#!/usr/bin/env bash
# The newest PyTorch from PyPI as the CPU peer: a virtual environment made once and then reused,
# in which torch_alexnet.py (the same AlexNet, timed the same way) runs.
#   launch/torch_peer.sh --info                 torch's version, its oneDNN's version and the ISA
#                                               it dispatches to, ATen's CPU capability, bf16 support
#   launch/torch_peer.sh [torch_alexnet.py arguments]
#   launch/torch_peer.sh --update               install the newest torch again
# PEERS_DIR: where torch_alexnet.py is (default ../shared/peers beside the repository).
# ALEXNET_TORCH_VENV: the environment (default ~/.cache/alexnet-mpi/torch-venv); TORCH_SPEC: what
# pip installs (default "torch", the newest; e.g. "torch==2.15.0"). The environment is built by
# Debian's python3 (python3-venv); torch.compile needs a C++ compiler and python3-dev
# (launch/install_deps.sh peers installs them). PyPI's Linux torch is the CUDA build: about 4 GB
# with its NVIDIA libraries, unused here.
set -euo pipefail
. "$(dirname "$0")/env.sh"
peers=${PEERS_DIR:-$ALEXNET_ROOT/../shared/peers}
venv=${ALEXNET_TORCH_VENV:-$HOME/.cache/alexnet-mpi/torch-venv}
spec=${TORCH_SPEC:-torch}
py=$venv/bin/python

bash "$ALEXNET_ROOT/launch/install_deps.sh" peers
if [ "${1:-}" = --update ] || [ ! -x "$py" ] || ! "$py" -c "import torch" 2>/dev/null; then
  echo "torch_peer.sh: installing $spec into $venv (once)" >&2
  /usr/bin/python3 -m venv "$venv"
  "$py" -m pip install -q --upgrade pip >&2
  "$py" -m pip install -q --upgrade "$spec" numpy >&2
  [ "${1:-}" = --update ] && exit 0
fi

if [ "${1:-}" = --info ]; then
  # oneDNN names its version and ISA in its verbose log when it first runs a primitive: one
  # convolution, then what torch says of itself.
  ONEDNN_VERBOSE=1 "$py" - <<'EOF' 2>/dev/null | sed -nE 's/^onednn_verbose,v1,info,(oneDNN v[^ ]+).*/onednn: \1/p; s/^onednn_verbose,v1,info,cpu,isa:/onednn isa: /p; /^(torch|aten_cpu_capability|bf16|threads): /p'
import torch
with torch.no_grad():
    torch.nn.functional.conv2d(torch.randn(8, 64, 27, 27), torch.randn(64, 64, 3, 3))
print(f"torch: {torch.__version__}")
print(f"aten_cpu_capability: {torch.backends.cpu.get_cpu_capability()}")
print(f"bf16: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
print(f"threads: {torch.get_num_threads()}")
EOF
  exit 0
fi

[ -f "$peers/torch_alexnet.py" ] || { echo "torch_peer.sh: no torch_alexnet.py in $peers (set PEERS_DIR)" >&2; exit 2; }
exec "$py" "$peers/torch_alexnet.py" "$@"
