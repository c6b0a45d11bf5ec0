// The input side: shard sets round-trip; the loader's order (every sample once per epoch across 1,
// 2 and 3 ranks; the same global batches whatever the ranks with --shuffle global; resume
// continues the sequence), its augmentation (exact crops, mirrors, thread-count independence),
// colour statistics, resizing and decoding.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/color_stats.h"
#include "io/h5_util.h"
#include "io/image_codec.h"
#include "io/loader.h"
#include "io/shards.h"
#include "io/synthetic.h"

namespace fs = std::filesystem;

namespace alexnet {
namespace {

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("alexnet-io-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A raw shard set of n synthetic images (size s) in shards of `per`, with known stats.
  ShardIndex make_set(const std::string& name, int64_t n, int64_t per, int64_t s, Encoding enc = Encoding::raw) {
    ShardIndex ix;
    ix.dir = (dir_ / name).string();
    fs::create_directories(ix.dir);
    ix.encoding = enc;
    ix.image_size = s;
    ix.num_classes = 7;
    for (int c = 0; c < 7; ++c) ix.class_names.push_back("n0" + std::to_string(c));
    for (int64_t first = 0; first < n; first += per) {
      const int64_t m = std::min(per, n - first);
      std::vector<uint8_t> raw;
      std::vector<std::vector<uint8_t>> jpegs;
      std::vector<int32_t> labels;
      for (int64_t i = first; i < first + m; ++i) {
        labels.push_back(static_cast<int32_t>(i % 7));
        auto img = synthetic_image(3, labels.back(), i, s);
        if (enc == Encoding::raw)
          raw.insert(raw.end(), img.begin(), img.end());
        else
          jpegs.push_back(encode_jpeg(img.data(), static_cast<int>(s), static_cast<int>(s), 95));
      }
      const std::string file = "shard-" + std::to_string(ix.shards.size()) + ".h5";
      if (enc == Encoding::raw)
        write_raw_shard(ix.dir + "/" + file, s, raw, labels);
      else
        write_jpeg_shard(ix.dir + "/" + file, s, jpegs, labels);
      ix.shards.push_back(file);
      ix.counts.push_back(m);
      ix.num_samples += m;
    }
    ix.mean = {100, 110, 120};
    ix.eigval = {900, 400, 100};
    ix.eigvec = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    ix.save();
    return ShardIndex::load(ix.dir);
  }
  fs::path dir_;
};

TEST_F(ShardTest, RawAndJpegRoundTrip) {
  const ShardIndex raw = make_set("raw", 10, 4, 16);
  ShardReader r(raw);
  EXPECT_EQ(raw.shards.size(), 3u);
  EXPECT_EQ(raw.counts, (std::vector<int64_t>{4, 4, 2}));
  std::vector<uint8_t> got;
  for (int64_t i = 0; i < 10; ++i) {
    r.read(i, &got);
    EXPECT_EQ(got, synthetic_image(3, static_cast<int32_t>(i % 7), i, 16)) << "sample " << i;
    EXPECT_EQ(r.label(i), i % 7);
  }
  const ShardIndex jpeg = make_set("jpeg", 5, 2, 32, Encoding::jpeg);
  ShardReader rj(jpeg);
  for (int64_t i = 0; i < 5; ++i) {
    rj.read(i, &got);
    const RgbImage img = decode_image(got.data(), got.size(), "test");
    ASSERT_EQ(img.width, 32);
    // Lossy, so: much closer to its own sample than to the next one (another class).
    auto mean_abs = [&](const std::vector<uint8_t>& want) {
      double err = 0;
      for (size_t k = 0; k < want.size(); ++k) err += std::fabs(double(img.pixels[k]) - want[k]);
      return err / static_cast<double>(want.size());
    };
    const double own = mean_abs(synthetic_image(3, static_cast<int32_t>(i % 7), i, 32));
    const double other = mean_abs(synthetic_image(3, static_cast<int32_t>((i + 1) % 7), i + 1, 32));
    EXPECT_LT(own, 0.5 * other) << "sample " << i << ": own " << own << ", other " << other;
  }
}

// A shard whose labels dataset claims many entries but stores none (chunks never written, a tiny
// file) is refused before its labels are read into memory.
TEST_F(ShardTest, LabelsClaimedButNotStoredAreRefused) {
  const ShardIndex ix = make_set("sparse", 4, 4, 8);
  const std::string shard = ix.dir + "/" + ix.shards[0];
  {
    h5::Handle f(H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(f.get(), 0);
    ASSERT_GE(H5Ldelete(f, "labels", H5P_DEFAULT), 0);
    const hsize_t dims[1] = {4}, chunk[1] = {1};
    h5::Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    h5::Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(plist, 1, chunk);
    h5::Handle set(H5Dcreate2(f, "labels", H5T_NATIVE_INT32, space, H5P_DEFAULT, plist, H5P_DEFAULT), H5Dclose);
    ASSERT_GE(set.get(), 0);
  }
  try {
    ShardReader r(ix);
    FAIL() << "a shard without stored labels was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("labels claims 4 entries but not all of them are stored"), std::string::npos)
        << e.what();
  }
}

// `shards synth --first-sample`: a held-out set continues the numbering of a training set made with
// the same seed, so it holds new images of the same classes.
TEST_F(ShardTest, SynthHeldOutSetContinuesTheSameClasses) {
  SynthSetOptions o;
  o.out = (dir_ / "all").string(), o.samples = 12, o.classes = 5, o.size = 12, o.per_shard = 5, o.seed = 4;
  ShardReader all(write_synthetic_set(o));
  o.out = (dir_ / "held").string(), o.samples = 4, o.first_sample = 8;
  const ShardIndex held_ix = write_synthetic_set(o);
  EXPECT_EQ(held_ix.num_samples, 4);
  ShardReader held(held_ix);
  std::vector<uint8_t> a, b;
  for (int64_t i = 0; i < 4; ++i) {
    all.read(8 + i, &a), held.read(i, &b);
    EXPECT_EQ(a, b) << "held-out sample " << i;
    EXPECT_EQ(held.label(i), (8 + i) % 5);
  }
  o.first_sample = -1;
  EXPECT_THROW(write_synthetic_set(o), Error);
}

TEST_F(ShardTest, EverySampleOncePerEpochAcrossRanksAndTheSameGlobalBatches) {
  const ShardIndex ix = make_set("order", 50, 8, 8);
  auto reader = std::make_shared<const ShardReader>(ix);
  const int64_t global = 12;  // 50 samples: epochs straddle batches
  std::vector<std::vector<int64_t>> sequences;
  for (int ranks : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    LoaderOptions o;
    o.batch = global / ranks, o.ranks = ranks, o.crop = 8, o.threads = 1;
    std::vector<std::unique_ptr<Loader>> loaders;
    for (int r = 0; r < ranks; ++r) {
      o.rank = r;
      loaders.push_back(std::make_unique<Loader>(reader, o));
    }
    // The global stream over 3 epochs: positions [e*50, (e+1)*50) hold every sample once.
    std::vector<int64_t> stream;
    for (int64_t step = 0; step * global < 150; ++step)
      for (int r = 0; r < ranks; ++r)
        for (int64_t i = 0; i < o.batch; ++i)
          stream.push_back(loaders[static_cast<size_t>(r)]->sample_at_step(step, r, i));
    for (int e = 0; e < 3; ++e) {
      std::set<int64_t> seen(stream.begin() + e * 50, stream.begin() + (e + 1) * 50);
      EXPECT_EQ(seen.size(), 50u) << "epoch " << e;
    }
    sequences.push_back(std::vector<int64_t>(stream.begin(), stream.begin() + 150));
  }
  EXPECT_EQ(sequences[0], sequences[1]) << "global batches differ between 1 and 2 ranks";
  EXPECT_EQ(sequences[0], sequences[2]) << "global batches differ between 1 and 3 ranks";
  EXPECT_NE(std::vector<int64_t>(sequences[0].begin(), sequences[0].begin() + 50),
            std::vector<int64_t>(sequences[0].begin() + 50, sequences[0].begin() + 100))
      << "epochs not reshuffled";
}

TEST_F(ShardTest, ShardShuffleCoversEverySampleOncePerEpochAcrossRanks) {
  const ShardIndex ix = make_set("shard", 60, 10, 8);  // 6 shards
  auto reader = std::make_shared<const ShardReader>(ix);
  for (int ranks : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    std::multiset<int64_t> epoch0;
    for (int r = 0; r < ranks; ++r) {
      LoaderOptions o;
      o.batch = 4, o.ranks = ranks, o.rank = r, o.crop = 8, o.threads = 1;
      o.shuffle = Shuffle::shard, o.shuffle_buffer = 7;
      Loader l(reader, o);
      // This rank's first epoch is its shards' samples: 60 / ranks of them here (equal shards).
      for (int64_t q = 0; q < 60 / ranks; ++q) epoch0.insert(l.sample_at_step(q / 4, r, q % 4));
    }
    EXPECT_EQ(epoch0.size(), 60u);
    EXPECT_EQ(std::set<int64_t>(epoch0.begin(), epoch0.end()).size(), 60u) << "a sample repeated within the epoch";
  }
}

TEST_F(ShardTest, ResumeContinuesAndThreadsDoNotChangeBatches) {
  const ShardIndex ix = make_set("resume", 40, 16, 24);
  auto reader = std::make_shared<const ShardReader>(ix);
  LoaderOptions o;
  o.batch = 6, o.crop = 20, o.threads = 1, o.seed = 5;
  Loader a(reader, o);
  std::vector<std::vector<float>> batches;
  for (int s = 0; s < 5; ++s) {
    const Batch& b = a.next();
    batches.emplace_back(b.images.f32(), b.images.f32() + b.images.numel());
  }
  o.threads = 3;
  Loader c(reader, o);  // more threads: the same batches, in the same order
  for (int s = 0; s < 5; ++s) {
    const Batch& b = c.next();
    EXPECT_EQ(std::vector<float>(b.images.f32(), b.images.f32() + b.images.numel()), batches[static_cast<size_t>(s)])
        << "batch " << s << " with 3 threads";
  }
  o.start = 3 * 6;  // resumed at step 3
  Loader r(reader, o);
  for (int s = 3; s < 5; ++s) {
    const Batch& b = r.next();
    EXPECT_EQ(std::vector<float>(b.images.f32(), b.images.f32() + b.images.numel()), batches[static_cast<size_t>(s)])
        << "resumed batch " << s;
  }
}

TEST_F(ShardTest, EvaluationCropsAreExactAndThePassIsPadded) {
  const ShardIndex ix = make_set("eval", 7, 7, 10);
  auto reader = std::make_shared<const ShardReader>(ix);
  std::vector<uint8_t> px;
  for (int view : {-1, 0, 3, 5, 9}) {
    SCOPED_TRACE("view " + std::to_string(view));
    LoaderOptions o;
    o.batch = 4, o.crop = 6, o.train = false, o.view = view, o.threads = 2, o.layout = Layout::nhwc;
    Loader l(reader, o);
    EXPECT_EQ(l.eval_batches(), 2);
    const Batch& b0 = l.next();
    EXPECT_EQ(b0.valid, 4);
    reader->read(1, &px);  // sample 1 is slot 1 of the first batch
    const int v = view < 0 ? 4 : view % 5;
    const int64_t x0 = v == 0 || v == 2 ? 0 : v == 4 ? 2 : 4, y0 = v == 0 || v == 1 ? 0 : v == 4 ? 2 : 4;
    const bool flip = view >= 5;
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 6; ++x)
        for (int c = 0; c < 3; ++c) {
          const int64_t sx = x0 + (flip ? 5 - x : x);
          const float want = px[static_cast<size_t>(((y0 + y) * 10 + sx) * 3 + c)] - ix.mean[static_cast<size_t>(c)];
          ASSERT_EQ(b0.images.f32()[offset4(b0.images.shape, Layout::nhwc, 1, c, y, x)], want)
              << y << "," << x << "," << c;
        }
    EXPECT_EQ(b0.labels.i32()[1], 1);
    EXPECT_EQ(l.next().valid, 3);  // samples 4, 5, 6 and one pad
    EXPECT_EQ(l.next().valid, 0);  // the end of the pass
  }
}

TEST_F(ShardTest, TrainingAugmentationStaysInRangeAndVaries) {
  const ShardIndex ix = make_set("aug", 8, 8, 32);
  auto reader = std::make_shared<const ShardReader>(ix);
  LoaderOptions o;
  o.batch = 8, o.crop = 28, o.threads = 2;
  Loader l(reader, o);
  const Batch& a = l.next();
  std::vector<float> first(a.images.f32(), a.images.f32() + a.images.numel());
  const Batch& b = l.next();  // the same samples (8 of 8) in a new epoch: other crops, flips, lighting
  EXPECT_NE(first, std::vector<float>(b.images.f32(), b.images.f32() + b.images.numel()));
  for (float v : first) {
    ASSERT_GE(v, -255.f);
    ASSERT_LE(v, 255.f);
  }
}

TEST_F(ShardTest, AugmentOffGivesTheCentreCropWhateverTheThreadsAndAugmentationSeed) {
  const ShardIndex ix = make_set("augoff", 12, 6, 16);
  auto reader = std::make_shared<const ShardReader>(ix);
  // The first three batches of a loader, as one vector.
  auto batches = [&](bool augment, int threads, uint64_t augment_seed) {
    LoaderOptions o;
    o.batch = 4, o.crop = 12, o.threads = threads, o.seed = 3, o.augment = augment, o.augment_seed = augment_seed;
    Loader l(reader, o);
    std::vector<float> all;
    for (int s = 0; s < 3; ++s) {
      const Batch& b = l.next();
      all.insert(all.end(), b.images.f32(), b.images.f32() + b.images.numel());
    }
    return all;
  };
  const std::vector<float> off = batches(false, 1, 1);
  EXPECT_EQ(batches(false, 3, 7), off) << "--augment off: the batches depend on threads or the augmentation seed";
  EXPECT_NE(batches(true, 1, 1), batches(true, 1, 7)) << "the augmentation seed changes nothing";
  EXPECT_EQ(batches(true, 3, 7), batches(true, 1, 7));
  // Off is the evaluation's centre crop of the same samples, in the training order.
  LoaderOptions o;
  o.batch = 4, o.crop = 12, o.threads = 1, o.seed = 3, o.augment = false;
  Loader l(reader, o);
  std::vector<uint8_t> px;
  const Batch& b = l.next();
  reader->read(l.sample_at_step(0, 0, 2), &px);
  for (int64_t y = 0; y < 12; ++y)
    for (int64_t x = 0; x < 12; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(b.images.f32()[offset4(b.images.shape, Layout::nchw, 2, c, y, x)],
                  px[static_cast<size_t>(((2 + y) * 16 + 2 + x) * 3 + c)] - ix.mean[static_cast<size_t>(c)]);
}

TEST(ColorStatsTest, MeanAndEigenDecomposition) {
  // Pixels along one colour direction: one dominant eigenvalue with that eigenvector.
  std::vector<uint8_t> px;
  for (int i = 0; i < 200; ++i) {
    const int t = i % 100;
    px.insert(px.end(), {static_cast<uint8_t>(50 + t), static_cast<uint8_t>(50 + t), static_cast<uint8_t>(60)});
  }
  ColorStats s;
  s.add(px.data(), 200);
  std::array<float, 3> mean{}, val{};
  std::array<float, 9> vec{};
  s.finish(&mean, &val, &vec);
  EXPECT_NEAR(mean[0], 99.5, 1e-4);
  EXPECT_NEAR(mean[2], 60, 1e-4);
  EXPECT_NEAR(val[0], 2 * 833.25, 1e-2);  // var of t is 833.25, along (1, 1, 0)/sqrt(2)
  EXPECT_NEAR(val[1], 0, 1e-3);
  EXPECT_NEAR(std::fabs(vec[0]), std::sqrt(0.5), 1e-4);
  EXPECT_NEAR(std::fabs(vec[3]), std::sqrt(0.5), 1e-4);
  EXPECT_NEAR(vec[6], 0, 1e-4);
  double a[3][3] = {{4, 1, 0}, {1, 3, 0}, {0, 0, 1}}, values[3], vectors[9];
  symmetric_eigen3(a, values, vectors);
  for (int k = 0; k < 3; ++k)
    for (int r = 0; r < 3; ++r) {
      double av = 0;
      for (int c = 0; c < 3; ++c) av += a[r][c] * vectors[3 * c + k];
      EXPECT_NEAR(av, values[k] * vectors[3 * r + k], 1e-9);  // A v = lambda v
    }
  EXPECT_GE(values[0], values[1]);
  EXPECT_GE(values[1], values[2]);
}

TEST(ImageTest, ResizeKeepsConstantsAndAntialiases) {
  RgbImage flat{40, 30, std::vector<uint8_t>(40 * 30 * 3, 77)};
  RgbImage r = resize_shorter_and_crop(flat, 12);
  EXPECT_EQ(r.width, 12);
  EXPECT_EQ(r.height, 12);
  for (uint8_t v : r.pixels) EXPECT_EQ(v, 77);
  // A 1-pixel checkerboard downscaled 4x averages to grey (no aliasing into black or white).
  RgbImage check{64, 64, std::vector<uint8_t>(64 * 64 * 3)};
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) check.pixels[(y * 64 + x) * 3 + c] = (x + y) % 2 ? 255 : 0;
  r = resize_shorter_and_crop(check, 16);
  for (uint8_t v : r.pixels) {
    EXPECT_GE(v, 110);
    EXPECT_LE(v, 145);
  }
  // Upscaling a small image to the size works too.
  RgbImage small{5, 7, std::vector<uint8_t>(5 * 7 * 3, 9)};
  EXPECT_EQ(resize_shorter_and_crop(small, 20).pixels.size(), 20u * 20u * 3u);
}

TEST(ImageTest, DecodeRejectsWhatIsNotAnImage) {
  const std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_THROW(decode_image(junk.data(), junk.size(), "junk"), Error);
  std::vector<uint8_t> img(8 * 8 * 3, 100);
  auto jpeg = encode_jpeg(img.data(), 8, 8, 90);
  jpeg.resize(jpeg.size() / 3);  // truncated
  try {
    decode_image(jpeg.data(), jpeg.size(), "cut.jpg");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.jpg"), std::string::npos);
  }
}

}  // namespace
}  // namespace alexnet
