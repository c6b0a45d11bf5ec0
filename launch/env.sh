# The environment every script of the project shares (source it; it sets nothing else):
#   ALEXNET_ROOT  the repository (this file's parent folder)
#   BUILD_DIR     the build folder (default: build in the repository; a relative path is taken
#                 from the repository)
#   ALEXNET_BIN   the executable (default: $BUILD_DIR/trainer/alexnet)
# and what OpenMPI needs to run as root (containers, CI; harmless otherwise) and to start one
# process without mpirun (a singleton with no daemon).
ALEXNET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ALEXNET_ROOT/$BUILD_DIR ;; esac
ALEXNET_BIN=${ALEXNET_BIN:-$BUILD_DIR/trainer/alexnet}
export ALEXNET_ROOT BUILD_DIR ALEXNET_BIN
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_ess_singleton_isolated=1
