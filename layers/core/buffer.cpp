// Buffer allocation and copies for host, pinned and device memory (see buffer.h).
#include "core/buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "core/error.h"

#ifdef ALEXNET_HAVE_CUDA
#include "core/gpu.h"
#endif

namespace alexnet {

namespace {
constexpr std::size_t kAlign = 64;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
}  // namespace

Buffer::Buffer(std::size_t bytes, Device device, bool pinned) : bytes_(bytes), device_(device), pinned_(false) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
#ifdef ALEXNET_HAVE_CUDA
    if (pinned) {
      CUDA_CHECK(cudaHostAlloc(&data_, bytes, cudaHostAllocPortable));
      pinned_ = true;
    }
#else
    (void)pinned;
#endif
    if (!data_) {
      data_ = std::aligned_alloc(kAlign, round_up(bytes, kAlign));
      if (!data_) throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes");
    }
    std::memset(data_, 0, bytes);
  } else {
#ifdef ALEXNET_HAVE_CUDA
    CUDA_CHECK(cudaSetDevice(device.index));
    CUDA_CHECK(cudaMalloc(&data_, bytes));
    CUDA_CHECK(cudaMemset(data_, 0, bytes));
#else
    throw Error("cannot allocate on " + device.str() + ": this build has no CUDA backend");
#endif
  }
}

void Buffer::release() noexcept {
  if (!data_) return;
  if (device_.is_cpu() && !pinned_) {
    std::free(data_);
  } else {
#ifdef ALEXNET_HAVE_CUDA
    // Destructors never throw: a failing free is ignored (the context is going away anyway).
    if (pinned_)
      cudaFreeHost(data_);
    else
      cudaFree(data_);
#endif
  }
  data_ = nullptr;
  bytes_ = 0;
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)),
      device_(o.device_),
      pinned_(o.pinned_) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    device_ = o.device_;
    pinned_ = o.pinned_;
  }
  return *this;
}

Tensor Buffer::tensor(const Shape& shape, Layout layout, DType dtype, std::size_t offset_bytes) const {
  Tensor t{nullptr, shape, layout, dtype, device_};
  ALEXNET_CHECK(layout_fits(shape, layout),
                "a tensor of shape " << shape.str() << " cannot be stored " << layout_name(layout));
  ALEXNET_CHECK(offset_bytes + t.bytes() <= bytes_, "a view of " << t.bytes() << " bytes at offset " << offset_bytes
                                                                 << " does not fit a buffer of " << bytes_ << " bytes");
  t.data = static_cast<char*>(data_) + offset_bytes;
  return t;
}

OwnedTensor::OwnedTensor(const Shape& shape, Device device, Layout layout, DType dtype, bool pinned)
    : buffer(static_cast<std::size_t>(shape.numel()) * dtype_size(dtype), device, pinned),
      view(buffer.tensor(shape, layout, dtype)) {}

void copy(const Tensor& dst, const Tensor& src) {
  ALEXNET_CHECK(dst.numel() == src.numel() && dst.dtype == src.dtype,
                "copy: " << src.str() << " does not fit " << dst.str());
  if (src.bytes() == 0) return;
  if (dst.device.is_cpu() && src.device.is_cpu()) {
    std::memcpy(dst.data, src.data, src.bytes());
    return;
  }
#ifdef ALEXNET_HAVE_CUDA
  // On the stream of the GPU involved (the destination's when both are GPUs), after the work
  // queued there; a source on another GPU is waited for first. Then wait for the copy itself.
  const Device& on = dst.device.is_cuda() ? dst.device : src.device;
  if (src.device.is_cuda() && src.device != on) synchronize(src.device);
  const cudaStream_t stream = gpu::stream(on);
  CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, src.bytes(), cudaMemcpyDefault, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
#else
  throw Error("copy between " + src.device.str() + " and " + dst.device.str() + ": this build has no CUDA backend");
#endif
}

void copy_async(const Tensor& dst, const Tensor& src) {
  ALEXNET_CHECK(dst.numel() == src.numel() && dst.dtype == src.dtype,
                "copy: " << src.str() << " does not fit " << dst.str());
  if (src.bytes() == 0 || dst.data == src.data) return;
  if (dst.device.is_cpu() && src.device.is_cpu()) {
    std::memcpy(dst.data, src.data, src.bytes());
    return;
  }
#ifdef ALEXNET_HAVE_CUDA
  ALEXNET_CHECK(dst.device.is_cpu() || src.device.is_cpu() || dst.device == src.device,
                "copy_async between two GPUs (" << src.device.str() << " -> " << dst.device.str() << ")");
  const cudaStream_t stream = gpu::stream(dst.device.is_cuda() ? dst.device : src.device);
  CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, src.bytes(), cudaMemcpyDefault, stream));
#else
  throw Error("copy between " + src.device.str() + " and " + dst.device.str() + ": this build has no CUDA backend");
#endif
}

Tensor host_view(const Tensor& t, OwnedTensor& staging) {
  if (t.device.is_cpu()) return t;
  staging = OwnedTensor(t.shape, Device::cpu(), t.layout, t.dtype);
  copy(staging.view, t);
  return staging.view;
}

std::vector<float> host_floats(const Tensor& t) {
  OwnedTensor staging;
  const Tensor h = host_view(t, staging);
  std::vector<float> out(static_cast<size_t>(h.numel()));
  if (h.dtype == DType::f32) {
    std::copy(h.f32(), h.f32() + h.numel(), out.begin());
  } else {
    ALEXNET_CHECK(h.dtype == DType::bf16, "host_floats: " << t.str() << " holds no floating-point values");
    const auto* s = static_cast<const uint16_t*>(h.data);
    for (size_t i = 0; i < out.size(); ++i) out[i] = bf16_value(s[i]);
  }
  return out;
}

}  // namespace alexnet
