// ImageNet-style folders into shard sets (see imagenet.h).
#include "io/imagenet.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/random.h"
#include "core/text.h"
#include "io/color_stats.h"
#include "io/image_codec.h"
#include "io/progress.h"

namespace fs = std::filesystem;

namespace alexnet {
namespace {

struct Item {
  fs::path path;
  int32_t label;
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

// Items [first, first + n) decoded, resized, cropped and encoded for the shard, by `threads`
// threads; per item the bytes, or the error that stopped it.
struct DecodedShard {
  std::vector<std::vector<uint8_t>> encoded;
  std::vector<std::string> errors;  // "" where the item decoded
  ColorStats stats;
};

DecodedShard decode_items(const std::vector<Item>& items, size_t first, size_t n, const ImportOptions& o) {
  DecodedShard d;
  d.encoded.resize(n);
  d.errors.assign(n, "");
  std::vector<ColorStats> part(static_cast<size_t>(o.threads));
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < o.threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i; (i = next++) < n;) {
        const Item& it = items[first + i];
        try {
          const auto bytes = read_file(it.path);
          const RgbImage img = resize_shorter_and_crop(decode_image(bytes.data(), bytes.size(), it.path.string()),
                                                       static_cast<int>(o.size));
          part[static_cast<size_t>(t)].add(img.pixels.data(), o.size * o.size);
          d.encoded[i] = o.encoding == Encoding::raw ? img.pixels
                                                     : encode_jpeg(img.pixels.data(), img.width, img.height, o.quality);
        } catch (const std::exception& e) {
          d.errors[i] = e.what();
          if (d.errors[i].empty()) d.errors[i] = it.path.string() + ": unknown error";
        }
      }
    });
  for (auto& th : pool) th.join();
  for (auto& p : part) d.stats.merge(p);
  return d;
}

// Writes one shard of the decoded items into ix (skipping, or refusing with strict, the failures).
void write_shard(const std::vector<Item>& items, size_t first, DecodedShard& d, const ImportOptions& o,
                 const fs::path& out, ShardIndex& ix, ImportResult& res) {
  std::vector<int32_t> labels;
  std::vector<std::vector<uint8_t>> kept;
  std::vector<uint8_t> raw;
  for (size_t i = 0; i < d.encoded.size(); ++i) {
    if (!d.errors[i].empty()) {
      if (o.strict) throw Error("cannot import " + d.errors[i] + " (--strict)");
      LOG_WARN << "skipped: " << d.errors[i];
      res.bad.push_back(items[first + i].path.string());
      ++res.skipped;
      continue;
    }
    labels.push_back(items[first + i].label);
    if (o.encoding == Encoding::raw)
      raw.insert(raw.end(), d.encoded[i].begin(), d.encoded[i].end());
    else
      kept.push_back(std::move(d.encoded[i]));
  }
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05zu.h5", ix.shards.size());
  if (o.encoding == Encoding::raw)
    write_raw_shard((out / name).string(), o.size, raw, labels);
  else
    write_jpeg_shard((out / name).string(), o.size, kept, labels);
  ix.shards.push_back(name);
  ix.counts.push_back(static_cast<int64_t>(labels.size()));
  ix.num_samples += static_cast<int64_t>(labels.size());
  res.written += static_cast<int64_t>(labels.size());
}

// A shard set of `items` in `out`. Validation sets take the mean and PCA of `stats_from`.
ImportResult write_set(const std::vector<Item>& items, const fs::path& out, const ImportOptions& o,
                       const std::vector<std::string>& classes, const ShardIndex* stats_from, const std::string& what) {
  fs::create_directories(out);
  ShardIndex ix;
  ix.dir = out.string();
  ix.encoding = o.encoding;
  ix.image_size = o.size;
  ix.num_classes = static_cast<int64_t>(classes.size());
  ix.class_names = classes;
  ColorStats total;
  ImportResult res;
  Progress progress(what, static_cast<int64_t>(items.size()));
  for (size_t first = 0; first < items.size(); first += static_cast<size_t>(o.per_shard)) {
    const size_t n = std::min(items.size() - first, static_cast<size_t>(o.per_shard));
    DecodedShard d = decode_items(items, first, n, o);
    total.merge(d.stats);
    write_shard(items, first, d, o, out, ix, res);
    progress.update(static_cast<int64_t>(first + n));
  }
  progress.update(static_cast<int64_t>(items.size()), true);
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

// The training images, class by class in sorted file order, then shuffled by the seed so that
// reading shards in order does not read one class at a time.
std::vector<Item> train_items(const fs::path& train, const std::vector<std::string>& classes, uint64_t seed) {
  std::vector<Item> items;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(train / classes[c]))
      if (e.is_regular_file() && image_file(e.path())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (auto& f : files) items.push_back({f, static_cast<int32_t>(c)});
  }
  ALEXNET_CHECK(!items.empty(), train.string() << " holds no .JPEG/.jpg/.png files");
  for (size_t i = items.size() - 1; i > 0; --i) std::swap(items[i], items[mix64(seed ^ mix64(i)) % (i + 1)]);
  return items;
}

// The class of a label: a class folder name, or an index among the sorted classes.
class ClassNames {
 public:
  explicit ClassNames(const std::vector<std::string>& classes) : count_(classes.size()) {
    for (size_t i = 0; i < classes.size(); ++i) by_name_[classes[i]] = static_cast<int32_t>(i);
  }
  int32_t of(const std::string& c, const std::string& where) const {
    auto it = by_name_.find(c);
    if (it != by_name_.end()) return it->second;
    const auto v = parse_int(c);
    ALEXNET_CHECK(
        v && *v >= 0 && *v < static_cast<int64_t>(count_),
        where << ": class '" << c << "' is neither a class folder name nor an index in [0, " << count_ << ")");
    return static_cast<int32_t>(*v);
  }

 private:
  std::map<std::string, int32_t> by_name_;
  size_t count_;
};

std::vector<std::string> nonempty_lines(const fs::path& file, const std::string& what) {
  std::ifstream f(file);
  ALEXNET_CHECK(f, "cannot read " << what << file.string());
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

// "file,class" lines (an optional header line "file,..." or "filename,...").
std::vector<Item> csv_items(const fs::path& val, const fs::path& labels_file, const std::vector<std::string>& lines,
                            const ClassNames& names) {
  std::vector<Item> items;
  for (size_t k = 0; k < lines.size(); ++k) {
    const auto comma = lines[k].find(',');
    const std::string where = labels_file.string() + ":" + std::to_string(k + 1);
    ALEXNET_CHECK(comma != std::string::npos, where << ": expected file,class");
    const std::string file = lines[k].substr(0, comma), cls = lines[k].substr(comma + 1);
    if (k == 0 && (file == "file" || file == "filename")) continue;  // a header
    items.push_back({val / file, names.of(cls, where)});
  }
  return items;
}

// The devkit's ground truth: one 1-based id per sorted file name; id k is the k-th synset of the
// devkit's list when given, else the k-th sorted class.
std::vector<Item> devkit_items(const fs::path& val, const fs::path& labels_file, const std::vector<std::string>& lines,
                               const ClassNames& names, size_t classes, const fs::path& devkit_synsets) {
  std::vector<std::string> devkit;
  if (!devkit_synsets.empty())
    for (const std::string& l : nonempty_lines(devkit_synsets, "the devkit's synsets "))
      devkit.push_back(l.substr(0, l.find_first_of(" \t,")));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(val))
    if (e.is_regular_file() && image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ALEXNET_CHECK(files.size() == lines.size(), labels_file.string() << " has " << lines.size() << " labels for "
                                                                   << files.size() << " images in " << val.string());
  std::vector<Item> items;
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string where = labels_file.string() + ":" + std::to_string(k + 1);
    const auto id = parse_int(lines[k]);
    ALEXNET_CHECK(id && *id >= 1, where << ": '" << lines[k] << "' is not a 1-based class id");
    if (!devkit.empty()) {
      ALEXNET_CHECK(*id <= static_cast<int64_t>(devkit.size()),
                    where << ": id " << *id << " beyond " << devkit_synsets.string());
      items.push_back({files[k], names.of(devkit[static_cast<size_t>(*id - 1)], where)});
    } else {
      ALEXNET_CHECK(*id <= static_cast<int64_t>(classes),
                    where << ": id " << *id << " beyond " << classes << " classes");
      items.push_back({files[k], static_cast<int32_t>(*id - 1)});
    }
  }
  return items;
}

std::vector<Item> val_items(const ImportOptions& o, const std::vector<std::string>& classes) {
  const std::vector<std::string> lines = nonempty_lines(o.val_labels, "the validation labels ");
  const ClassNames names(classes);
  if (!lines.empty() && lines[0].find(',') != std::string::npos) return csv_items(o.val, o.val_labels, lines, names);
  return devkit_items(o.val, o.val_labels, lines, names, classes.size(), o.devkit_synsets);
}

}  // namespace

ImportSummary import_imagenet(const ImportOptions& o) {
  ALEXNET_CHECK(fs::is_directory(o.train), o.train << " is not a folder");
  ALEXNET_CHECK(o.threads >= 1 && o.per_shard >= 1 && o.size >= 1,
                "import: threads, images per shard and size must be positive");
  ImportSummary s;
  const auto classes = sorted_class_folders(o.train);
  s.classes = static_cast<int64_t>(classes.size());
  const std::vector<Item> items = train_items(o.train, classes, o.seed);
  const fs::path out = o.out;
  LOG_INFO << "shards import: " << items.size() << " training images in " << classes.size() << " classes -> "
           << (out / "train").string() << " (" << encoding_name(o.encoding) << ", " << o.size << "px, " << o.per_shard
           << " per shard, " << o.threads << " threads)";
  s.train = write_set(items, out / "train", o, classes, nullptr, "train");
  if (!o.val.empty()) {
    const ShardIndex train_ix = ShardIndex::load((out / "train").string());
    s.val = write_set(val_items(o, classes), out / "val", o, classes, &train_ix, "val");
  }
  return s;
}

}  // namespace alexnet
