// JPEG and PNG decoding, JPEG encoding, resizing (see image_codec.h).
#include "io/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace alexnet {

bool is_jpeg(const uint8_t* d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }
bool is_png(const uint8_t* d, size_t n) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return n >= 8 && std::memcmp(d, sig, 8) == 0;
}

namespace {

struct TjHandle {
  tjhandle h;
  explicit TjHandle(bool compress) : h(compress ? tjInitCompress() : tjInitDecompress()) {
    if (!h) throw Error("libjpeg-turbo: cannot create a handle");
  }
  ~TjHandle() { tjDestroy(h); }
};

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& what) {
  TjHandle tj(false);
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, data, static_cast<unsigned long>(size), &w, &h, &subsamp, &colorspace) != 0)
    throw Error(what + ": not a decodable JPEG (" + tjGetErrorStr2(tj.h) + ")");
  if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide || int64_t{w} * h > kMaxImagePixels)
    throw Error(what + ": JPEG of " + std::to_string(w) + " x " + std::to_string(h) + " pixels, over the limit of " +
                std::to_string(kMaxImagePixels) + " pixels");
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    std::vector<uint8_t> cmyk(static_cast<size_t>(w) * h * 4);
    if (tjDecompress2(tj.h, data, static_cast<unsigned long>(size), cmyk.data(), w, 0, h, TJPF_CMYK, 0) != 0)
      throw Error(what + ": cannot decode CMYK JPEG (" + tjGetErrorStr2(tj.h) + ")");
    // Adobe writes inverted CMYK (as nearly every CMYK JPEG is): R = C*K/255 on the stored values.
    for (size_t i = 0, n = static_cast<size_t>(w) * h; i < n; ++i) {
      const unsigned k = cmyk[4 * i + 3];
      for (int c = 0; c < 3; ++c) img.pixels[3 * i + c] = static_cast<uint8_t>(cmyk[4 * i + c] * k / 255);
    }
    return img;
  }
  if (tjDecompress2(tj.h, data, static_cast<unsigned long>(size), img.pixels.data(), w, 0, h, TJPF_RGB, 0) != 0 &&
      tjGetErrorCode(tj.h) == TJERR_FATAL)
    throw Error(what + ": cannot decode JPEG (" + tjGetErrorStr2(tj.h) + ")");
  return img;
}

struct PngRead {
  const uint8_t* data;
  size_t size, pos;
  char error[200];  // libpng's message, for ours (libpng itself prints nothing)
};

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& what) {
  PngRead src{data, size, 0, "unknown error"};
  png_structp png = png_create_read_struct(
      PNG_LIBPNG_VER_STRING, &src,
      [](png_structp p, png_const_charp msg) {
        auto* s = static_cast<PngRead*>(png_get_error_ptr(p));
        std::snprintf(s->error, sizeof s->error, "%s", msg);
        png_longjmp(p, 1);
      },
      [](png_structp, png_const_charp) {});
  if (!png) throw Error("libpng: cannot create a reader");
  png_infop info = png_create_info_struct(png);
  RgbImage img;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error(what + ": not a decodable PNG (" + src.error + ")");
  }
  png_set_read_fn(png, &src, [](png_structp p, png_bytep out, png_size_t n) {
    auto* s = static_cast<PngRead*>(png_get_io_ptr(p));
    if (s->pos + n > s->size) png_error(p, "truncated");
    std::memcpy(out, s->data + s->pos, n);
    s->pos += n;
  });
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (w == 0 || h == 0 || w > kMaxImageSide || h > kMaxImageSide || int64_t{w} * h > kMaxImagePixels) {
    char msg[120];  // no std::string here: png_error jumps over destructors
    std::snprintf(msg, sizeof msg, "size %u x %u, over the limit of %lld pixels", static_cast<unsigned>(w),
                  static_cast<unsigned>(h), static_cast<long long>(kMaxImagePixels));
    png_error(png, msg);
  }
  png_set_expand(png);    // palette, grey < 8 bits, tRNS
  png_set_strip_16(png);  // 16 -> 8 bits
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3) png_error(png, "unsupported channel layout");
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = img.pixels.data() + static_cast<size_t>(y) * w * 3;
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return img;
}

// One axis of a separable resample: weights of the source pixels for every output pixel.
struct Taps {
  std::vector<int> first;
  std::vector<std::vector<float>> w;
};

Taps taps(int in, int out, double scale_offset, double scale) {
  // out pixel o covers source [ (o + 0.5) / scale - 0.5 ] with a triangle filter whose support
  // grows with the downscale factor (antialiasing, as PIL's BILINEAR).
  Taps t;
  const double support = std::max(1.0, 1.0 / scale);
  for (int o = 0; o < out; ++o) {
    const double center = (o + 0.5 + scale_offset) / scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support)));
    const int hi = std::min(in - 1, static_cast<int>(std::ceil(center + support)));
    std::vector<float> w;
    double sum = 0;
    for (int i = lo; i <= hi; ++i) {
      const double x = std::fabs((i + 0.5 - center) / support);
      const double v = x < 1 ? 1 - x : 0;
      w.push_back(static_cast<float>(v));
      sum += v;
    }
    if (sum <= 0) {  // degenerate: nearest
      w.assign(w.size(), 0.f);
      w[std::min<size_t>(w.size() - 1, static_cast<size_t>(center - lo))] = 1.f;
      sum = 1;
    }
    for (auto& v : w) v = static_cast<float>(v / sum);
    t.first.push_back(lo);
    t.w.push_back(std::move(w));
  }
  return t;
}

}  // namespace

RgbImage decode_image(const uint8_t* data, size_t size, const std::string& what) {
  if (is_jpeg(data, size)) return decode_jpeg(data, size, what);
  if (is_png(data, size)) return decode_png(data, size, what);
  throw Error(what + ": neither JPEG nor PNG");
}

std::vector<uint8_t> encode_jpeg(const uint8_t* rgb, int width, int height, int quality) {
  TjHandle tj(true);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj.h, rgb, width, 0, height, TJPF_RGB, &buf, &size, TJSAMP_420, quality, TJFLAG_ACCURATEDCT) != 0)
    throw Error(std::string("JPEG encoding failed: ") + tjGetErrorStr2(tj.h));
  std::vector<uint8_t> out(buf, buf + size);
  tjFree(buf);
  return out;
}

RgbImage resize_shorter_and_crop(const RgbImage& in, int size) {
  const double scale = static_cast<double>(size) / std::min(in.width, in.height);
  const int rw = std::max(size, static_cast<int>(std::lround(in.width * scale)));
  const int rh = std::max(size, static_cast<int>(std::lround(in.height * scale)));
  const int ox = (rw - size) / 2, oy = (rh - size) / 2;  // centre crop offsets in the resized image
  // Only the cropped window is computed: output pixel o of the crop is resized pixel o + offset.
  const Taps tx = taps(in.width, size, ox, static_cast<double>(rw) / in.width);
  const Taps ty = taps(in.height, size, oy, static_cast<double>(rh) / in.height);
  // Horizontal pass into floats (rows x size), then vertical.
  std::vector<float> mid(static_cast<size_t>(in.height) * size * 3);
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < size; ++x) {
      float acc[3] = {0, 0, 0};
      const auto& w = tx.w[x];
      const uint8_t* row = in.pixels.data() + (static_cast<size_t>(y) * in.width + tx.first[x]) * 3;
      for (size_t k = 0; k < w.size(); ++k)
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * row[3 * k + c];
      for (int c = 0; c < 3; ++c) mid[(static_cast<size_t>(y) * size + x) * 3 + c] = acc[c];
    }
  RgbImage out;
  out.width = out.height = size;
  out.pixels.resize(static_cast<size_t>(size) * size * 3);
  for (int y = 0; y < size; ++y) {
    const auto& w = ty.w[y];
    for (int x = 0; x < size; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (size_t k = 0; k < w.size(); ++k) acc += w[k] * mid[((ty.first[y] + k) * size + x) * 3 + c];
        out.pixels[(static_cast<size_t>(y) * size + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  }
  return out;
}

}  // namespace alexnet
