// Shapes, tensors, buffers, devices and error formatting: the small pieces everything stands on.
#include <gtest/gtest.h>

#include "core/buffer.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "layers/backend_info.h"
#include "layers/convert.h"

#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>
#include "core/tensor.h"

namespace alexnet {
namespace {

TEST(ShapeTest, NumelEqualityAndText) {
  Shape s{2, 3, 4, 5};
  EXPECT_EQ(s.rank(), 4);
  EXPECT_EQ(s.numel(), 120);
  EXPECT_EQ(s.str(), "(2, 3, 4, 5)");
  EXPECT_EQ(s, (Shape{2, 3, 4, 5}));
  EXPECT_FALSE(s == (Shape{2, 3, 20}));
  EXPECT_EQ(Shape{}.numel(), 0);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), Error);
  EXPECT_THROW((Shape{2, -1}), Error);
}

TEST(TensorTest, LayoutOffsets) {
  Shape s{2, 3, 4, 5};
  EXPECT_EQ(offset4(s, Layout::nchw, 1, 2, 3, 4), ((1 * 3 + 2) * 4 + 3) * 5 + 4);
  EXPECT_EQ(offset4(s, Layout::nhwc, 1, 2, 3, 4), ((1 * 4 + 3) * 5 + 4) * 3 + 2);
  EXPECT_EQ(parse_layout("nhwc"), Layout::nhwc);
  EXPECT_EQ(parse_layout("nchw"), Layout::nchw);
  EXPECT_EQ(parse_layout("nchw16c"), Layout::nchw16c);
  // Blocked: (n, c/16, h, w, c%16).
  Shape b{2, 32, 4, 5};
  EXPECT_EQ(offset4(b, Layout::nchw16c, 1, 17, 3, 4), (((1 * 2 + 1) * 4 + 3) * 5 + 4) * 16 + 1);
  EXPECT_TRUE(layout_fits(b, Layout::nchw16c));
  EXPECT_FALSE(layout_fits(s, Layout::nchw16c));           // 3 channels
  EXPECT_TRUE(layout_fits(Shape{3, 7}, Layout::nchw16c));  // 2-D: layout does not apply
  EXPECT_THROW(OwnedTensor(s, Device::cpu(), Layout::nchw16c), Error);
  EXPECT_THROW(parse_layout("chwn"), Error);
}

TEST(BufferTest, ZeroedAlignedMovableAndViewsChecked) {
  Buffer b(1000, Device::cpu());
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(static_cast<unsigned char*>(b.data())[i], 0);
  Tensor t = b.tensor(Shape{10, 25}, Layout::nchw, DType::f32);
  EXPECT_EQ(t.bytes(), 1000u);
  EXPECT_THROW(b.tensor(Shape{10, 25}, Layout::nchw, DType::f32, 4), Error);  // one float past the end
  void* p = b.data();
  Buffer moved(std::move(b));
  EXPECT_EQ(moved.data(), p);
  EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(BufferTest, CopyBetweenTensorsChecksSizes) {
  OwnedTensor a(Shape{4}, Device::cpu()), b(Shape{4}, Device::cpu()), c(Shape{5}, Device::cpu());
  for (int i = 0; i < 4; ++i) a->f32()[i] = static_cast<float>(i) + 0.5f;
  copy(*b, *a);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b->f32()[i], static_cast<float>(i) + 0.5f);
  EXPECT_THROW(copy(*c, *a), Error);
  EXPECT_THROW(a->i32(), Error);  // wrong dtype
}

TEST(BufferTest, DeviceMemoryNeedsCudaOrAGpu) {
  if (cuda_built() && !list_gpus().empty()) GTEST_SKIP() << "a GPU is present: allocation would succeed";
  EXPECT_THROW(Buffer(16, Device::cuda(0)), Error);
}

TEST(TensorTest, CheckTensorNamesWhatIsWrong) {
  OwnedTensor t(Shape{2, 3, 4, 5}, Device::cpu(), Layout::nhwc);
  EXPECT_NO_THROW(check_tensor(*t, Shape{2, 3, 4, 5}, Layout::nhwc, DType::f32, Device::cpu(), "L", "x"));
  try {
    check_tensor(*t, Shape{2, 3, 4, 5}, Layout::nchw, DType::f32, Device::cpu(), "conv9.forward", "x");
    FAIL() << "layout mismatch not caught";
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "conv9.forward: x is f32 (2, 3, 4, 5) nhwc on cpu but the layer was built for f32 (2, 3, 4, 5) nchw on cpu");
  }
  EXPECT_THROW(check_tensor(Tensor{}, Shape{1}, Layout::nchw, DType::f32, Device::cpu(), "L", "x"), Error);
  EXPECT_THROW(check_tensor(t->reshaped(Shape{120}), Shape{120}, Layout::nchw, DType::i32, Device::cpu(), "L", "x"),
               Error);
  EXPECT_THROW(t->reshaped(Shape{7}), Error);
}

TEST(DeviceTest, ParseAndName) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3"), Device::cuda(3));
  EXPECT_EQ(parse_device("gpu:1"), Device::cuda(1));
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_THROW(parse_device("cuda:x"), Error);
}

TEST(DeviceTest, ListGpusNeverThrowsAndExplainsAnEmptyList) {
  std::string why;
  auto gpus = list_gpus(&why);
  if (gpus.empty()) {
    EXPECT_FALSE(why.empty());
  }
  EXPECT_FALSE(dnnl_version().empty());
  EXPECT_NE(dnnl_cpu_isa(), "");
}

TEST(LogTest, TheRankOfTheLastInitialisationIsTheOneLogged) {
  // main() logs as rank 0 until MPI is up, then re-initialises with the real rank.
  std::ostringstream captured;
  std::streambuf* old = std::clog.rdbuf(captured.rdbuf());
  init_logging(0);
  init_logging(3);
  LOG_WARN << "from rank three";
  LOG_INFO << "info is rank 0's only";
  std::clog.rdbuf(old);
  init_logging(0);
  EXPECT_NE(captured.str().find("[rank 3][warning] from rank three"), std::string::npos) << captured.str();
  EXPECT_EQ(captured.str().find("info is rank 0's only"), std::string::npos) << captured.str();
}

TEST(ErrorTest, ThrowErrorFormatsLibraryExpressionAndPlace) {
  try {
    throw_error("MPI", "invalid communicator", "MPI_Barrier(comm)", "x.cpp", 42);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "MPI error: invalid communicator at x.cpp:42: MPI_Barrier(comm)");
  }
}

}  // namespace
}  // namespace alexnet

namespace alexnet::test {
namespace {

// bfloat16 on the host: the upper 16 bits of a float, rounded to nearest even.
TEST(Bf16Test, RoundsToNearestEvenAndConvertsBack) {
  EXPECT_EQ(bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(bf16_value(0x3f80), 1.0f);
  EXPECT_EQ(bf16_bits(-2.5f), 0xc020);
  // 1 + 2^-8 is halfway between 1 and the next bf16 (1 + 2^-7): ties go to the even one, 1.
  EXPECT_EQ(bf16_bits(1.0f + 0x1.0p-8f), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  EXPECT_EQ(bf16_value(bf16_bits(1.0f + 3 * 0x1.0p-8f)), 1.0f + 0x1.0p-6f);
  EXPECT_EQ(bf16_value(bf16_bits(1.0f + 0x1.8p-8f)), 1.0f + 0x1.0p-7f);  // above half: up
  EXPECT_TRUE(std::isnan(bf16_value(bf16_bits(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_value(bf16_bits(std::numeric_limits<float>::infinity()))));
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(activation_dtype(Precision::bf16), DType::bf16);
  EXPECT_EQ(activation_dtype(Precision::tf32), DType::f32);
}

TEST(Bf16Test, HostConversionBetweenTensors) {
  OwnedTensor f(Shape{5}, Device::cpu()), b(Shape{5}, Device::cpu(), Layout::nchw, DType::bf16),
      back(Shape{5}, Device::cpu());
  const float v[5] = {0.f, 1.f, -3.140625f, 1e-3f, 65504.f};
  std::copy(v, v + 5, f->f32());
  convert_async(*b, *f);
  convert_async(*back, *b);
  const std::vector<float> seen = host_floats(*b);
  for (int i = 0; i < 5; ++i) {
    const float want = bf16_value(bf16_bits(v[i]));
    EXPECT_EQ(back->f32()[i], want) << i;
    EXPECT_EQ(seen[static_cast<size_t>(i)], want) << i;
    EXPECT_NEAR(want, v[i], std::fabs(v[i]) * 0x1.0p-8f) << i;
  }
  OwnedTensor i32(Shape{5}, Device::cpu(), Layout::nchw, DType::i32);
  EXPECT_THROW(convert_async(*i32, *f), Error);
}

}  // namespace
TEST(LibraryVersions, OlderAtRunTimeIsAWarning) {
  const LibraryVersion runtime{"CUDA runtime", 13000, 13000, true}, old_driver{"CUDA driver", 13000, 12080, true},
      cudnn{"cuDNN", 91900, 91002, false}, newer{"cuBLAS", 130100, 130200, false}, absent{"NCCL", 22809, 0, false};
  EXPECT_EQ(runtime.str(13000), "13.0");
  EXPECT_EQ(old_driver.str(12080), "12.8");
  EXPECT_EQ(cudnn.str(91002), "9.10.2");
  EXPECT_EQ(absent.str(0), "none");
  const auto w = version_warnings({runtime, old_driver, cudnn, newer, absent});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], "the driver supports CUDA 12.8 but this build needs the CUDA 13.0 runtime: update the driver");
  EXPECT_EQ(w[1], "cuDNN 9.10.2 is older than the 9.19.0 this build was compiled against");
}

}  // namespace alexnet::test

TEST(Text, NumbersPrintAsWrittenAndReadBack) {
  EXPECT_EQ(alexnet::format_number(0.9), "0.9");
  EXPECT_EQ(alexnet::format_number(0.0005), "0.0005");
  EXPECT_EQ(alexnet::format_number(60), "60");
  EXPECT_EQ(alexnet::format_number(1e-7), "1e-07");
  const double v = 0.1 + 0.2;  // not 0.3: every digit needed comes back
  EXPECT_EQ(std::stod(alexnet::format_number(v)), v);
}

TEST(Text, IniLinesAndTheirErrors) {
  const auto e = alexnet::parse_ini("# a comment\n\n; another\nlr = 0.05\n  --momentum=0.8  \ndata =\n", "run.ini");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].key, "lr");
  EXPECT_EQ(e[0].value, "0.05");
  EXPECT_EQ(e[0].line, 4);
  EXPECT_EQ(e[1].key, "momentum");
  EXPECT_EQ(e[1].value, "0.8");
  EXPECT_EQ(e[2].key, "data");
  EXPECT_EQ(e[2].value, "");
  auto error_of = [](const std::string& text) {
    try {
      alexnet::parse_ini(text, "run.ini");
    } catch (const alexnet::Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("lr = 1\nsteps 10\n"), "run.ini line 2: 'steps 10' is not a name = value line");
  EXPECT_EQ(error_of("= 3\n"), "run.ini line 1: '= 3' has no name before '='");
  EXPECT_EQ(error_of("lr = 1\nlr = 2\n"), "run.ini line 2: lr is given twice");
  EXPECT_NE(error_of("[train]\n").find("run.ini line 1: sections are not used"), std::string::npos);
}
