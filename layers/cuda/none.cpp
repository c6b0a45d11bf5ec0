// The CUDA side of the layers in a build without CUDA: versions and the self-test say so, and
// what needs a GPU tensor (which no Buffer of this build can make) throws.
#include "core/error.h"
#include "layers/backend_info.h"
#include "layers/convert.h"

namespace alexnet {

std::string cudnn_version() { return ""; }
std::string cublas_version() { return ""; }
std::string cuda_selftest(int) { return "this build has no CUDA backend"; }

namespace detail {
void convert_dtype_cuda(const Tensor& dst, const Tensor&) {
  throw Error("convert on " + dst.device.str() + ": this build has no CUDA backend");
}
void convert_layout_cuda(const Tensor& dst, const Tensor&) {
  throw Error("convert_layout on " + dst.device.str() + ": this build has no CUDA backend");
}
}  // namespace detail

}  // namespace alexnet
