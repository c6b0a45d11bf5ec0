// Fuzz target: image decoding as `shards import` and the loader call it (JPEG and PNG by their
// signature: truncations, CMYK, palettes, grey, 16 bits, huge declared sizes), then the resize
// import applies. Raw bytes; seeds in corpus/image.
#include <cstdint>

#include "core/error.h"
#include "io/image_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace alexnet;
  try {
    const RgbImage img = decode_image(data, size, "fuzz input");
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3) __builtin_trap();
    if (static_cast<int64_t>(img.width) * img.height <= 4096 * 4096) {
      const RgbImage out = resize_shorter_and_crop(img, 17);
      if (out.width != 17 || out.height != 17 || out.pixels.size() != 17 * 17 * 3) __builtin_trap();
    }
  } catch (const Error&) {}
  return 0;
}
