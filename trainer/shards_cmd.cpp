// `alexnet shards import|synth|inspect`: build shard sets from ImageNet-style folders or
// synthetically, and check them (see io/FORMAT.md).
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli.h"
#include "color_stats.h"
#include "image_codec.h"
#include "log.h"
#include "random.h"
#include "shards.h"
#include "stats.h"
#include "synthetic.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace alexnet {

namespace {

// A progress line on stderr: count, rate, ETA (redrawn in place on a terminal, every 10% otherwise).
class Progress {
 public:
  Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total), t0_(now_seconds()), tty_(isatty(2)) {}
  void update(int64_t done, bool last = false) {
    const double t = now_seconds();
    const int decile = total_ ? static_cast<int>(10 * done / total_) : 10;
    if (!last && (tty_ ? t - shown_ < 0.25 : decile == decile_)) return;
    shown_ = t;
    decile_ = decile;
    const double rate = done / std::max(1e-9, t - t0_);
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    const int width = 30, fill = total_ ? static_cast<int>(width * done / total_) : width;
    std::fprintf(stderr, "%s%s [%s%s] %lld/%lld %3.0f%% %.0f img/s ETA %d:%02d%s", tty_ ? "\r" : "", what_.c_str(),
                 std::string(static_cast<size_t>(fill), '=').c_str(), std::string(static_cast<size_t>(width - fill), ' ').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), total_ ? 100.0 * done / total_ : 100.0,
                 rate, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty_ && !last ? "" : "\n");
  }

 private:
  std::string what_;
  int64_t total_;
  double t0_, shown_ = 0;
  bool tty_;
  int decile_ = -1;
};

bool image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".jpeg" || ext == ".jpg" || ext == ".png";
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw Error(p.string() + ": cannot open");
  std::vector<uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return d;
}

struct Item {
  fs::path path;
  int32_t label;
};

// Writes a shard set from items, decoding and resizing in parallel, shard by shard.
struct ImportResult {
  int64_t written = 0, skipped = 0;
  std::vector<std::string> bad;
};

ImportResult write_set(const std::vector<Item>& items, const fs::path& out, Encoding enc, int64_t size, int64_t per_shard,
                       int threads, int quality, bool strict, const std::vector<std::string>& classes,
                       const ShardIndex* stats_from, const std::string& what) {
  fs::create_directories(out);
  ShardIndex ix;
  ix.dir = out.string();
  ix.encoding = enc;
  ix.image_size = size;
  ix.num_classes = static_cast<int64_t>(classes.size());
  ix.class_names = classes;
  ColorStats total;
  ImportResult res;
  Progress progress(what, static_cast<int64_t>(items.size()));
  int64_t done = 0;
  for (size_t first = 0; first < items.size(); first += static_cast<size_t>(per_shard)) {
    const size_t n = std::min(items.size() - first, static_cast<size_t>(per_shard));
    std::vector<std::vector<uint8_t>> encoded(n);
    std::vector<char> ok(n, 0);
    std::vector<ColorStats> part(static_cast<size_t>(threads));
    std::vector<std::string> errors(n);
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (size_t i; (i = next++) < n;) {
          const Item& it = items[first + i];
          try {
            const auto bytes = read_file(it.path);
            const RgbImage img = resize_shorter_and_crop(decode_image(bytes.data(), bytes.size(), it.path.string()),
                                                         static_cast<int>(size));
            part[static_cast<size_t>(t)].add(img.pixels.data(), size * size);
            encoded[i] = enc == Encoding::raw ? img.pixels : encode_jpeg(img.pixels.data(), img.width, img.height, quality);
            ok[i] = 1;
          } catch (const std::exception& e) {
            errors[i] = e.what();
          }
        }
      });
    for (auto& th : pool) th.join();
    for (auto& p : part) total.merge(p);
    std::vector<int32_t> labels;
    std::vector<std::vector<uint8_t>> kept;
    std::vector<uint8_t> raw;
    for (size_t i = 0; i < n; ++i) {
      if (!ok[i]) {
        if (strict) throw Error("cannot import " + errors[i] + " (--strict)");
        LOG_WARN << "skipped: " << errors[i];
        res.bad.push_back(items[first + i].path.string());
        ++res.skipped;
        continue;
      }
      labels.push_back(items[first + i].label);
      if (enc == Encoding::raw) raw.insert(raw.end(), encoded[i].begin(), encoded[i].end());
      else kept.push_back(std::move(encoded[i]));
    }
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", ix.shards.size());
    if (enc == Encoding::raw) write_raw_shard((out / name).string(), size, raw, labels);
    else write_jpeg_shard((out / name).string(), size, kept, labels);
    ix.shards.push_back(name);
    ix.counts.push_back(static_cast<int64_t>(labels.size()));
    ix.num_samples += static_cast<int64_t>(labels.size());
    res.written += static_cast<int64_t>(labels.size());
    done += static_cast<int64_t>(n);
    progress.update(done);
  }
  progress.update(done, true);
  ALEXNET_CHECK(ix.num_samples > 0, what << ": no image could be imported");
  if (stats_from) {  // validation sets subtract the training set's mean and use its PCA
    ix.mean = stats_from->mean, ix.eigval = stats_from->eigval, ix.eigvec = stats_from->eigvec;
  } else {
    total.finish(&ix.mean, &ix.eigval, &ix.eigvec);
  }
  ix.save();
  return res;
}

std::vector<std::string> sorted_class_folders(const fs::path& train) {
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(train))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  ALEXNET_CHECK(!classes.empty(), train.string() << " has no class folders (expected train/<synset>/*.JPEG)");
  return classes;
}

// Validation labels: "file,class" lines (class: a synset, or its index among the sorted class
// folders), or one integer per line (the devkit's ground truth) for the sorted file names; with
// devkit_synsets, integer k means the k-th (1-based) synset listed there, else the k-th sorted class.
std::vector<Item> val_items(const fs::path& val, const fs::path& labels_file, const std::vector<std::string>& classes,
                            const fs::path& devkit_synsets) {
  std::map<std::string, int32_t> by_name;
  for (size_t i = 0; i < classes.size(); ++i) by_name[classes[i]] = static_cast<int32_t>(i);
  std::vector<std::string> devkit;
  if (!devkit_synsets.empty()) {
    std::ifstream f(devkit_synsets);
    ALEXNET_CHECK(f, "cannot read " << devkit_synsets.string());
    for (std::string l; std::getline(f, l);)
      if (!l.empty()) devkit.push_back(l.substr(0, l.find_first_of(" \t,")));
  }
  auto class_of = [&](const std::string& c, const std::string& where) -> int32_t {
    auto it = by_name.find(c);
    if (it != by_name.end()) return it->second;
    size_t used = 0;
    long v = -1;
    try {
      v = std::stol(c, &used);
    } catch (const std::exception&) {
    }
    ALEXNET_CHECK(used == c.size() && v >= 0 && v < static_cast<long>(classes.size()),
                  where << ": class '" << c << "' is neither a class folder name nor an index in [0, " << classes.size() << ")");
    return static_cast<int32_t>(v);
  };
  std::ifstream f(labels_file);
  ALEXNET_CHECK(f, "cannot read the validation labels " << labels_file.string());
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);)
    if (!l.empty() && l.back() == '\r') l.pop_back(), lines.push_back(l);
    else if (!l.empty()) lines.push_back(l);
  std::vector<Item> items;
  if (!lines.empty() && lines[0].find(',') != std::string::npos) {
    for (size_t k = 0; k < lines.size(); ++k) {
      const auto comma = lines[k].find(',');
      const std::string where = labels_file.string() + ":" + std::to_string(k + 1);
      ALEXNET_CHECK(comma != std::string::npos, where << ": expected file,class");
      const std::string file = lines[k].substr(0, comma), cls = lines[k].substr(comma + 1);
      if (k == 0 && (file == "file" || file == "filename")) continue;  // a header
      items.push_back({val / file, class_of(cls, where)});
    }
    return items;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(val))
    if (e.is_regular_file() && image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ALEXNET_CHECK(files.size() == lines.size(), labels_file.string() << " has " << lines.size() << " labels for "
                                                                   << files.size() << " images in " << val.string());
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string where = labels_file.string() + ":" + std::to_string(k + 1);
    size_t used = 0;
    long id = 0;
    try {
      id = std::stol(lines[k], &used);
    } catch (const std::exception&) {
    }
    ALEXNET_CHECK(used == lines[k].size() && id >= 1, where << ": '" << lines[k] << "' is not a 1-based class id");
    if (!devkit.empty()) {
      ALEXNET_CHECK(id <= static_cast<long>(devkit.size()), where << ": id " << id << " beyond " << devkit_synsets.string());
      items.push_back({files[k], class_of(devkit[static_cast<size_t>(id - 1)], where)});
    } else {
      ALEXNET_CHECK(id <= static_cast<long>(classes.size()), where << ": id " << id << " beyond " << classes.size() << " classes");
      items.push_back({files[k], static_cast<int32_t>(id - 1)});
    }
  }
  return items;
}

int shards_import(const std::vector<std::string>& args) {
  po::options_description desc("shards import options");
  desc.add_options()
      ("train", po::value<std::string>()->required(), "ImageNet-style training folder: one sub-folder per class")
      ("out", po::value<std::string>()->required(), "output folder: OUT/train (and OUT/val)")
      ("val", po::value<std::string>(), "validation folder (flat)")
      ("val-labels", po::value<std::string>(), "validation labels: file,class CSV, or the devkit's ground truth")
      ("devkit-synsets", po::value<std::string>(), "the devkit's synsets in id order, one per line")
      ("size", po::value<int64_t>()->default_value(256), "shorter side resized to this, then centre-cropped square")
      ("encoding", po::value<std::string>()->default_value("jpeg"), "raw (pixels, fastest to read) or jpeg (~5x smaller)")
      ("quality", po::value<int>()->default_value(90), "JPEG quality")
      ("per-shard", po::value<int64_t>()->default_value(1024), "images per shard file")
      ("threads", po::value<int>()->default_value(0), "decoding threads (0: all cores)")
      ("seed", po::value<uint64_t>()->default_value(1), "seed of the order the training images are sharded in")
      ("strict", "a file that cannot be decoded is fatal (default: reported and skipped)");
  po::variables_map vm;
  if (!parse_options("shards import", desc, args, vm)) return 0;
  const fs::path train = vm["train"].as<std::string>(), out = vm["out"].as<std::string>();
  const int64_t size = vm["size"].as<int64_t>(), per_shard = vm["per-shard"].as<int64_t>();
  const int quality = vm["quality"].as<int>();
  int threads = vm["threads"].as<int>();
  Encoding enc{};
  as_usage_error([&] {
    enc = parse_encoding(vm["encoding"].as<std::string>());
    ALEXNET_CHECK(fs::is_directory(train), "--train " << train.string() << " is not a folder");
    ALEXNET_CHECK(size >= 1 && size <= 4096, "--size must be in [1, 4096]");
    ALEXNET_CHECK(per_shard >= 1, "--per-shard must be at least 1");
    ALEXNET_CHECK(quality >= 1 && quality <= 100, "--quality must be in [1, 100]");
    ALEXNET_CHECK(!vm.count("val") == !vm.count("val-labels"), "--val and --val-labels go together");
    ALEXNET_CHECK(threads >= 0, "--threads must be >= 0");
    return 0;
  });
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool strict = vm.count("strict") > 0;
  const auto classes = sorted_class_folders(train);
  std::vector<Item> items;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(train / classes[c]))
      if (e.is_regular_file() && image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (auto& f : files) items.push_back({f, static_cast<int32_t>(c)});
  }
  ALEXNET_CHECK(!items.empty(), train.string() << " holds no .JPEG/.jpg/.png files");
  // Mix the classes across shards (reading shards in order must not read one class at a time).
  const uint64_t seed = vm["seed"].as<uint64_t>();
  for (size_t i = items.size() - 1; i > 0; --i) std::swap(items[i], items[mix64(seed ^ mix64(i)) % (i + 1)]);
  LOG_INFO << "shards import: " << items.size() << " training images in " << classes.size() << " classes -> "
           << (out / "train").string() << " (" << encoding_name(enc) << ", " << size << "px, " << per_shard
           << " per shard, " << threads << " threads)";
  const ImportResult tr = write_set(items, out / "train", enc, size, per_shard, threads, quality, strict, classes, nullptr, "train");
  std::printf("train: %lld images written, %lld skipped%s\n", static_cast<long long>(tr.written),
              static_cast<long long>(tr.skipped), tr.skipped ? " (listed above)" : "");
  if (vm.count("val")) {
    const ShardIndex train_ix = ShardIndex::load((out / "train").string());
    const auto vitems = val_items(vm["val"].as<std::string>(), vm["val-labels"].as<std::string>(), classes,
                                  vm.count("devkit-synsets") ? vm["devkit-synsets"].as<std::string>() : "");
    const ImportResult vr = write_set(vitems, out / "val", enc, size, per_shard, threads, quality, strict, classes, &train_ix, "val");
    std::printf("val: %lld images written, %lld skipped\n", static_cast<long long>(vr.written), static_cast<long long>(vr.skipped));
  }
  return 0;
}

int shards_synth(const std::vector<std::string>& args) {
  po::options_description desc("shards synth options");
  desc.add_options()
      ("out", po::value<std::string>()->required(), "output folder (the shard set)")
      ("samples", po::value<int64_t>()->default_value(2048), "images")
      ("classes", po::value<int64_t>()->default_value(10), "classes (labels cycle through them)")
      ("size", po::value<int64_t>()->default_value(256), "image side")
      ("per-shard", po::value<int64_t>()->default_value(512), "images per shard file")
      ("encoding", po::value<std::string>()->default_value("raw"), "raw or jpeg")
      ("quality", po::value<int>()->default_value(90), "JPEG quality")
      ("chunk-images", po::value<int64_t>()->default_value(1), "raw: images per HDF5 chunk (0: contiguous; for measurements)")
      ("seed", po::value<uint64_t>()->default_value(1), "seed");
  po::variables_map vm;
  if (!parse_options("shards synth", desc, args, vm)) return 0;
  const int64_t n = vm["samples"].as<int64_t>(), k = vm["classes"].as<int64_t>(), size = vm["size"].as<int64_t>(),
                per = vm["per-shard"].as<int64_t>();
  Encoding enc{};
  as_usage_error([&] {
    enc = parse_encoding(vm["encoding"].as<std::string>());
    ALEXNET_CHECK(n >= 1 && k >= 1 && size >= 1 && size <= 4096 && per >= 1,
                  "--samples, --classes, --per-shard must be positive and --size in [1, 4096]");
    return 0;
  });
  const uint64_t seed = vm["seed"].as<uint64_t>();
  const fs::path out = vm["out"].as<std::string>();
  fs::create_directories(out);
  ShardIndex ix;
  ix.dir = out.string();
  ix.encoding = enc;
  ix.image_size = size;
  ix.num_classes = k;
  for (int64_t c = 0; c < k; ++c) {
    char name[32];
    std::snprintf(name, sizeof name, "class%04lld", static_cast<long long>(c));
    ix.class_names.push_back(name);
  }
  ColorStats stats;
  Progress progress("synth", n);
  for (int64_t first = 0; first < n; first += per) {
    const int64_t m = std::min(per, n - first);
    std::vector<std::vector<uint8_t>> imgs(static_cast<size_t>(m));
    std::vector<int32_t> labels(static_cast<size_t>(m));
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < m; ++i) {
      labels[static_cast<size_t>(i)] = static_cast<int32_t>((first + i) % k);
      imgs[static_cast<size_t>(i)] = synthetic_image(seed, labels[static_cast<size_t>(i)], first + i, size);
    }
    std::vector<uint8_t> raw;
    for (auto& img : imgs) {
      stats.add(img.data(), size * size);
      if (enc == Encoding::raw) raw.insert(raw.end(), img.begin(), img.end());
      else img = encode_jpeg(img.data(), static_cast<int>(size), static_cast<int>(size), vm["quality"].as<int>());
    }
    char name[32];
    std::snprintf(name, sizeof name, "shard-%05zu.h5", ix.shards.size());
    if (enc == Encoding::raw) write_raw_shard((out / name).string(), size, raw, labels, vm["chunk-images"].as<int64_t>());
    else write_jpeg_shard((out / name).string(), size, imgs, labels);
    ix.shards.push_back(name);
    ix.counts.push_back(m);
    ix.num_samples += m;
    progress.update(ix.num_samples);
  }
  progress.update(ix.num_samples, true);
  stats.finish(&ix.mean, &ix.eigval, &ix.eigvec);
  ix.save();
  std::printf("synth: %lld images of %lld classes in %zu shards in %s\n", static_cast<long long>(n),
              static_cast<long long>(k), ix.shards.size(), out.string().c_str());
  return 0;
}

int shards_inspect(const std::vector<std::string>& args) {
  po::options_description desc("shards inspect options");
  desc.add_options()("dir", po::value<std::string>()->required(), "the shard set folder")
      ("decode", "also decode every JPEG (slow)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  try {
    po::options_description all(desc);
    all.add_options()("help,h", "show this help");
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::printf("Usage: alexnet shards inspect DIR [--decode]\n");
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string("alexnet shards inspect: ") + e.what());
  }
  const ShardIndex ix = ShardIndex::load(vm["dir"].as<std::string>());
  ShardReader reader(ix);  // opens and checks every shard
  std::printf("shard set %s: format %lld, %s, %lldx%lld images\n", ix.dir.c_str(), static_cast<long long>(kShardFormatVersion),
              encoding_name(ix.encoding), static_cast<long long>(ix.image_size), static_cast<long long>(ix.image_size));
  std::printf("  %lld samples in %zu shards, %lld classes (%s%s)\n", static_cast<long long>(ix.num_samples), ix.shards.size(),
              static_cast<long long>(ix.num_classes), ix.class_names.front().c_str(), ix.num_classes > 1 ? ", ..." : "");
  std::printf("  mean RGB %.2f %.2f %.2f; PCA eigenvalues %.2f %.2f %.2f\n", ix.mean[0], ix.mean[1], ix.mean[2],
              ix.eigval[0], ix.eigval[1], ix.eigval[2]);
  std::vector<int64_t> per_class(static_cast<size_t>(ix.num_classes), 0);
  for (int64_t i = 0; i < ix.num_samples; ++i) ++per_class[static_cast<size_t>(reader.label(i))];
  const auto [mn, mx] = std::minmax_element(per_class.begin(), per_class.end());
  std::printf("  samples per class: min %lld, max %lld\n", static_cast<long long>(*mn), static_cast<long long>(*mx));
  if (vm.count("decode") && ix.encoding == Encoding::jpeg) {
    std::vector<uint8_t> bytes;
    for (int64_t i = 0; i < ix.num_samples; ++i) {
      reader.read(i, &bytes);
      const RgbImage img = decode_image(bytes.data(), bytes.size(), "sample " + std::to_string(i));
      ALEXNET_CHECK(img.width == ix.image_size && img.height == ix.image_size, "sample " << i << " has the wrong size");
    }
  }
  std::printf("  every shard checked: counts, shapes, types, labels in range%s: ok\n",
              vm.count("decode") ? ", every image decoded" : "");
  return 0;
}

}  // namespace

int cmd_shards(const std::vector<std::string>& args) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) return 0;  // a single-process tool
  const std::string sub = args.empty() ? "" : args[0];
  const std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "import") return shards_import(rest);
  if (sub == "synth") return shards_synth(rest);
  if (sub == "inspect") return shards_inspect(rest);
  throw UsageError("Usage: alexnet shards import|synth|inspect [options]  (alexnet shards <sub> --help)" +
                   (sub.empty() ? std::string() : "\nunknown subcommand '" + sub + "'"));
}

}  // namespace alexnet
