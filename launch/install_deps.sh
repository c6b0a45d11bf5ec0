#!/usr/bin/env bash
# Installs what alexnet-mpi needs on Debian 12, as root, with apt-get: only the packages that are
# missing, non-interactively, waiting for the dpkg lock when another apt is running.
#   launch/install_deps.sh [build|test|peers]   (test adds what the tests need; peers what the
#   PyTorch peers of launch/compare_cpu.sh need: Debian's torch with OpenBLAS and tcmalloc, and a
#   venv with a C++ compiler and Python headers for the newest torch and torch.compile)
set -euo pipefail
what=${1:-build}
case "$what" in build|test|peers) ;; *) echo "install_deps.sh: unknown set '$what' (build, test or peers)" >&2; exit 2 ;; esac
pkgs=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-dev libboost-log-dev
      libboost-program-options-dev libdnnl-dev ocl-icd-opencl-dev libturbojpeg0-dev libpng-dev)
[ "$what" = peers ] && pkgs=(build-essential python3-torch libopenblas0-pthread libtcmalloc-minimal4 python3-venv
                             python3-dev python3-pip)
[ "$what" = test ] && pkgs+=(libgtest-dev python3-h5py python3-pil procps python3-matplotlib slurmctld slurmd slurm-client munge iproute2
                           clang-format clang libclang-rt-14-dev libomp-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install_deps.sh: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi
echo "install_deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
lock_wait=(-o DPkg::Lock::Timeout=600)
for try in 1 2 3 4 5 6; do  # the lists lock is not covered by DPkg::Lock::Timeout on every apt
  apt-get "${lock_wait[@]}" update -q && break
  [ $try -eq 6 ] && { echo "install_deps.sh: apt-get update failed" >&2; exit 1; }
  sleep 10
done
apt-get "${lock_wait[@]}" install -y -q --no-install-recommends "${missing[@]}"
