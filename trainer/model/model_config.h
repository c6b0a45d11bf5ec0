// The AlexNet configuration (input size, width, classes, LRN convention) and its architecture
// table: per layer, the output shape per tower and whole, parameters and forward FLOPs, computed
// from the same layer specs the model is built from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/conv.h"
#include "layers/lrn.h"
#include "layers/pool.h"

namespace alexnet {

struct ModelConfig {
  static constexpr int64_t kMaxClasses = int64_t{1} << 20;  // as a shard set's num_classes

  int64_t input_size = 227;  // square RGB input
  int64_t classes = 1000;    // split evenly between the two towers
  double width = 1.0;        // channel multiplier (1 = the paper's 48/128/192/192/128 and 2048 per tower)
  LrnSpec lrn = LrnSpec::paper();

  // Per tower, after the width multiplier.
  int64_t conv_channels(int layer) const;  // layer 1..5
  int64_t fc_width() const;                // fc6 and fc7 outputs per tower
  void validate() const;                   // throws Error naming the bad field
};

struct ArchRow {
  std::string name;      // conv1, norm1, pool1, ..., fc8
  std::string op;        // "conv 11x11/4 + ReLU", "LRN", "max pool 3/2", ...
  Shape tower_output;    // per image: (C, H, W) or (F)
  Shape whole_output;    // both towers
  int64_t params = 0;    // both towers
  double flops = 0;      // forward, per image, both towers (2 x multiply-adds of conv and fc)
  std::string exchange;  // what the towers exchange at this layer's output ("" when nothing)
};

std::vector<ArchRow> architecture(const ModelConfig& m);
int64_t total_params(const std::vector<ArchRow>& rows);
double total_flops(const std::vector<ArchRow>& rows);

constexpr int64_t kAlexNetParams = 60'965'224;

}  // namespace alexnet
