// A tiny kernel run on a GPU to prove that the code compiled into this build runs there (the
// architectures match and the driver is new enough): y = a * x + y over a few thousand elements,
// checked on the host.
#pragma once

#include <string>

namespace alexnet {

// Empty string on success, otherwise what went wrong. Throws nothing. Without CUDA: a message.
std::string cuda_selftest(int device);

}  // namespace alexnet
