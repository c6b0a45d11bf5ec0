// The one place a layer's backend is chosen: by the device in its configuration, once, when the
// layer is built (never by a global mode). Every layer's configuration has a `device`; its CPU
// backend is in layers/cpu (oneDNN), its CUDA backend in layers/cuda (a CUDA build; otherwise
// layers/cuda/none.cpp, which throws, though check_backend() has refused such a layer already).
#pragma once

#include <memory>

#include "core/device.h"
#include "core/error.h"

namespace alexnet::detail {

template <class Backend, class Config>
std::unique_ptr<Backend> make_backend(const Config& c, std::unique_ptr<Backend> (*cpu)(const Config&),
                                      std::unique_ptr<Backend> (*cuda)(const Config&)) {
  switch (c.device.kind) {
    case DeviceKind::cpu:
      return cpu(c);
    case DeviceKind::cuda:
      return cuda(c);
  }
  throw Error("no backend for " + c.device.str());
}

}  // namespace alexnet::detail
