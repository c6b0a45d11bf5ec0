// Convolution on a GPU through cuDNN's graph API: one operation graph per direction, its engine
// chosen once per problem (heuristics, a numerical-note filter, then timing) and shared by every
// layer of the process with the same problem; the bias is our kernels' job. fp32 and tf32 run on
// fp32 tensors; bf16 on bf16 activations, gradients and a bf16 copy of the fp32 master weights
// (the filter gradient comes out in bf16 and is widened into the fp32 dw), computed in float.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/buffer.h"
#include "core/clock.h"
#include "core/log.h"
#include "cuda/context.h"
#include "cuda/cudnn_check.h"
#include "cuda/cudnn_graph.h"
#include "cuda/kernels.h"
#include "layers/conv.h"

namespace alexnet::detail {
namespace {

using gpu::BackendDescriptor;
using gpu::ConvOp;
using gpu::Dims4;

constexpr std::array<int64_t, 3> kUids{1, 2, 3};  // x or dx, w or dw, y or dy
constexpr std::size_t kMaxTimed = 8;              // plans timed per problem, from the heuristics' front
constexpr int kTimedRuns = 3;

// Strides in elements of a {N, C, H, W} tensor ({K, C, R, S} for filters: KCRS or KRSC).
Dims4 strides_of(const Shape& s, bool channels_last) {
  if (channels_last) return {s.h() * s.w() * s.c(), 1, s.w() * s.c(), s.c()};
  return {s.c() * s.h() * s.w(), s.h() * s.w(), s.w(), 1};
}

Dims4 dims_of(const Shape& s) { return {s.n(), s.c(), s.h(), s.w()}; }

cudnnDataType_t cudnn_type(DType t) { return t == DType::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }
gpu::Elem elem_of(DType t) { return t == DType::bf16 ? gpu::Elem::bf16 : gpu::Elem::f32; }

// Everything that decides the engine choice of one convolution direction.
struct Problem {
  int device = 0;
  ConvOp op = ConvOp::forward;
  Shape x, w, y;  // (N, C, H, W), (O, C / groups, K, K), (N, O, OH, OW)
  bool x_nhwc = false, w_krsc = false, y_nhwc = false;
  int64_t stride = 1, pad = 0;
  Precision precision = Precision::fp32;
  DType dtype = DType::f32;  // of the three tensors the plans read and write (f32 or bf16)
  ConvAlgorithm algorithm = ConvAlgorithm::direct;
  bool deterministic = true;

  std::string key() const {
    std::ostringstream os;
    os << device << '|' << static_cast<int>(op) << '|' << x.str() << x_nhwc << '|' << w.str() << w_krsc << '|'
       << y.str() << y_nhwc << '|' << stride << '|' << pad << '|' << static_cast<int>(precision) << '|'
       << dtype_name(dtype) << '|' << static_cast<int>(algorithm) << '|' << deterministic;
    return os.str();
  }
  // "convolution forward of x bf16 (32, 48, 27, 27) nhwc, w bf16 (128, 48, 5, 5) krsc, ... (bf16,
  // direct)"
  std::string describe() const {
    const bool d = op == ConvOp::backward_data, f = op == ConvOp::backward_filter;
    const std::string t = std::string(dtype_name(dtype)) + " ";
    std::ostringstream os;
    os << "convolution " << gpu::conv_op_name(op) << " of " << (d ? "dx " : "x ") << t << x.str()
       << (x_nhwc ? " nhwc, " : " nchw, ") << (f ? "dw " : "w ") << t << w.str() << (w_krsc ? " krsc, " : " kcrs, ")
       << (op == ConvOp::forward ? "y " : "dy ") << t << y.str() << (y_nhwc ? " nhwc" : " nchw") << ", stride "
       << stride << ", pad " << pad << ", groups " << x.c() / w.c() << " on cuda:" << device << " ("
       << precision_name(precision) << ", " << conv_algorithm_name(algorithm)
       << (deterministic ? ", deterministic" : "") << ")";
    return os.str();
  }
};

// One direction's chosen plan and every descriptor it references, kept alive with it.
struct TunedPlan {
  BackendDescriptor x, w, y, conv, operation, graph;
  std::vector<BackendDescriptor> heuristics;
  BackendDescriptor config, plan;
  int64_t engine = -1;
  int64_t workspace = 0;  // bytes
};

// Which engines the precision, algorithm and determinism allow (direct: neither Winograd nor FFT
// transforms; automatic: any). fp32 keeps off tensor cores; tf32 and bf16 use them. Engines that
// down-convert inputs (to fp16/bf16) or reduce in lower precision than float are never used, and
// non-deterministic ones only when asked. This is the filter PyTorch's cuDNN v8 path applies
// (DOWN_CONVERT_INPUTS always out, TENSOR_CORE out for fp32 without TF32, NONDETERMINISTIC out when
// deterministic): TF32 engines carry TENSOR_CORE, not DOWN_CONVERT_INPUTS. Whether a tf32
// convolution really got a tensor-core engine is logged per problem (tune()).
bool allowed(const gpu::EngineCandidate& e, const Problem& p) {
  if (p.deterministic && e.has(CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC)) return false;
  const bool winograd = e.has(CUDNN_NUMERICAL_NOTE_WINOGRAD) || e.has(CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4) ||
                        e.has(CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6) ||
                        e.has(CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13);
  if (p.algorithm == ConvAlgorithm::winograd && !winograd) return false;
  if (p.algorithm == ConvAlgorithm::direct && (winograd || e.has(CUDNN_NUMERICAL_NOTE_FFT))) return false;
  if (e.has(CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS) || e.has(CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION))
    return false;
  if (p.precision == Precision::fp32) return !e.has(CUDNN_NUMERICAL_NOTE_TENSOR_CORE);
  return true;  // tf32, bf16
}

struct Built {
  gpu::EngineCandidate* candidate;
  BackendDescriptor plan;
  int64_t workspace;
};

std::size_t tensor_bytes(const Shape& s, DType t) { return static_cast<std::size_t>(s.numel()) * dtype_size(t); }

// Times each plan (one warm-up run, then kTimedRuns) on zero-filled scratch tensors of the
// problem's data type; returns the index of the fastest and its time per run (ms). Plans that
// fail to execute are skipped.
std::size_t fastest(const Problem& p, gpu::Context& ctx, const std::vector<Built>& built, float* ms_per_run) {
  int64_t ws = 0;
  for (const auto& b : built) ws = std::max(ws, b.workspace);
  const Device dev = Device::cuda(p.device);
  Buffer x(tensor_bytes(p.x, p.dtype), dev), w(tensor_bytes(p.w, p.dtype), dev), y(tensor_bytes(p.y, p.dtype), dev),
      work(static_cast<std::size_t>(ws), dev);
  ctx.activate();
  const std::array<void*, 3> data{x.data(), w.data(), y.data()};
  gpu::Event start, stop;
  gpu::VariantPack pack;
  std::size_t best = built.size();
  float best_ms = std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < built.size(); ++i) {
    if (pack.try_execute(ctx.cudnn(), built[i].plan, kUids, data, work.data()) != CUDNN_STATUS_SUCCESS) {
      (void)cudaGetLastError();  // a refused plan must not leave an error for our next launch to report
      continue;
    }
    bool ok = true;
    CUDA_CHECK(cudaEventRecord(start.get(), ctx.stream()));
    for (int r = 0; r < kTimedRuns && ok; ++r)
      ok = pack.try_execute(ctx.cudnn(), built[i].plan, kUids, data, work.data()) == CUDNN_STATUS_SUCCESS;
    CUDA_CHECK(cudaEventRecord(stop.get(), ctx.stream()));
    CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    if (!ok) (void)cudaGetLastError();
    if (ok && ms < best_ms) {
      best_ms = ms;
      best = i;
    }
  }
  ALEXNET_CHECK(best < built.size(), "every cuDNN plan built for " << p.describe() << " failed to execute");
  *ms_per_run = best_ms / kTimedRuns;
  return best;
}

// One line per problem: the engine chosen, its notes, time and workspace, and what the tuning
// cost; a warning when tf32 or bf16 was asked for and the engine uses no tensor cores (the
// numerical-note filter left none, or none was faster), which would otherwise pass unseen.
void log_choice(const Problem& p, const gpu::EngineCandidate& c, float ms, int64_t workspace, std::size_t timed,
                std::size_t allowed_count, double tuning_s) {
  LOG_INFO << "cuDNN: " << p.describe() << ": engine " << c.engine << " (" << (c.notes().empty() ? "-" : c.notes())
           << "), " << (ms >= 0 ? std::to_string(ms) + " ms" : std::string("the only plan, not timed"))
           << ", workspace " << workspace / 1024 << " KiB; " << timed << " of " << allowed_count
           << " allowed engines timed, tuned in " << static_cast<int>(1e3 * tuning_s) << " ms";
  if (p.precision != Precision::fp32 && !c.has(CUDNN_NUMERICAL_NOTE_TENSOR_CORE))
    LOG_WARN << "cuDNN: " << p.describe() << ": " << precision_name(p.precision) << " was asked for but engine "
             << c.engine << " does not use tensor cores (it computes in fp32)";
}

std::shared_ptr<const TunedPlan> tune(const Problem& p, gpu::Context& ctx) {
  auto t = std::make_shared<TunedPlan>();
  const cudnnDataType_t type = cudnn_type(p.dtype);
  t->x = gpu::make_tensor(kUids[0], dims_of(p.x), strides_of(p.x, p.x_nhwc), type);
  t->w = gpu::make_tensor(kUids[1], dims_of(p.w), strides_of(p.w, p.w_krsc), type);
  t->y = gpu::make_tensor(kUids[2], dims_of(p.y), strides_of(p.y, p.y_nhwc), type);
  t->conv = gpu::make_convolution(p.stride, p.pad);
  t->operation = gpu::make_conv_operation(p.op, t->conv, t->x, t->w, t->y);
  t->graph = gpu::make_operation_graph(ctx.cudnn(), t->operation, p.describe());
  gpu::EngineCandidates found = gpu::engine_candidates(t->graph);
  t->heuristics = std::move(found.heuristics);

  // Engines compiled at run time take seconds to build: tried only when no other one works, and
  // at most runtime_compiled_limit() of them (none in the tests).
  const double t0 = now_seconds();
  const auto limit = static_cast<int64_t>(gpu::workspace_limit());
  const std::size_t rtc_limit = gpu::runtime_compiled_limit();
  std::size_t allowed_count = 0, no_plan = 0, too_big = 0;
  std::string engines;  // "28 (tensor_core), ..." of the allowed ones, for the error message
  std::vector<Built> built;
  for (int pass = 0; pass < 2 && built.empty(); ++pass) {
    for (auto& c : found.candidates) {
      if (built.size() >= (pass == 0 ? kMaxTimed : rtc_limit)) break;
      if (!allowed(c, p) || c.has(CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) != (pass == 1)) continue;
      ++allowed_count;
      const auto same_engine = [&](const Built& b) { return b.candidate->engine == c.engine; };
      if (c.mode == CUDNN_HEUR_MODE_FALLBACK && std::any_of(built.begin(), built.end(), same_engine))
        continue;  // mode A's configuration of this engine is already in
      if (engines.size() < 300)
        engines += (engines.empty() ? "" : ", ") + std::to_string(c.engine) + " (" + c.notes() + ")";
      BackendDescriptor plan = gpu::try_make_plan(ctx.cudnn(), c.config);
      if (!plan) {
        ++no_plan;
        continue;
      }
      const int64_t ws = gpu::plan_workspace_bytes(plan);
      if (ws < 0 || ws > limit) {
        ++too_big;
        continue;
      }
      built.push_back({&c, std::move(plan), ws});
    }
  }
  ALEXNET_CHECK(!built.empty(), "no cuDNN engine for "
                                    << p.describe() << ": the heuristics proposed " << found.candidates.size()
                                    << " configurations, " << allowed_count << " allowed by "
                                    << precision_name(p.precision) << "/" << conv_algorithm_name(p.algorithm) << " ["
                                    << engines << "]; " << no_plan << " gave no plan, " << too_big
                                    << " needed more than the " << (limit >> 20)
                                    << " MiB workspace limit (ALEXNET_GPU_WORKSPACE_MB), runtime-compiled engines "
                                    << (rtc_limit ? "allowed" : "excluded (ALEXNET_CUDNN_RUNTIME_COMPILED=0)")
                                    << "; cuDNN says: " << gpu::cudnn_last_error());
  float ms = -1;
  const std::size_t best = built.size() == 1 ? 0 : fastest(p, ctx, built, &ms);
  Built& b = built[best];
  log_choice(p, *b.candidate, ms, b.workspace, built.size(), allowed_count, now_seconds() - t0);
  t->config = std::move(b.candidate->config);
  t->plan = std::move(b.plan);
  t->engine = b.candidate->engine;
  t->workspace = b.workspace;
  return t;
}

// The tuned plan of a problem, tuned on first use; identical layers (the towers) share it.
std::shared_ptr<const TunedPlan> tuned_plan(const Problem& p, gpu::Context& ctx) {
  static std::mutex mu;
  // Never destroyed (like the contexts): cuDNN may be gone by the time static destructors run.
  static auto* cache = new std::map<std::string, std::shared_ptr<const TunedPlan>>();
  std::lock_guard<std::mutex> lock(mu);
  const std::string key = p.key();
  auto it = cache->find(key);
  if (it == cache->end()) it = cache->emplace(key, tune(p, ctx)).first;
  return it->second;
}

class ConvCuda final : public ConvBackend {
 public:
  explicit ConvCuda(const ConvConfig& c)
      : ctx_(gpu::context(c.device)),
        c_(c),
        krsc_(c.input_layout == Layout::nhwc),
        cl_(c.layout == Layout::nhwc),
        dtype_(activation_dtype(c.precision)),
        elem_(elem_of(dtype_)),
        w_shape_{c.spec.out_channels, c.spec.in_channels / c.spec.groups, c.spec.kernel, c.spec.kernel} {
    ALEXNET_CHECK((c.input_layout == Layout::nchw || c.input_layout == Layout::nhwc) &&
                      (c.layout == Layout::nchw || c.layout == Layout::nhwc),
                  "the cuDNN convolution runs in nchw or nhwc, not " << layout_name(c.input_layout) << " -> "
                                                                     << layout_name(c.layout));
    Problem p;
    p.device = c.device.index;
    p.x = c.input;
    p.w = w_shape_;
    p.y = c.output;
    p.x_nhwc = krsc_;
    p.w_krsc = krsc_;
    p.y_nhwc = cl_;
    p.stride = c.spec.stride;
    p.pad = c.spec.pad;
    p.precision = c.precision;
    p.dtype = dtype_;
    p.algorithm = c.algorithm;
    p.deterministic = c.deterministic;
    const ConvOp ops[3] = {ConvOp::forward, ConvOp::backward_data, ConvOp::backward_filter};
    int64_t ws = 1;  // a workspace pointer even for plans that need none
    for (int i = 0; i < 3; ++i) {
      p.op = ops[i];
      what_[i] = p.describe();
      if (ops[i] == ConvOp::backward_data && !c.need_input_grad) continue;
      plans_[i] = tuned_plan(p, ctx_);
      ws = std::max(ws, plans_[i]->workspace);
    }
    ctx_.reserve(static_cast<std::size_t>(ws));
    // The filter the plans read and the filter gradient they write, in the plans' data type: KRSC
    // for NHWC, KCRS for NCHW. fp32 NCHW uses w and dw in place unless they are not 16-byte
    // aligned (small models' flat parameter buffers), which the plans cannot read or write.
    w_copy_ = Buffer(tensor_bytes(w_shape_, dtype_), c.device);
    dw_copy_ = Buffer(tensor_bytes(w_shape_, dtype_), c.device);
    std::ostringstream os;
    os << "cudnn engine fwd " << plans_[0]->engine;
    if (plans_[1]) os << " / dgrad " << plans_[1]->engine;
    os << " / wgrad " << plans_[2]->engine << " (" << precision_name(c.precision) << ")";
    impl_ = os.str();
  }

  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) override {
    ctx_.activate();
    run(0, {x.data, filter(w), y.data});
    const Shape& o = c_.output;
    gpu::add_channel_bias(y.data, elem_, b.f32(), o.n(), o.c(), o.h() * o.w(), cl_, c_.relu, ctx_.stream());
  }

  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db) override {
    ctx_.activate();
    if (plans_[1]) run(1, {dx.data, filter(w), dy.data});
    float* const dw32 = dw.f32();  // the fp32 gradient of the fp32 master weights
    const bool in_place = !krsc_ && dtype_ == DType::f32 && aligned(dw32);
    run(2, {x.data, in_place ? dw.data : dw_copy_.data(), dy.data});
    const cudaStream_t s = ctx_.stream();
    if (!krsc_ && dtype_ == DType::f32 && !in_place)
      CUDA_CHECK(cudaMemcpyAsync(dw32, dw_copy_.data(), dw.bytes(), cudaMemcpyDeviceToDevice, s));
    else if (!in_place)
      gpu::weights_grad_from(dw_copy_.data(), elem_, dw32, w_shape_[0], w_shape_[1], w_shape_[2], w_shape_[3], krsc_,
                             s);
    const Shape& o = c_.output;
    gpu::channel_bias_grad(dy.data, elem_, db.f32(), o.n(), o.c(), o.h() * o.w(), cl_, s);
  }

  std::string implementation() const override { return impl_; }

 private:
  static bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

  // The filter the plans read: w itself (fp32 KCRS, 16-byte aligned), or its copy in the plans'
  // data type and filter order made on the stream now.
  void* filter(const Tensor& w) {
    const float* w32 = w.f32();  // the fp32 master weights
    if (!krsc_ && dtype_ == DType::f32) {
      if (aligned(w32)) return w.data;
      CUDA_CHECK(cudaMemcpyAsync(w_copy_.data(), w32, w.bytes(), cudaMemcpyDeviceToDevice, ctx_.stream()));
      return w_copy_.data();
    }
    gpu::weights_to(w32, w_copy_.data(), elem_, w_shape_[0], w_shape_[1], w_shape_[2], w_shape_[3], krsc_,
                    ctx_.stream());
    return w_copy_.data();
  }

  void run(int i, const std::array<void*, 3>& data) {
    static const char* const kNames[3][3] = {{"x", "w", "y"}, {"dx", "w", "dy"}, {"x", "dw", "dy"}};
    for (int k = 0; k < 3; ++k)
      ALEXNET_CHECK(reinterpret_cast<std::uintptr_t>(data[k]) % 16 == 0,
                    what_[i] << ": " << kNames[i][k] << " is not 16-byte aligned (the cuDNN plans assume it)");
    packs_[i].execute(ctx_.cudnn(), plans_[i]->plan, kUids, data, ctx_.workspace(), what_[i]);
  }

  gpu::Context& ctx_;
  ConvConfig c_;
  bool krsc_;    // x/dx are NHWC: the plans read and write KRSC filters
  bool cl_;      // y/dy are NHWC
  DType dtype_;  // of x, y, dx, dy and of the filter copies the plans use (f32 or bf16)
  gpu::Elem elem_;
  Shape w_shape_;                              // (O, C / groups, K, K)
  std::shared_ptr<const TunedPlan> plans_[3];  // forward, backward data (none without dx), backward filter
  gpu::VariantPack packs_[3];
  std::string what_[3];
  Buffer w_copy_;   // w in dtype_, (O, K, K, C / groups) for NHWC, else (O, C / groups, K, K)
  Buffer dw_copy_;  // the filter gradient in dtype_ and that order, before it goes into dw
  std::string impl_;
};

}  // namespace

std::unique_ptr<ConvBackend> make_conv_cuda(const ConvConfig& c) { return std::make_unique<ConvCuda>(c); }

}  // namespace alexnet::detail
