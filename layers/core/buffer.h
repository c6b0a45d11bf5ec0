// Buffer: the one owner of memory (host, pinned host or device), move-only. Host memory is
// 64-byte aligned and touched (zeroed) when allocated, so no page faults land inside a step.
#pragma once

#include <cstddef>
#include <vector>

#include "core/tensor.h"

namespace alexnet {

class Buffer {
 public:
  Buffer() = default;
  // device.is_cpu(): host memory, page-locked when `pinned` (and CUDA is built); otherwise memory
  // on that GPU. Zero-filled.
  Buffer(std::size_t bytes, Device device, bool pinned = false);
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

  // A view of part of this buffer; throws Error when it does not fit.
  Tensor tensor(const Shape& shape, Layout layout = Layout::nchw, DType dtype = DType::f32,
                std::size_t offset_bytes = 0) const;

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

// A Buffer holding exactly one tensor of the given shape.
struct OwnedTensor {
  Buffer buffer;
  Tensor view;
  OwnedTensor() = default;
  OwnedTensor(const Shape& shape, Device device, Layout layout = Layout::nchw, DType dtype = DType::f32,
              bool pinned = false);
  const Tensor& operator*() const { return view; }
  const Tensor* operator->() const { return &view; }
};

// Copies src into dst (same element count and dtype; any pair of devices). Synchronous: returns
// when the copy is done, after the GPU work queued before it.
void copy(const Tensor& dst, const Tensor& src);

// Queues the copy on the GPU's stream (no host wait) when a GPU is involved, in order with the
// layers queued there; a plain copy for two host tensors. Host memory should be pinned (pageable
// memory makes the driver wait). Not for two different GPUs (their streams are not ordered).
void copy_async(const Tensor& dst, const Tensor& src);

// t itself when it is in host memory, else a copy of it in `staging` (synchronous).
Tensor host_view(const Tensor& t, OwnedTensor& staging);

// The values of an f32 or bf16 tensor anywhere, as host floats in memory order (synchronous).
std::vector<float> host_floats(const Tensor& t);

}  // namespace alexnet
