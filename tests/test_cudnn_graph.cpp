// cuDNN's graph API as the CUDA convolution builds it, checked where no GPU is needed: every
// convolution of the AlexNet towers, in both layouts and both data types, in all three directions,
// must give tensor, convolution, operation and operation-graph descriptors that cuDNN accepts
// (it validates shapes, strides and attribute types when they are finalized), and a wrong shape
// must be refused with cuDNN's reason. Engines, plans and execution need a GPU (test_conv.cpp).
#ifdef ALEXNET_HAVE_CUDA

#include <gtest/gtest.h>

#include "core/error.h"
#include "cuda/cudnn_graph.h"
#include "layers/conv.h"

namespace alexnet::test {
namespace {

using gpu::Dims4;

Dims4 strides(const Dims4& d, bool channels_last) {
  if (channels_last) return {d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]};
  return {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
}

struct TowerConv {
  const char* name;
  int64_t c, o, k, stride, pad, size;
};

TEST(CudnnGraph, EveryAlexNetConvolutionGraphIsAccepted) {
  const int64_t n = 8;
  for (const TowerConv& t : {TowerConv{"conv1", 3, 48, 11, 4, 0, 227}, TowerConv{"conv2", 48, 128, 5, 1, 2, 27},
                             TowerConv{"conv3", 256, 192, 3, 1, 1, 13}, TowerConv{"conv4", 192, 192, 3, 1, 1, 13},
                             TowerConv{"conv5", 192, 128, 3, 1, 1, 13}}) {
    const int64_t out =
        Conv::output_size(t.size, static_cast<int>(t.k), static_cast<int>(t.stride), static_cast<int>(t.pad));
    const Dims4 x{n, t.c, t.size, t.size}, w{t.o, t.c, t.k, t.k}, y{n, t.o, out, out};
    for (cudnnDataType_t type : {CUDNN_DATA_FLOAT, CUDNN_DATA_BFLOAT16})
      for (bool cl : {false, true})
        for (gpu::ConvOp op : {gpu::ConvOp::forward, gpu::ConvOp::backward_data, gpu::ConvOp::backward_filter}) {
          SCOPED_TRACE(std::string(t.name) + (cl ? " nhwc " : " nchw ") +
                       (type == CUDNN_DATA_FLOAT ? "float " : "bf16 ") + gpu::conv_op_name(op));
          try {
            auto xd = gpu::make_tensor(1, x, strides(x, cl), type);
            auto wd = gpu::make_tensor(2, w, strides(w, cl), type);  // KRSC with channels-last activations
            auto yd = gpu::make_tensor(3, y, strides(y, cl), type);
            auto conv = gpu::make_convolution(t.stride, t.pad);
            auto operation = gpu::make_conv_operation(op, conv, xd, wd, yd);
            auto graph = gpu::make_operation_graph(nullptr, operation, t.name);
            EXPECT_TRUE(static_cast<bool>(graph));
          } catch (const Error& e) {
            ADD_FAILURE() << e.what();
          }
        }
  }
}

TEST(CudnnGraph, AWrongOutputShapeIsRefusedWithCudnnsReason) {
  const Dims4 x{2, 16, 13, 13}, w{32, 16, 3, 3}, wrong{2, 32, 12, 13};  // 13x13 with pad 1 stays 13x13
  try {
    auto xd = gpu::make_tensor(1, x, strides(x, false), CUDNN_DATA_FLOAT);
    auto wd = gpu::make_tensor(2, w, strides(w, false), CUDNN_DATA_FLOAT);
    auto yd = gpu::make_tensor(3, wrong, strides(wrong, false), CUDNN_DATA_FLOAT);
    auto conv = gpu::make_convolution(1, 1);
    auto operation = gpu::make_conv_operation(gpu::ConvOp::forward, conv, xd, wd, yd);
    auto graph = gpu::make_operation_graph(nullptr, operation, "conv3");
    FAIL() << "cuDNN accepted a 12x13 output for a 13x13 input with pad 1";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuDNN"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace alexnet::test

#endif  // ALEXNET_HAVE_CUDA
