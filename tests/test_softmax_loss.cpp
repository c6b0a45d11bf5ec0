// Softmax cross-entropy on every backend: loss, top-1/top-5 and the gradient against the double
// reference, extreme logits, fewer than 5 classes, a finite-difference check and bad labels.
#include <cmath>

#include "layers/softmax_loss.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

class SoftmaxLossTest : public BackendTest {};

std::vector<int32_t> random_labels(std::mt19937& rng, int64_t n, int64_t k) {
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(k - 1));
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& l : v) l = d(rng);
  return v;
}

TEST_P(SoftmaxLossTest, MatchesReference) {
  const Backend be = GetParam();
  std::mt19937 rng(61);
  for (auto [n, k, scale] :
       {std::tuple{1L, 10L, 1.0}, std::tuple{7L, 3L, 2.0}, std::tuple{32L, 1000L, 5.0}, std::tuple{5L, 13L, 60.0}}) {
    SCOPED_TRACE("N=" + std::to_string(n) + " K=" + std::to_string(k) + " logit scale " + std::to_string(scale));
    SoftmaxLoss loss("loss", n, k, be.device, be.precision);
    TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32), dz(loss.logits_shape(), be);
    z.fill_uniform(rng, -scale, scale);
    const auto lab = random_labels(rng, n, k);
    labels.host().assign(lab.begin(), lab.end());
    labels.upload();
    dz.fill_nan();
    loss.forward(z.t(), labels.t());
    loss.backward(labels.t(), dz.t());
    // the reference sees the float-rounded logits the layer saw
    const auto r = ref::softmax_loss(z.download(), lab, n, k);
    const LossStats st = loss.stats();
    EXPECT_NEAR(st.loss, r.loss, 1e-5 + 1e-5 * r.loss);
    EXPECT_EQ(st.top1, r.top1);
    EXPECT_EQ(st.top5, r.top5);
    EXPECT_EQ(st.count, n);
    EXPECT_TRUE(close_for(be, dz.download(), r.dlogits, 1e-7, 1e-4));
  }
}

TEST_P(SoftmaxLossTest, TopKCountsAndGradientScale) {
  const Backend be = GetParam();
  // Sample 0: label is the best; sample 1: label is 3rd; sample 2: label is 6th of 8.
  SoftmaxLoss loss("loss", 3, 8, be.device, be.precision);
  TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32), dz(loss.logits_shape(), be),
      dz2(loss.logits_shape(), be);
  z.host() = {9, 1, 2, 3, 4, 5, 6, 7, 1, 9, 8, 7, 2, 3, 4, 5, 8, 7, 6, 5, 4, 3, 2, 1};
  z.upload();
  labels.host() = {0, 2, 5};
  labels.upload();
  loss.forward(z.t(), labels.t());
  EXPECT_EQ(loss.stats().top1, 1);
  EXPECT_EQ(loss.stats().top5, 2);
  loss.backward(labels.t(), dz.t(), 1.f);
  loss.backward(labels.t(), dz2.t(), 4.f);
  auto a = dz.download(), b = dz2.download();
  for (auto& v : a) v *= 4;
  EXPECT_TRUE(close_for(be, b, a, 1e-7, 1e-6));
}

TEST_P(SoftmaxLossTest, FewerThanFiveClassesAlwaysTop5) {
  const Backend be = GetParam();
  std::mt19937 rng(62);
  SoftmaxLoss loss("loss", 6, 2, be.device, be.precision);
  TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32);
  z.fill_uniform(rng, -1, 1);
  const auto lab = random_labels(rng, 6, 2);
  labels.host().assign(lab.begin(), lab.end());
  labels.upload();
  loss.forward(z.t(), labels.t());
  EXPECT_EQ(loss.stats().top5, 6);
}

TEST_P(SoftmaxLossTest, StableForHugeLogits) {
  const Backend be = GetParam();
  SoftmaxLoss loss("loss", 1, 3, be.device, be.precision);
  TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32);
  z.host() = {1000, -1000, 0};
  z.upload();
  labels.host() = {1};
  labels.upload();
  loss.forward(z.t(), labels.t());
  EXPECT_TRUE(std::isfinite(loss.stats().loss));
  EXPECT_NEAR(loss.stats().loss, 2000.0, 1e-3);
}

TEST_P(SoftmaxLossTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 activations";
  std::mt19937 rng(63);
  SoftmaxLoss loss("loss", 4, 6, be.device, be.precision);
  TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32), dz(loss.logits_shape(), be);
  z.fill_uniform(rng, -2, 2);
  const auto lab = random_labels(rng, 4, 6);
  labels.host().assign(lab.begin(), lab.end());
  labels.upload();
  loss.forward(z.t(), labels.t());
  loss.backward(labels.t(), dz.t());
  auto f = [&] {
    loss.forward(z.t(), labels.t());
    return loss.stats().loss;
  };
  EXPECT_TRUE(all_close(dz.download(),
                        numeric_grad(
                            z.host(), [&] { z.upload(); }, f, 1e-2),
                        1e-4, 1e-2));
}

TEST_P(SoftmaxLossTest, LabelOutOfRangeNamesTheSample) {
  const Backend be = GetParam();
  SoftmaxLoss loss("loss", 3, 4, be.device, be.precision);
  TestTensor z(loss.logits_shape(), be), labels(loss.labels_shape(), be, DType::i32);
  labels.host() = {0, 3, 4};
  labels.upload();
  try {
    loss.forward(z.t(), labels.t());
    loss.stats();  // where a GPU reports it
    FAIL() << "no error for label 4 of 4 classes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 4 of sample 2"), std::string::npos) << e.what();
  }
  labels.host() = {0, -1, 1};
  labels.upload();
  EXPECT_THROW(
      {
        loss.forward(z.t(), labels.t());
        loss.stats();
      },
      Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, SoftmaxLossTest, ::testing::ValuesIn(activation_backends()), backend_name);

}  // namespace
}  // namespace alexnet::test
