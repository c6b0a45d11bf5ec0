// A thin RAII layer over cuDNN's graph (backend) API for one-operation convolution graphs: owned
// descriptors, fp32 or bf16 tensors, convolution ops (computed in float), engine candidates from
// the heuristics, execution plans and variant packs. Included only by CUDA backend sources.
#pragma once

#include <cudnn.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace alexnet::gpu {

// Owns one cudnnBackendDescriptor_t (move-only; the destructor never throws). set() and
// finalize() throw Error with cuDNN's message.
class BackendDescriptor {
 public:
  BackendDescriptor() = default;
  explicit BackendDescriptor(cudnnBackendDescriptorType_t type);
  ~BackendDescriptor();
  BackendDescriptor(BackendDescriptor&& o) noexcept;
  BackendDescriptor& operator=(BackendDescriptor&& o) noexcept;
  BackendDescriptor(const BackendDescriptor&) = delete;
  BackendDescriptor& operator=(const BackendDescriptor&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  explicit operator bool() const { return d_ != nullptr; }

  BackendDescriptor& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                         const void* values);
  BackendDescriptor& set_int64(cudnnBackendAttributeName_t name, int64_t value);
  BackendDescriptor& set_int64s(cudnnBackendAttributeName_t name, const int64_t* values, int64_t count);
  BackendDescriptor& set_descriptor(cudnnBackendAttributeName_t name, const BackendDescriptor& value);
  // The handle attributes are deprecated (optional since cuDNN 9.8): set when accepted, else ignored.
  BackendDescriptor& set_handle(cudnnBackendAttributeName_t name, cudnnHandle_t handle);

  void finalize(const std::string& what);  // throws Error naming `what`
  cudnnStatus_t try_finalize() noexcept;
  int64_t get_int64(cudnnBackendAttributeName_t name) const;

 private:
  void reset() noexcept;
  cudnnBackendDescriptor_t d_ = nullptr;
};

// cuDNN's last error message ("" when it has none), for errors of ours.
std::string cudnn_last_error();

using Dims4 = std::array<int64_t, 4>;

// A 16-byte aligned tensor of `type` (CUDNN_DATA_FLOAT or CUDNN_DATA_BFLOAT16): dims {N, C, H, W}
// (or {K, C, R, S}), strides in elements.
BackendDescriptor make_tensor(int64_t uid, const Dims4& dims, const Dims4& strides, cudnnDataType_t type);
// A 2-D cross-correlation computed in float (whatever the tensors' type): the same stride and
// (symmetric) padding on both spatial dims, dilation 1.
BackendDescriptor make_convolution(int64_t stride, int64_t pad);

enum class ConvOp { forward, backward_data, backward_filter };
const char* conv_op_name(ConvOp op);  // "forward", "backward data", "backward filter"

// The operation with alpha 1, beta 0 (outputs overwritten). Its three tensors, by role:
//   forward:         x (in),  w (in),  y (out)
//   backward_data:   dx (out), w (in), dy (in)
//   backward_filter: x (in),  dw (out), dy (in)
BackendDescriptor make_conv_operation(ConvOp op, const BackendDescriptor& conv, const BackendDescriptor& x,
                                      const BackendDescriptor& w, const BackendDescriptor& y);
// A finalized operation graph of that one operation; throws Error naming `what` when cuDNN
// rejects it.
BackendDescriptor make_operation_graph(cudnnHandle_t handle, const BackendDescriptor& op, const std::string& what);

// One engine configuration the heuristics propose, with what its engine says about itself.
struct EngineCandidate {
  BackendDescriptor config;                         // finalized CUDNN_BACKEND_ENGINECFG_DESCRIPTOR
  int64_t engine = -1;                              // CUDNN_ATTR_ENGINE_GLOBAL_INDEX
  cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;  // the heuristic that proposed it
  std::vector<cudnnBackendNumericalNote_t> numerical_notes;
  std::vector<cudnnBackendBehaviorNote_t> behavior_notes;

  bool has(cudnnBackendNumericalNote_t note) const;
  bool has(cudnnBackendBehaviorNote_t note) const;
  std::string notes() const;  // "tensor_core,winograd"
};

struct EngineCandidates {
  std::vector<BackendDescriptor> heuristics;  // kept alive with the configurations they produced
  std::vector<EngineCandidate> candidates;    // heuristic order
};

// Heuristics mode A's configurations, then mode FALLBACK's (which may repeat engines of mode A
// with other knobs). A mode whose heuristic cannot be finalized for this graph contributes nothing.
EngineCandidates engine_candidates(const BackendDescriptor& graph);

// A finalized execution plan of one configuration, or an empty descriptor when cuDNN cannot
// build it (the configuration does not support this graph on this GPU).
BackendDescriptor try_make_plan(cudnnHandle_t handle, const BackendDescriptor& config);
int64_t plan_workspace_bytes(const BackendDescriptor& plan);

// The data pointers of one execution, rebuilt only when a pointer changes.
class VariantPack {
 public:
  // Queues `plan` on the handle's stream with data[i] bound to uids[i]; no host synchronisation.
  cudnnStatus_t try_execute(cudnnHandle_t handle, const BackendDescriptor& plan, const std::array<int64_t, 3>& uids,
                            const std::array<void*, 3>& data, void* workspace);
  // The same; throws Error naming `what` on failure.
  void execute(cudnnHandle_t handle, const BackendDescriptor& plan, const std::array<int64_t, 3>& uids,
               const std::array<void*, 3>& data, void* workspace, const std::string& what);

 private:
  void bind(const std::array<int64_t, 3>& uids, const std::array<void*, 3>& data, void* workspace);

  BackendDescriptor pack_;
  std::array<int64_t, 3> uids_{};
  std::array<void*, 3> data_{};
  void* workspace_ = nullptr;
};

}  // namespace alexnet::gpu
