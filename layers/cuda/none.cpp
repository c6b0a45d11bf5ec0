// The CUDA side of the layers in a build without CUDA: versions and the self-test say so, and
// what needs a GPU tensor (which no Buffer of this build can make) throws.
#include "core/error.h"
#include "layers/backend_info.h"
#include "layers/conv.h"
#include "layers/convert.h"
#include "layers/dropout.h"
#include "layers/fc.h"
#include "layers/lrn.h"
#include "layers/pool.h"
#include "layers/relu.h"
#include "layers/softmax_loss.h"

namespace alexnet {

std::string cudnn_version() { return ""; }
std::string cublas_version() { return ""; }
std::string cuda_selftest(int) { return "this build has no CUDA backend"; }
std::vector<LibraryVersion> gpu_library_versions() { return {}; }

namespace detail {

#define ALEXNET_NO_CUDA_BACKEND(kind, name)                                                       \
  std::unique_ptr<kind##Backend> make_##name##_cuda(const kind##Config& c) {                      \
    throw Error(std::string(#name " on ") + c.device.str() + ": this build has no CUDA backend"); \
  }
ALEXNET_NO_CUDA_BACKEND(Conv, conv)
ALEXNET_NO_CUDA_BACKEND(Lrn, lrn)
ALEXNET_NO_CUDA_BACKEND(Pool, pool)
ALEXNET_NO_CUDA_BACKEND(Relu, relu)
ALEXNET_NO_CUDA_BACKEND(Dropout, dropout)
ALEXNET_NO_CUDA_BACKEND(Fc, fc)
ALEXNET_NO_CUDA_BACKEND(SoftmaxLoss, softmax_loss)
#undef ALEXNET_NO_CUDA_BACKEND

void convert_dtype_cuda(const Tensor& dst, const Tensor&) {
  throw Error("convert on " + dst.device.str() + ": this build has no CUDA backend");
}
void convert_layout_cuda(const Tensor& dst, const Tensor&) {
  throw Error("convert_layout on " + dst.device.str() + ": this build has no CUDA backend");
}
}  // namespace detail

}  // namespace alexnet
