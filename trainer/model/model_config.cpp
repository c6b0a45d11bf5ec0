// AlexNet configuration and its architecture table (see model_config.h).
#include "model/model_config.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace alexnet {

namespace {
constexpr int64_t kConvBase[6] = {0, 48, 128, 192, 192, 128};
constexpr int64_t kFcBase = 2048;
constexpr int kTowers = 2;

int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(base) * width));
}

}  // namespace

int64_t ModelConfig::conv_channels(int layer) const {
  ALEXNET_CHECK(layer >= 1 && layer <= 5, "no conv layer " << layer);
  return scaled(kConvBase[layer], width);
}

int64_t ModelConfig::fc_width() const { return scaled(kFcBase, width); }

void ModelConfig::validate() const {
  ALEXNET_CHECK(width > 0 && width <= 16, "model width must be in (0, 16], got " << width);
  ALEXNET_CHECK(
      classes >= 2 && classes % kTowers == 0 && classes <= kMaxClasses,
      "class count must be even (half per tower), at least 2 and at most " << kMaxClasses << ", got " << classes);
  // conv1 11x11/4 then three 3/2 pools: the smallest input that leaves a 1x1 map after pool5.
  ALEXNET_CHECK(input_size >= 67 && input_size <= 4096,
                "input size must be in [67, 4096] (pool5 needs at least 1x1), got " << input_size);
}

std::vector<ArchRow> architecture(const ModelConfig& m) {
  m.validate();
  std::vector<ArchRow> rows;
  const PoolSpec pool{3, 2, 0};
  int64_t h = m.input_size;
  int64_t in_c = 3;  // channels each tower reads
  auto conv = [&](int layer, int k, int s, int p) {
    const int64_t out_c = m.conv_channels(layer);
    h = Conv::output_size(h, k, s, p);
    const int64_t params_tower = out_c * in_c * k * k + out_c;
    const double flops = 2.0 * kTowers * out_c * h * h * in_c * k * k;
    std::ostringstream op;
    op << "conv " << k << "x" << k;
    if (s > 1) op << "/" << s;
    if (p) op << " pad " << p;
    op << " + ReLU";
    rows.push_back({"conv" + std::to_string(layer), op.str(), Shape{out_c, h, h}, Shape{kTowers * out_c, h, h},
                    kTowers * params_tower, flops, ""});
    in_c = out_c;
  };
  auto norm = [&](int layer) {
    rows.push_back({"norm" + std::to_string(layer),
                    std::string("LRN ") + (m.lrn.convention == LrnConvention::paper ? "(paper)" : "(caffe)"),
                    Shape{in_c, h, h}, Shape{kTowers * in_c, h, h}, 0, 0, ""});
  };
  auto pool_row = [&](int layer) {
    h = Conv::output_size(h, pool.kernel, pool.stride, pool.pad);
    rows.push_back(
        {"pool" + std::to_string(layer), "max pool 3x3/2", Shape{in_c, h, h}, Shape{kTowers * in_c, h, h}, 0, 0, ""});
  };
  auto gather = [&](const std::string& what, const Shape& result) {
    std::ostringstream os;
    os << "all-gather " << what << " -> " << result.str();
    rows.back().exchange = os.str();
  };

  conv(1, 11, 4, 0);
  norm(1);
  pool_row(1);
  conv(2, 5, 1, 2);
  norm(2);
  pool_row(2);
  in_c *= kTowers;  // conv3 sees both towers
  gather("channels", Shape{in_c, h, h});
  conv(3, 3, 1, 1);
  conv(4, 3, 1, 1);
  conv(5, 3, 1, 1);
  pool_row(5);
  int64_t in_f = in_c * h * h * kTowers;  // fc6 sees both towers' pool5, flattened
  gather("features", Shape{in_f});
  auto fc = [&](const std::string& name, int64_t out_f, const std::string& op, const std::string& what) {
    rows.push_back({name, op, Shape{out_f}, Shape{kTowers * out_f}, kTowers * (out_f * in_f + out_f),
                    2.0 * kTowers * out_f * in_f, ""});
    in_f = kTowers * out_f;
    gather(what, Shape{in_f});
  };
  fc("fc6", m.fc_width(), "fc + ReLU + dropout 0.5", "features");
  fc("fc7", m.fc_width(), "fc + ReLU + dropout 0.5", "features");
  fc("fc8", m.classes / kTowers, "fc (logits)", "logits");
  return rows;
}

int64_t total_params(const std::vector<ArchRow>& rows) {
  int64_t n = 0;
  for (const auto& r : rows) n += r.params;
  return n;
}

double total_flops(const std::vector<ArchRow>& rows) {
  double f = 0;
  for (const auto& r : rows) f += r.flops;
  return f;
}

}  // namespace alexnet
