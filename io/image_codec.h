// Image decoding and encoding with well-kept libraries: JPEG through libjpeg-turbo (greyscale and
// CMYK become RGB), PNG through libpng (palette, grey, 16-bit and alpha become 8-bit RGB). Errors
// name the file. Thread-safe (a handle per call).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace alexnet {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // HWC, 3 channels
};

// What a file may declare: each side at most kMaxImageSide and at most kMaxImagePixels pixels in all
// (a 402 MB RGB buffer; 16384 x 8192), checked before anything is allocated.
constexpr int64_t kMaxImageSide = 65535, kMaxImagePixels = int64_t{1} << 27;

// Decodes JPEG or PNG bytes (by their signature). `what` names the source in errors.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& what);
bool is_jpeg(const uint8_t* data, size_t size);
bool is_png(const uint8_t* data, size_t size);

// JPEG-encodes an RGB image (HWC) at `quality`.
std::vector<uint8_t> encode_jpeg(const uint8_t* rgb, int width, int height, int quality);

// Resizes so that the shorter side is `size` (area-averaging, antialiased for downscaling; a
// triangle filter for upscaling), then crops the centre `size` x `size`.
RgbImage resize_shorter_and_crop(const RgbImage& in, int size);

}  // namespace alexnet
