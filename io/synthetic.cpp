// The synthetic image set (see synthetic.h).
#include "io/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/random.h"
#include "io/color_stats.h"
#include "io/image_codec.h"
#include "io/progress.h"

namespace alexnet {

namespace {
double unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }  // [0, 1) from a hash
}  // namespace

SyntheticDataset::SyntheticDataset(int64_t samples, int64_t classes, int64_t image_size, uint64_t seed)
    : samples_(samples), classes_(classes), size_(image_size), seed_(seed) {
  ALEXNET_CHECK(samples >= 1 && classes >= 1 && image_size >= 1,
                "synthetic data needs positive samples, classes and size (got " << samples << ", " << classes << ", "
                                                                                << image_size << ")");
}

int64_t SyntheticDataset::sample_at(int64_t pos) const {
  const int64_t epoch = pos / samples_, j = pos % samples_;
  // i = (a * j + b) mod n with gcd(a, n) = 1 is a permutation of [0, n).
  const uint64_t h = mix64(seed_ ^ mix64(static_cast<uint64_t>(epoch) + 0x5eed));
  int64_t a = static_cast<int64_t>(h % static_cast<uint64_t>(samples_)) | 1;
  while (std::gcd(a, samples_) != 1) a += 2;
  const int64_t b = static_cast<int64_t>((h >> 32) % static_cast<uint64_t>(samples_));
  return static_cast<int64_t>((static_cast<__int128>(a) * j + b) % samples_);
}

int32_t SyntheticDataset::label(int64_t sample) const { return static_cast<int32_t>(sample % classes_); }

void SyntheticDataset::fill(const Tensor& images, const Tensor& labels, int64_t first) const {
  const Shape& s = images.shape;
  ALEXNET_CHECK(
      s.rank() == 4 && s.c() == 3 && s.h() == size_ && s.w() == size_ && images.device.is_cpu(),
      "synthetic data: images " << images.str() << " are not (N, 3, " << size_ << ", " << size_ << ") on the CPU");
  ALEXNET_CHECK(labels.shape == Shape{s.n()}, "synthetic data: labels " << labels.str() << " do not match " << s.str());
  float* img = images.f32();
  int32_t* lab = labels.i32();
  const int64_t n = s.n(), S = size_;
  constexpr double two_pi = 2 * std::numbers::pi;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t sample = sample_at(first + i);
    const int32_t c = label(sample);
    lab[i] = c;
    const uint64_t ch = mix64(seed_ ^ mix64(0xc1a55 + static_cast<uint64_t>(c)));
    const uint64_t sh = mix64(seed_ ^ mix64(0x5a3b1e + static_cast<uint64_t>(sample)));
    double colour[3], sign[3];
    for (int k = 0; k < 3; ++k) {
      colour[k] = 60.0 * (2 * unit(mix64(ch + 11 + k)) - 1);
      sign[k] = unit(mix64(ch + 21 + k)) < 0.5 ? -1.0 : 1.0;
    }
    const double fx = 1 + 5 * unit(mix64(ch + 1)), fy = 1 + 5 * unit(mix64(ch + 2));
    const double px = unit(mix64(sh + 1)), py = unit(mix64(sh + 2));
    std::vector<float> row(static_cast<size_t>(S)), col(static_cast<size_t>(S));
    for (int64_t y = 0; y < S; ++y) row[y] = static_cast<float>(std::sin(two_pi * (fy * y / S + py)));
    for (int64_t x = 0; x < S; ++x) col[x] = static_cast<float>(std::sin(two_pi * (fx * x / S + px)));
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        const uint64_t noise = mix64(sh ^ static_cast<uint64_t>(y * S + x));
        const float pattern = 50.f * row[y] * col[x];
        for (int k = 0; k < 3; ++k) {
          const float jitter = 20.f * (static_cast<float>((noise >> (16 * k)) & 0xffff) * (1.f / 32768.f) - 1.f);
          img[offset4(s, images.layout, i, k, y, x)] =
              static_cast<float>(colour[k]) + static_cast<float>(sign[k]) * pattern + jitter;
        }
      }
  }
}

std::vector<uint8_t> synthetic_image(uint64_t seed, int32_t label, int64_t sample, int64_t size) {
  constexpr double two_pi = 2 * std::numbers::pi;
  const uint64_t ch = mix64(seed ^ mix64(0xc1a55 + static_cast<uint64_t>(label)));
  const uint64_t sh = mix64(seed ^ mix64(0x5a3b1e + static_cast<uint64_t>(sample)));
  double colour[3], sign[3];
  for (int k = 0; k < 3; ++k) {
    colour[k] = 128 + 50.0 * (2 * unit(mix64(ch + 11 + k)) - 1);
    sign[k] = unit(mix64(ch + 21 + k)) < 0.5 ? -1.0 : 1.0;
  }
  const double fx = 1 + 5 * unit(mix64(ch + 1)), fy = 1 + 5 * unit(mix64(ch + 2));
  const double px = unit(mix64(sh + 1)), py = unit(mix64(sh + 2));
  std::vector<uint8_t> img(static_cast<size_t>(size * size * 3));
  for (int64_t y = 0; y < size; ++y) {
    const double ry = std::sin(two_pi * (fy * y / size + py));
    for (int64_t x = 0; x < size; ++x) {
      const double pattern = 40.0 * ry * std::sin(two_pi * (fx * x / size + px));
      const uint64_t noise = mix64(sh ^ static_cast<uint64_t>(y * size + x));
      for (int k = 0; k < 3; ++k) {
        const double jitter = 15.0 * (static_cast<double>((noise >> (16 * k)) & 0xffff) / 32768.0 - 1.0);
        const double v = colour[k] + sign[k] * pattern + jitter;
        img[static_cast<size_t>((y * size + x) * 3 + k)] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return img;
}

namespace {

ShardIndex synthetic_index(const SynthSetOptions& o) {
  ShardIndex ix;
  ix.dir = o.out;
  ix.encoding = o.encoding;
  ix.image_size = o.size;
  ix.num_classes = o.classes;
  for (int64_t c = 0; c < o.classes; ++c) {
    char name[32];
    std::snprintf(name, sizeof name, "class%04lld", static_cast<long long>(c));
    ix.class_names.push_back(name);
  }
  return ix;
}

// Samples [first, first + m) as one shard of ix.
void write_synthetic_shard(const SynthSetOptions& o, int64_t first, int64_t m, ShardIndex& ix, ColorStats& stats) {
  std::vector<std::vector<uint8_t>> imgs(static_cast<size_t>(m));
  std::vector<int32_t> labels(static_cast<size_t>(m));
#pragma omp parallel for schedule(dynamic)
  for (int64_t i = 0; i < m; ++i) {
    const int64_t number = o.first_sample + first + i;
    labels[static_cast<size_t>(i)] = static_cast<int32_t>(number % o.classes);
    imgs[static_cast<size_t>(i)] = synthetic_image(o.seed, labels[static_cast<size_t>(i)], number, o.size);
  }
  std::vector<uint8_t> raw;
  for (auto& img : imgs) {
    stats.add(img.data(), o.size * o.size);
    if (o.encoding == Encoding::raw)
      raw.insert(raw.end(), img.begin(), img.end());
    else
      img = encode_jpeg(img.data(), static_cast<int>(o.size), static_cast<int>(o.size), o.quality);
  }
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05zu.h5", ix.shards.size());
  const std::string path = (std::filesystem::path(o.out) / name).string();
  if (o.encoding == Encoding::raw)
    write_raw_shard(path, o.size, raw, labels, o.chunk_images);
  else
    write_jpeg_shard(path, o.size, imgs, labels);
  ix.shards.push_back(name);
  ix.counts.push_back(m);
  ix.num_samples += m;
}

}  // namespace

ShardIndex write_synthetic_set(const SynthSetOptions& o) {
  ALEXNET_CHECK(
      o.samples >= 1 && o.classes >= 1 && o.size >= 1 && o.size <= 4096 && o.per_shard >= 1 && o.first_sample >= 0,
      "synthetic set: samples, classes, images per shard must be positive, the size in [1, 4096] and the "
      "first sample not negative");
  std::filesystem::create_directories(o.out);
  ShardIndex ix = synthetic_index(o);
  ColorStats stats;
  Progress progress("synth", o.samples);
  for (int64_t first = 0; first < o.samples; first += o.per_shard) {
    write_synthetic_shard(o, first, std::min(o.per_shard, o.samples - first), ix, stats);
    progress.update(ix.num_samples);
  }
  progress.update(ix.num_samples, true);
  stats.finish(&ix.mean, &ix.eigval, &ix.eigvec);
  ix.save();
  return ix;
}

}  // namespace alexnet
