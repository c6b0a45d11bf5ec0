// Shard sets from ImageNet-style image folders (`alexnet shards import`): train/<class>/*.JPEG (and
// .jpg/.png) with one folder per class, sorted class names giving the labels; optionally a flat
// validation folder labelled by a `file,class` CSV (class: a folder name or an index) or by the
// devkit's ground truth (one 1-based id per sorted file name, through the devkit's synset list).
// Images are decoded in parallel, resized (shorter side) and centre-cropped, and written shard by
// shard; a file that cannot be decoded is named and skipped, or fatal with `strict`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/shards.h"

namespace alexnet {

struct ImportOptions {
  std::string train;           // the training folder (one sub-folder per class)
  std::string out;             // writes out/train (and out/val)
  std::string val;             // "" : no validation set
  std::string val_labels;      // with val: a file,class CSV or the devkit's ground truth
  std::string devkit_synsets;  // the devkit's synsets in id order ("" : ids index the sorted classes)
  int64_t size = 256;          // shorter side resized to this, then centre-cropped square
  Encoding encoding = Encoding::jpeg;
  int quality = 90;          // JPEG quality
  int64_t per_shard = 1024;  // images per shard file
  int threads = 1;           // decoding threads
  uint64_t seed = 1;         // of the order the training images are sharded in
  bool strict = false;       // an undecodable file is fatal (else reported and skipped)
};

struct ImportResult {
  int64_t written = 0, skipped = 0;
  std::vector<std::string> bad;  // the files skipped
};

struct ImportSummary {
  int64_t classes = 0;
  ImportResult train, val;  // val: empty without a validation folder
};

// Imports the training set (and the validation set, with the training set's mean and PCA);
// progress on stderr. Throws Error naming the file or folder at fault.
ImportSummary import_imagenet(const ImportOptions& o);

}  // namespace alexnet
