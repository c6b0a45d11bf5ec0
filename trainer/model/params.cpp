// Flat parameter layout and initialisation (see params.h).
#include "model/params.h"

#include <cmath>

#include "core/error.h"

namespace alexnet {

InitRecipe parse_init_recipe(const std::string& text) {
  if (text == "caffe") return InitRecipe::caffe;
  if (text == "paper") return InitRecipe::paper;
  throw Error("unknown initialisation '" + text + "' (expected caffe or paper)");
}

const char* init_recipe_name(InitRecipe r) { return r == InitRecipe::caffe ? "caffe" : "paper"; }

void ParamLayout::add(const std::string& layer, const Shape& weight, const Shape& bias) {
  ALEXNET_CHECK(!finished_, "ParamLayout::add after finish");
  entries_.push_back({layer, false, weight, 0});
  entries_.push_back({layer, true, bias, 0});
}

void ParamLayout::finish() {
  // Reverse layer order, weight before bias within a layer.
  std::vector<ParamEntry> out;
  for (size_t i = entries_.size(); i >= 2; i -= 2) {
    out.push_back(entries_[i - 2]);
    out.push_back(entries_[i - 1]);
  }
  total_ = 0;
  for (auto& e : out) {
    e.offset = total_;
    total_ += e.numel();
  }
  entries_ = std::move(out);
  finished_ = true;
}

const ParamEntry& ParamLayout::weight(const std::string& layer) const {
  for (const auto& e : entries_)
    if (e.layer == layer && !e.is_bias) return e;
  throw Error("no parameters for layer " + layer);
}

const ParamEntry& ParamLayout::bias(const std::string& layer) const {
  for (const auto& e : entries_)
    if (e.layer == layer && e.is_bias) return e;
  throw Error("no bias for layer " + layer);
}

static Tensor slice(const Buffer& b, const ParamEntry& e) {
  return b.tensor(e.shape, Layout::nchw, DType::f32, static_cast<size_t>(e.offset) * sizeof(float));
}

Tensor TowerParams::value(const ParamEntry& e) const { return slice(values, e); }
Tensor TowerParams::grad(const ParamEntry& e) const { return slice(grads, e); }
Tensor TowerParams::all_values() const { return values.tensor(Shape{layout.total()}); }
Tensor TowerParams::all_grads() const { return grads.tensor(Shape{layout.total()}); }
Tensor TowerParams::all_momentum() const { return momentum.tensor(Shape{layout.total()}); }

void init_params(TowerParams& p, InitRecipe recipe, uint64_t seed, int tower) {
  OwnedTensor host(Shape{p.layout.total()}, Device::cpu());
  float* v = host->f32();
  for (const auto& e : p.layout.entries()) {
    const bool biased =
        e.layer == "conv2" || e.layer == "conv4" || e.layer == "conv5" || e.layer == "fc6" || e.layer == "fc7";
    if (e.is_bias) {
      const float b = biased ? (recipe == InitRecipe::caffe ? 0.1f : 1.0f) : 0.0f;
      std::fill_n(v + e.offset, e.numel(), b);
      continue;
    }
    const double std = recipe == InitRecipe::caffe && (e.layer == "fc6" || e.layer == "fc7") ? 0.005 : 0.01;
    // One stream per (seed, tower, layer): independent of the buffer order.
    uint64_t stream = mix64(seed ^ mix64(static_cast<uint64_t>(tower) + 1));
    for (char ch : e.layer) stream = mix64(stream ^ static_cast<uint64_t>(ch));
    float* w = v + e.offset;
    const int64_t n = e.numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) w[i] = static_cast<float>(std * hashed_normal(stream, static_cast<uint64_t>(i)));
  }
  copy(p.all_values(), *host);
}

}  // namespace alexnet
