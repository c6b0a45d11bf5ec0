// A tower's parameters in one flat buffer (and its gradients and momentum in two more of the same
// layout), in REVERSE layer order: fc8 first, conv1 last, so that backward produces the buffer
// front to back and gradient buckets for the all-reduce are contiguous slices. Initialisation
// recipes (Caffe's bvlc_alexnet and the paper's) are seeded and reproducible everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/random.h"

namespace alexnet {

enum class InitRecipe { caffe, paper };
InitRecipe parse_init_recipe(const std::string& text);
const char* init_recipe_name(InitRecipe r);

struct ParamEntry {
  std::string layer;  // "conv1", ..., "fc8"
  bool is_bias = false;
  Shape shape;         // weights (O, I, K, K) or (O, I); bias (O)
  int64_t offset = 0;  // in floats, within the flat buffer
  int64_t numel() const { return shape.numel(); }
};

// The layout of one tower's parameters. add() in forward order; finish() lays them out reversed.
class ParamLayout {
 public:
  void add(const std::string& layer, const Shape& weight, const Shape& bias);
  void finish();
  const std::vector<ParamEntry>& entries() const { return entries_; }  // in buffer order (fc8 first)
  const ParamEntry& weight(const std::string& layer) const;
  const ParamEntry& bias(const std::string& layer) const;
  int64_t total() const { return total_; }  // floats

 private:
  std::vector<ParamEntry> entries_;
  int64_t total_ = 0;
  bool finished_ = false;
};

// Three flat buffers of one tower: weights, gradients, momentum.
struct TowerParams {
  ParamLayout layout;
  Buffer values, grads, momentum;  // layout.total() floats each, on the tower's device
  Tensor value(const ParamEntry& e) const;
  Tensor grad(const ParamEntry& e) const;
  Tensor all_values() const;  // (total) views for the update and the all-reduce
  Tensor all_grads() const;
  Tensor all_momentum() const;
};

// Fills a tower's weights by the recipe from (seed, tower): normal weights, constant biases.
// caffe: std 0.01 (fc6, fc7: 0.005), bias 0.1 on conv2, conv4, conv5, fc6, fc7, else 0.
// paper: std 0.01 everywhere, bias 1 on those layers, else 0.
void init_params(TowerParams& p, InitRecipe recipe, uint64_t seed, int tower);

}  // namespace alexnet
