// The architecture table computed from the layer specs: the paper's shapes, 60,965,224 parameters
// and 1.449 GFLOP forward per image for the default model; validation of other configurations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/model_config.h"

namespace alexnet {
namespace {

const ArchRow& row(const std::vector<ArchRow>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.name == name) return r;
  throw Error("no row " + name);
}

TEST(ModelConfigTest, DefaultIsThePaperModel) {
  auto rows = architecture(ModelConfig{});
  EXPECT_EQ(total_params(rows), kAlexNetParams);
  EXPECT_NEAR(total_flops(rows) / 1e9, 1.449, 0.0005);
  EXPECT_EQ(row(rows, "conv1").tower_output, (Shape{48, 55, 55}));
  EXPECT_EQ(row(rows, "pool1").whole_output, (Shape{96, 27, 27}));
  EXPECT_EQ(row(rows, "conv2").tower_output, (Shape{128, 27, 27}));
  EXPECT_EQ(row(rows, "conv3").whole_output, (Shape{384, 13, 13}));
  EXPECT_EQ(row(rows, "pool5").tower_output, (Shape{128, 6, 6}));
  EXPECT_EQ(row(rows, "fc6").whole_output, (Shape{4096}));
  EXPECT_EQ(row(rows, "fc8").whole_output, (Shape{1000}));
  EXPECT_EQ(row(rows, "conv3").params, 2 * (192 * 256 * 9 + 192));  // conv3 sees both towers
  EXPECT_EQ(row(rows, "conv4").params, 2 * (192 * 192 * 9 + 192));  // conv4 only its own
  EXPECT_EQ(row(rows, "fc6").params, 2 * (2048 * 9216 + 2048));
  EXPECT_NE(row(rows, "pool2").exchange.find("(256, 13, 13)"), std::string::npos);
  EXPECT_EQ(row(rows, "conv4").exchange, "");
}

TEST(ModelConfigTest, SmallConfigurationsScale) {
  ModelConfig m;
  m.input_size = 67;
  m.classes = 10;
  m.width = 0.25;
  auto rows = architecture(m);
  EXPECT_EQ(row(rows, "conv1").tower_output, (Shape{12, 15, 15}));
  EXPECT_EQ(row(rows, "pool5").tower_output, (Shape{32, 1, 1}));
  EXPECT_EQ(row(rows, "fc8").tower_output, (Shape{5}));
  EXPECT_LT(total_params(rows), kAlexNetParams / 10);
}

TEST(ModelConfigTest, RejectsImpossibleConfigurations) {
  ModelConfig m;
  m.classes = 999;  // odd: cannot split between two towers
  EXPECT_THROW(m.validate(), Error);
  m = ModelConfig{};
  m.input_size = 66;  // pool5 would be empty
  EXPECT_THROW(m.validate(), Error);
  m = ModelConfig{};
  m.width = 0;
  EXPECT_THROW(m.validate(), Error);
}

}  // namespace
}  // namespace alexnet
