// `alexnet shards import|synth|inspect`: build shard sets from ImageNet-style folders or
// synthetically, and check them (see io/FORMAT.md).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/options.h"
#include "io/image_codec.h"
#include "io/imagenet.h"
#include "io/shards.h"
#include "io/synthetic.h"
#include "parallel/mpi_check.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace alexnet {

namespace {

int shards_import(const std::vector<std::string>& args) {
  po::options_description desc("shards import options");
  // clang-format off
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
      ("strict", po::bool_switch(), "a file that cannot be decoded is fatal (default: reported and skipped)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options("shards import", desc, args, vm)) return 0;
  ImportOptions o;
  as_usage_error([&] {
    o.train = vm["train"].as<std::string>();
    o.out = vm["out"].as<std::string>();
    o.size = vm["size"].as<int64_t>();
    o.per_shard = vm["per-shard"].as<int64_t>();
    o.quality = vm["quality"].as<int>();
    o.encoding = parse_encoding(vm["encoding"].as<std::string>());
    o.seed = vm["seed"].as<uint64_t>();
    o.strict = vm["strict"].as<bool>();
    const int threads = vm["threads"].as<int>();
    ALEXNET_CHECK(fs::is_directory(o.train), "--train " << o.train << " is not a folder");
    ALEXNET_CHECK(o.size >= 1 && o.size <= 4096, "--size must be in [1, 4096]");
    ALEXNET_CHECK(o.per_shard >= 1, "--per-shard must be at least 1");
    ALEXNET_CHECK(o.quality >= 1 && o.quality <= 100, "--quality must be in [1, 100]");
    ALEXNET_CHECK(!vm.count("val") == !vm.count("val-labels"), "--val and --val-labels go together");
    ALEXNET_CHECK(threads >= 0, "--threads must be >= 0");
    o.threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (vm.count("val")) o.val = vm["val"].as<std::string>(), o.val_labels = vm["val-labels"].as<std::string>();
    if (vm.count("devkit-synsets")) o.devkit_synsets = vm["devkit-synsets"].as<std::string>();
    return 0;
  });
  const ImportSummary r = import_imagenet(o);
  std::printf("train: %lld images written, %lld skipped%s\n", static_cast<long long>(r.train.written),
              static_cast<long long>(r.train.skipped), r.train.skipped ? " (listed above)" : "");
  if (!o.val.empty())
    std::printf("val: %lld images written, %lld skipped\n", static_cast<long long>(r.val.written),
                static_cast<long long>(r.val.skipped));
  return 0;
}

int shards_synth(const std::vector<std::string>& args) {
  po::options_description desc("shards synth options");
  // clang-format off
  desc.add_options()
      ("out", po::value<std::string>()->required(), "output folder (the shard set)")
      ("samples", po::value<int64_t>()->default_value(2048), "images")
      ("classes", po::value<int64_t>()->default_value(10), "classes (labels cycle through them)")
      ("size", po::value<int64_t>()->default_value(256), "image side")
      ("per-shard", po::value<int64_t>()->default_value(512), "images per shard file")
      ("encoding", po::value<std::string>()->default_value("raw"), "raw or jpeg")
      ("quality", po::value<int>()->default_value(90), "JPEG quality")
      ("chunk-images", po::value<int64_t>()->default_value(1), "raw: images per HDF5 chunk (0: contiguous; for measurements)")
      ("seed", po::value<uint64_t>()->default_value(1), "seed (the classes' colours and patterns)")
      ("first-sample", po::value<int64_t>()->default_value(0), "number of the first image: a set made with the same seed and "
                                                               "--first-sample past another's end is a held-out set of the same classes");
  // clang-format on
  po::variables_map vm;
  if (!parse_options("shards synth", desc, args, vm)) return 0;
  SynthSetOptions o;
  as_usage_error([&] {
    o.out = vm["out"].as<std::string>();
    o.samples = vm["samples"].as<int64_t>(), o.classes = vm["classes"].as<int64_t>();
    o.size = vm["size"].as<int64_t>(), o.per_shard = vm["per-shard"].as<int64_t>();
    o.encoding = parse_encoding(vm["encoding"].as<std::string>());
    o.quality = vm["quality"].as<int>();
    o.chunk_images = vm["chunk-images"].as<int64_t>();
    o.seed = vm["seed"].as<uint64_t>();
    o.first_sample = vm["first-sample"].as<int64_t>();
    ALEXNET_CHECK(o.samples >= 1 && o.classes >= 1 && o.size >= 1 && o.size <= 4096 && o.per_shard >= 1,
                  "--samples, --classes, --per-shard must be positive and --size in [1, 4096]");
    ALEXNET_CHECK(o.first_sample >= 0, "--first-sample must not be negative, got " << o.first_sample);
    return 0;
  });
  const ShardIndex ix = write_synthetic_set(o);
  std::printf("synth: %lld images of %lld classes in %zu shards in %s\n", static_cast<long long>(o.samples),
              static_cast<long long>(o.classes), ix.shards.size(), o.out.c_str());
  return 0;
}

int shards_inspect(const std::vector<std::string>& args) {
  po::options_description desc("shards inspect options");
  // clang-format off
  desc.add_options()("dir", po::value<std::string>()->required(), "the shard set folder")
      ("decode", po::bool_switch(), "also decode every JPEG (slow)");
  // clang-format on
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
  std::printf("shard set %s: format %lld, %s, %lldx%lld images\n", ix.dir.c_str(),
              static_cast<long long>(kShardFormatVersion), encoding_name(ix.encoding),
              static_cast<long long>(ix.image_size), static_cast<long long>(ix.image_size));
  std::printf("  %lld samples in %zu shards, %lld classes (%s%s)\n", static_cast<long long>(ix.num_samples),
              ix.shards.size(), static_cast<long long>(ix.num_classes), ix.class_names.front().c_str(),
              ix.num_classes > 1 ? ", ..." : "");
  std::printf("  mean RGB %.2f %.2f %.2f; PCA eigenvalues %.2f %.2f %.2f\n", ix.mean[0], ix.mean[1], ix.mean[2],
              ix.eigval[0], ix.eigval[1], ix.eigval[2]);
  std::vector<int64_t> per_class(static_cast<size_t>(ix.num_classes), 0);
  for (int64_t i = 0; i < ix.num_samples; ++i) ++per_class[static_cast<size_t>(reader.label(i))];
  const auto [mn, mx] = std::minmax_element(per_class.begin(), per_class.end());
  std::printf("  samples per class: min %lld, max %lld\n", static_cast<long long>(*mn), static_cast<long long>(*mx));
  if (vm["decode"].as<bool>() && ix.encoding == Encoding::jpeg) {
    std::vector<uint8_t> bytes;
    for (int64_t i = 0; i < ix.num_samples; ++i) {
      reader.read(i, &bytes);
      const RgbImage img = decode_image(bytes.data(), bytes.size(), "sample " + std::to_string(i));
      ALEXNET_CHECK(img.width == ix.image_size && img.height == ix.image_size, "sample " << i << " has the wrong size");
    }
  }
  std::printf("  every shard checked: counts, shapes, types, labels in range%s: ok\n",
              vm["decode"].as<bool>() ? ", every image decoded" : "");
  return 0;
}

}  // namespace

int cmd_shards(const std::vector<std::string>& args) {
  int rank = 0;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
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
