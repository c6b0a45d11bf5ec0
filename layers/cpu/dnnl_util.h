// Helpers shared by the CPU (oneDNN) backends: the engine and stream, memory descriptors for our
// tensors, DNNL_CHECK, and Step: a primitive bound once to its arguments, executed through the C
// API with no allocation per call (only the data handles change between calls).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"

#define DNNL_CHECK(expr)                                                                                            \
  [&]() -> decltype(auto) {                                                                                         \
    try {                                                                                                           \
      return (expr);                                                                                                \
    } catch (const dnnl::error& alexnet_e_) {                                                                       \
      ::alexnet::throw_error(                                                                                       \
          "oneDNN",                                                                                                 \
          std::string(alexnet_e_.what()) + " (status " + std::to_string(static_cast<int>(alexnet_e_.status)) + ")", \
          #expr, __FILE__, __LINE__);                                                                               \
    }                                                                                                               \
  }()

namespace alexnet::cpu {

dnnl::engine& engine();
dnnl::stream& stream();  // one per thread

using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;

// oneDNN's data type of ours (f32 or bf16; bf16 checks that the CPU runs it: cpu_bf16_missing()).
dnnl::memory::data_type data_type(DType t);

// Descriptor of a tensor shape: 4-D in its layout, 2-D row-major, 1-D plain; f32 unless told.
dnnl::memory::desc md(const Shape& s, Layout layout = Layout::nchw, DType t = DType::f32);
dnnl::memory::desc md(const dims& d, tag t, DType type = DType::f32);

// A memory object with no data yet; bind() points it at a tensor before each run.
dnnl::memory unbound(const dnnl::memory::desc& d);
inline void bind(dnnl::memory& m, const void* p) { m.set_data_handle(const_cast<void*>(p)); }

// Attributes asking for a user-provided scratchpad (we own it: no allocation inside a run).
dnnl::primitive_attr scratchpad_attr();
// The same, with a ReLU post-op when relu (forward primitives that fuse the following ReLU).
dnnl::primitive_attr forward_attr(bool relu);

class Step {
 public:
  Step() = default;
  Step(dnnl::primitive prim, std::vector<std::pair<int, dnnl::memory>> args);
  void run() const;
  explicit operator bool() const { return static_cast<bool>(prim_); }

 private:
  dnnl::primitive prim_;
  std::vector<dnnl::memory> mems_;  // keeps the C handles below alive
  std::vector<dnnl_exec_arg_t> c_args_;
};

// One scratchpad for all the primitives of a layer (they never run at the same time).
class Scratchpad {
 public:
  void need(const dnnl::memory::desc& d);  // grows the required size
  void allocate();                         // once, after every need()
  // A memory object of the primitive's own scratchpad descriptor over the shared buffer.
  dnnl::memory memory_for(const dnnl::memory::desc& d) const;

 private:
  std::size_t bytes_ = 0;
  Buffer buffer_;
};

// The workspace a training forward leaves for its backward (pooling indices, LRN sums); may be
// empty, in which case no argument is passed.
class Workspace {
 public:
  Workspace() = default;
  explicit Workspace(const dnnl::memory::desc& d);
  using Args = std::vector<std::pair<int, dnnl::memory>>;
  Args with(Args args) const;  // args plus DNNL_ARG_WORKSPACE when there is one

 private:
  Buffer buffer_;
  dnnl::memory mem_;
};

// The forward and backward primitives of a layer with one input and one output (ReLU, LRN,
// pooling): a shared scratchpad, the forward's workspace for the backward, and the memories the
// two read and write. build() once; forward() and backward() then only bind and run.
class ForwardBackward {
 public:
  // src/dst: the input's and output's descriptors (dy is dst's, dx src's). bwd_reads: what the
  // backward reads besides dy and the workspace: DNNL_ARG_SRC (LRN: x), DNNL_ARG_DST (ReLU: y)
  // or 0 (pooling: nothing).
  void build(dnnl::primitive fwd, const dnnl::primitive_desc_base& fwd_pd, dnnl::primitive bwd,
             const dnnl::primitive_desc_base& bwd_pd, const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
             int bwd_reads);
  void forward(const void* x, void* y);
  // `read`: the tensor bwd_reads names (ignored when it is 0).
  void backward(const void* read, const void* dy, void* dx);

 private:
  Workspace workspace_;
  Scratchpad scratch_;
  dnnl::memory x_, y_, read_, dy_, dx_;
  Step fwd_, bwd_;
};

// Internal copy of a tensor in the layout a primitive prefers, with the reorder to (or from) the
// user's layout; a no-op when the two layouts agree.
class Relayout {
 public:
  Relayout() = default;
  Relayout(const dnnl::memory::desc& user, const dnnl::memory::desc& internal, bool to_internal);
  // The memory the primitive should use (internal copy, or the user's memory when no copy).
  dnnl::memory& primitive_memory() { return needed_ ? internal_ : user_; }
  dnnl::memory& user_memory() { return user_; }
  void run() const {
    if (needed_) step_.run();
  }
  bool needed() const { return needed_; }

 private:
  bool needed_ = false;
  dnnl::memory user_, internal_;
  Buffer storage_;
  Step step_;
};

}  // namespace alexnet::cpu
