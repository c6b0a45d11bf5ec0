// The GPU self-test in a build without CUDA (see cuda_selftest.h).
#include "cuda_selftest.h"

namespace alexnet {

std::string cuda_selftest(int) { return "this build has no CUDA backend"; }

}  // namespace alexnet
