// cuDNN graph (backend) API helpers (see cudnn_graph.h): descriptors, one-operation convolution
// graphs (fp32 or bf16 tensors, float compute), heuristic engine candidates, plans and variant
// packs.
#include "cuda/cudnn_graph.h"

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "cuda/cudnn_check.h"

namespace alexnet::gpu {

namespace {

[[noreturn]] void throw_status(cudnnStatus_t st, const std::string& what) {
  std::string msg = "cuDNN error: " + std::string(cudnnGetErrorString(st)) + " " + what;
  const std::string detail = cudnn_last_error();
  if (!detail.empty()) msg += " (" + detail + ")";
  throw Error(msg);
}

// Reads the engine of a heuristic's configuration: its global index and its notes. False when
// cuDNN cannot describe it (the candidate is then dropped).
bool describe_engine(EngineCandidate& c) {
  BackendDescriptor engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t raw = engine.get();
  int64_t n = 0;
  if (cudnnBackendGetAttribute(c.config.get(), CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                               &raw) != CUDNN_STATUS_SUCCESS ||
      n != 1)
    return false;
  if (cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &n, &c.engine) !=
      CUDNN_STATUS_SUCCESS)
    return false;
  std::array<cudnnBackendNumericalNote_t, CUDNN_NUMERICAL_NOTE_TYPE_COUNT> numerical{};
  n = 0;
  if (cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                               CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, numerical.data()) != CUDNN_STATUS_SUCCESS)
    return false;  // without its notes the precision filter cannot judge it
  n = std::clamp<int64_t>(n, 0, CUDNN_NUMERICAL_NOTE_TYPE_COUNT);
  c.numerical_notes.assign(numerical.begin(), numerical.begin() + n);
  std::array<cudnnBackendBehaviorNote_t, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT> behavior{};
  n = 0;
  if (cudnnBackendGetAttribute(raw, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE,
                               CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &n, behavior.data()) != CUDNN_STATUS_SUCCESS)
    n = 0;
  n = std::clamp<int64_t>(n, 0, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT);
  c.behavior_notes.assign(behavior.begin(), behavior.begin() + n);
  return true;
}

}  // namespace

BackendDescriptor::BackendDescriptor(cudnnBackendDescriptorType_t type) {
  CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_));
}

BackendDescriptor::~BackendDescriptor() { reset(); }

BackendDescriptor::BackendDescriptor(BackendDescriptor&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}

BackendDescriptor& BackendDescriptor::operator=(BackendDescriptor&& o) noexcept {
  if (this != &o) {
    reset();
    d_ = std::exchange(o.d_, nullptr);
  }
  return *this;
}

void BackendDescriptor::reset() noexcept {
  if (d_) cudnnBackendDestroyDescriptor(d_);  // a failing destroy is ignored: destructors never throw
  d_ = nullptr;
}

BackendDescriptor& BackendDescriptor::set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                                          int64_t count, const void* values) {
  const cudnnStatus_t st = cudnnBackendSetAttribute(d_, name, type, count, values);
  if (st != CUDNN_STATUS_SUCCESS)
    throw_status(st, "setting backend attribute " + std::to_string(static_cast<int>(name)) + " (type " +
                         std::to_string(static_cast<int>(type)) + ", " + std::to_string(count) + " values)");
  return *this;
}

BackendDescriptor& BackendDescriptor::set_int64(cudnnBackendAttributeName_t name, int64_t value) {
  return set(name, CUDNN_TYPE_INT64, 1, &value);
}

BackendDescriptor& BackendDescriptor::set_int64s(cudnnBackendAttributeName_t name, const int64_t* values,
                                                 int64_t count) {
  return set(name, CUDNN_TYPE_INT64, count, values);
}

BackendDescriptor& BackendDescriptor::set_descriptor(cudnnBackendAttributeName_t name, const BackendDescriptor& value) {
  const cudnnBackendDescriptor_t raw = value.get();
  return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw);
}

BackendDescriptor& BackendDescriptor::set_handle(cudnnBackendAttributeName_t name, cudnnHandle_t handle) {
  (void)cudnnBackendSetAttribute(d_, name, CUDNN_TYPE_HANDLE, 1, &handle);
  return *this;
}

void BackendDescriptor::finalize(const std::string& what) {
  const cudnnStatus_t st = try_finalize();
  if (st != CUDNN_STATUS_SUCCESS) throw_status(st, "finalizing " + what);
}

cudnnStatus_t BackendDescriptor::try_finalize() noexcept { return cudnnBackendFinalize(d_); }

int64_t BackendDescriptor::get_int64(cudnnBackendAttributeName_t name) const {
  int64_t value = 0, n = 0;
  CUDNN_CHECK(cudnnBackendGetAttribute(d_, name, CUDNN_TYPE_INT64, 1, &n, &value));
  return value;
}

std::string cudnn_last_error() {
  char buf[1024] = {};
  cudnnGetLastErrorString(buf, sizeof(buf));
  buf[sizeof(buf) - 1] = '\0';
  return buf;
}

BackendDescriptor make_tensor(int64_t uid, const Dims4& dims, const Dims4& strides, cudnnDataType_t type) {
  BackendDescriptor t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  t.set_int64s(CUDNN_ATTR_TENSOR_DIMENSIONS, dims.data(), 4);
  t.set_int64s(CUDNN_ATTR_TENSOR_STRIDES, strides.data(), 4);
  t.set_int64(CUDNN_ATTR_TENSOR_UNIQUE_ID, uid);
  t.set_int64(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, 16);
  t.finalize("a tensor descriptor (uid " + std::to_string(uid) + ")");
  return t;
}

BackendDescriptor make_convolution(int64_t stride, int64_t pad) {
  BackendDescriptor c(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t strides[2] = {stride, stride}, pads[2] = {pad, pad}, dilations[2] = {1, 1};
  c.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
  c.set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  c.set_int64(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, 2);
  c.set_int64s(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, strides, 2);
  c.set_int64s(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, pads, 2);
  c.set_int64s(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, pads, 2);
  c.set_int64s(CUDNN_ATTR_CONVOLUTION_DILATIONS, dilations, 2);
  c.finalize("a convolution descriptor");
  return c;
}

const char* conv_op_name(ConvOp op) {
  switch (op) {
    case ConvOp::forward:
      return "forward";
    case ConvOp::backward_data:
      return "backward data";
    case ConvOp::backward_filter:
      return "backward filter";
  }
  return "?";
}

BackendDescriptor make_conv_operation(ConvOp op, const BackendDescriptor& conv, const BackendDescriptor& x,
                                      const BackendDescriptor& w, const BackendDescriptor& y) {
  struct Names {
    cudnnBackendDescriptorType_t type;
    cudnnBackendAttributeName_t alpha, beta, conv, x, w, y;
  };
  Names n{};
  switch (op) {
    case ConvOp::forward:
      n = {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
           CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y};
      break;
    case ConvOp::backward_data:
      n = {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY};
      break;
    case ConvOp::backward_filter:
      n = {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
           CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY};
      break;
  }
  BackendDescriptor d(n.type);
  const float alpha = 1.0f, beta = 0.0f;  // float scalars: the compute type is float
  d.set(n.alpha, CUDNN_TYPE_FLOAT, 1, &alpha);
  d.set(n.beta, CUDNN_TYPE_FLOAT, 1, &beta);
  d.set_descriptor(n.conv, conv);
  d.set_descriptor(n.x, x);
  d.set_descriptor(n.w, w);
  d.set_descriptor(n.y, y);
  d.finalize(std::string("a convolution ") + conv_op_name(op) + " operation");
  return d;
}

BackendDescriptor make_operation_graph(cudnnHandle_t handle, const BackendDescriptor& op, const std::string& what) {
  BackendDescriptor g(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  g.set_handle(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, handle);
  g.set_descriptor(CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
  g.finalize("the operation graph of " + what);
  return g;
}

bool EngineCandidate::has(cudnnBackendNumericalNote_t note) const {
  return std::find(numerical_notes.begin(), numerical_notes.end(), note) != numerical_notes.end();
}

bool EngineCandidate::has(cudnnBackendBehaviorNote_t note) const {
  return std::find(behavior_notes.begin(), behavior_notes.end(), note) != behavior_notes.end();
}

std::string EngineCandidate::notes() const {
  static const char* const kNames[] = {"tensor_core",
                                       "down_convert_inputs",
                                       "reduced_precision_reduction",
                                       "fft",
                                       "nondeterministic",
                                       "winograd",
                                       "winograd_4x4",
                                       "winograd_6x6",
                                       "winograd_13x13",
                                       "strict_nan_prop"};
  std::string s;
  for (auto note : numerical_notes) {
    const auto i = static_cast<std::size_t>(note);
    if (!s.empty()) s += ",";
    s += i < std::size(kNames) ? kNames[i] : "note" + std::to_string(i);
  }
  if (has(CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION)) s += s.empty() ? "runtime_compiled" : ",runtime_compiled";
  return s;
}

EngineCandidates engine_candidates(const BackendDescriptor& graph) {
  EngineCandidates out;
  for (const cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    BackendDescriptor heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set_descriptor(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
    heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    if (heur.try_finalize() != CUDNN_STATUS_SUCCESS) continue;
    int64_t count = 0;
    if (cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count,
                                 nullptr) != CUDNN_STATUS_SUCCESS ||
        count <= 0)
      continue;
    // The configurations are created here and filled in by cuDNN.
    std::vector<BackendDescriptor> configs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw.push_back(configs.back().get());
    }
    int64_t returned = 0;
    CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                         count, &returned, raw.data()));
    for (int64_t i = 0; i < std::min(returned, count); ++i) {
      EngineCandidate c;
      c.config = std::move(configs[static_cast<std::size_t>(i)]);
      c.mode = mode;
      if (describe_engine(c)) out.candidates.push_back(std::move(c));
    }
    out.heuristics.push_back(std::move(heur));
  }
  return out;
}

BackendDescriptor try_make_plan(cudnnHandle_t handle, const BackendDescriptor& config) {
  BackendDescriptor plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
  plan.set_handle(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, handle);
  plan.set_descriptor(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, config);
  if (plan.try_finalize() != CUDNN_STATUS_SUCCESS) return {};
  return plan;
}

int64_t plan_workspace_bytes(const BackendDescriptor& plan) {
  return plan.get_int64(CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE);
}

void VariantPack::bind(const std::array<int64_t, 3>& uids, const std::array<void*, 3>& data, void* workspace) {
  if (pack_ && uids == uids_ && data == data_ && workspace == workspace_) return;
  BackendDescriptor p(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  p.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, data.data());
  p.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids.data());
  p.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  p.finalize("a variant pack");
  pack_ = std::move(p);
  uids_ = uids;
  data_ = data;
  workspace_ = workspace;
}

cudnnStatus_t VariantPack::try_execute(cudnnHandle_t handle, const BackendDescriptor& plan,
                                       const std::array<int64_t, 3>& uids, const std::array<void*, 3>& data,
                                       void* workspace) {
  bind(uids, data, workspace);
  return cudnnBackendExecute(handle, plan.get(), pack_.get());
}

void VariantPack::execute(cudnnHandle_t handle, const BackendDescriptor& plan, const std::array<int64_t, 3>& uids,
                          const std::array<void*, 3>& data, void* workspace, const std::string& what) {
  const cudnnStatus_t st = try_execute(handle, plan, uids, data, workspace);
  if (st != CUDNN_STATUS_SUCCESS) throw_status(st, "executing " + what);
}

}  // namespace alexnet::gpu
