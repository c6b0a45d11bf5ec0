// Fully connected on a CUDA GPU: three cuBLASLt matrix products (fp32/tf32: the forward one adds the
// bias in its epilogue), each algorithm chosen by timing the heuristic's candidates once, when built.
// Our row-major (R, C) buffers are cuBLASLt's column-major (C, R) matrices, so everything is transposed:
//   forward:          y^T  (O,N) = [W buffer (I,O)]^T . x^T (I,N) + b           epilogue BIAS
//   backward data:    dx^T (I,N) =  W buffer (I,O)    . dy^T (O,N)
//   backward weights: dW^T (I,O) =  x^T (I,N) . [dy^T (O,N)]^T;  db[o] = sum_n dy[n, o]: epilogue
//                     BGRADB (sums op(B) = dy (N,O) over k = N, one value per column of D) or our kernel.
// bf16: x, y, dx, dy are bf16; W is multiplied as a bf16 copy (our scratch, converted from the fp32
// master weights in forward and backward); dW, b, db stay fp32 (dW is the D of a bf16 x bf16 product,
// compute 32F throughout). cuBLASLt documents a BIAS epilogue only with a bias of D's type, so the
// fp32 bias is added, and db summed, by our kernels.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>

#include "core/buffer.h"
#include "core/log.h"
#include "cuda/context.h"
#include "cuda/cudnn_check.h"
#include "cuda/kernels.h"
#include "layers/fc.h"

namespace alexnet::detail {
namespace {

// Operand pointers are 16-byte aligned (our buffers; parameters in the flat buffer when sizes are
// multiples of 4) or, with odd sizes in a flat buffer, only 4-byte aligned: each product keeps an
// algorithm for both cases ([kAligned] is timed, [kAny] is the first candidate that runs). A bf16
// operand aligned to only 2 bytes is refused (Error).
enum { kAligned = 0, kAny = 1 };
constexpr uint32_t kAlignBytes[2] = {16, 4};
constexpr std::size_t kMaxWorkspace = std::size_t{32} << 20;
constexpr int kCandidates = 8, kTimedRuns = 3;

struct LtDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const { cublasLtMatmulDescDestroy(p); }
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const { cublasLtMatrixLayoutDestroy(p); }
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using MatmulDesc = std::unique_ptr<cublasLtMatmulDescOpaque_t, LtDeleter>;
using MatLayout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LtDeleter>;
using Preference = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, LtDeleter>;

template <class T>
void set_attr(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const T& v) {
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, a, &v, sizeof(v)));
}

bool aligned_to(std::initializer_list<const void*> ptrs, uint32_t bytes) {
  return std::all_of(ptrs.begin(), ptrs.end(),
                     [bytes](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; });
}
bool aligned(std::initializer_list<const void*> ptrs) { return aligned_to(ptrs, kAlignBytes[kAligned]); }

// Mean milliseconds of one call of f (true: it ran) on stream s, after an untimed first call;
// runs == 0 only checks that it runs. Negative when a call fails.
template <class F>
float time_ms(F&& f, cudaStream_t s, int runs) {
  if (!f()) return -1;
  if (runs == 0) return 0;
  gpu::Event start, stop;
  CUDA_CHECK(cudaEventRecord(start.get(), s));
  for (int r = 0; r < runs; ++r)
    if (!f()) return -1;
  CUDA_CHECK(cudaEventRecord(stop.get(), s));
  CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  return ms / static_cast<float>(runs);
}

// One product D = op(A) op(B) [+ epilogue], alpha 1, beta 0, C = D, and its chosen algorithms.
struct Product {
  MatmulDesc desc;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;  // owned by the backend
  cublasLtMatmulAlgo_t algo[2]{};
  bool found[2]{};
  float ms = -1;                                // the aligned algorithm's time
  std::size_t ws_bytes[2]{};                    // workspace each algorithm needs
  cublasStatus_t last = CUBLAS_STATUS_SUCCESS;  // of the heuristic, for the error message

  void set_bias(const void* p) { set_attr(desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, p); }
  // The algorithm for these operands: the timed one when aligned, else the any-alignment one.
  const cublasLtMatmulAlgo_t* algo_for(bool is_aligned) const {
    if (is_aligned && found[kAligned]) return &algo[kAligned];
    return found[kAny] ? &algo[kAny] : nullptr;
  }
  cublasStatus_t run(cublasLtHandle_t lt, const cublasLtMatmulAlgo_t* al, const void* A, const void* B, void* D,
                     void* ws, std::size_t ws_size, cudaStream_t s) const {
    const float one = 1.f, zero = 0.f;
    return cublasLtMatmul(lt, desc.get(), &one, A, a, B, b, &zero, D, d, D, d, al, ws, ws_size, s);
  }
};

class FcCuda final : public FcBackend {
 public:
  explicit FcCuda(const FcConfig& c)
      : ctx_(&gpu::context(c.device)),
        n_(c.batch),
        i_(c.spec.in_features),
        o_(c.spec.out_features),
        need_dx_(c.need_input_grad),
        bf16_(c.precision == Precision::bf16),
        relu_(c.relu) {
    std::ostringstream os;
    os << "fc (N " << n_ << ", I " << i_ << ") -> (N " << n_ << ", O " << o_ << "), " << precision_name(c.precision)
       << " on " << c.device.str();
    what_ = os.str();
    const cublasComputeType_t compute =
        c.precision == Precision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    const cudaDataType_t act = bf16_ ? CUDA_R_16BF : CUDA_R_32F;
    w_lay_ = make_layout(act, i_, o_);          // W buffer (bf16: our copy)
    dw_lay_ = make_layout(CUDA_R_32F, i_, o_);  // dW (fp32 in every precision)
    x_lay_ = make_layout(act, i_, n_);          // x buffer, also dx
    y_lay_ = make_layout(act, o_, n_);          // y buffer, also dy
    init(fwd_, compute, CUBLAS_OP_T, CUBLAS_OP_N, bf16_ ? CUBLASLT_EPILOGUE_DEFAULT : CUBLASLT_EPILOGUE_BIAS, w_lay_,
         x_lay_, y_lay_);
    init(data_, compute, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT, w_lay_, y_lay_, x_lay_);
    if (!bf16_)
      init(wgrad_fused_, compute, CUBLAS_OP_N, CUBLAS_OP_T, CUBLASLT_EPILOGUE_BGRADB, x_lay_, y_lay_, dw_lay_);
    init(wgrad_, compute, CUBLAS_OP_N, CUBLAS_OP_T, CUBLASLT_EPILOGUE_DEFAULT, x_lay_, y_lay_, dw_lay_);
    if (bf16_) w16_ = Buffer(static_cast<std::size_t>(o_ * i_) * 2, c.device);
    choose_algorithms();
  }

  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) override {
    ctx_->activate();
    if (!bf16_) {
      fwd_.set_bias(b.data);
      call(fwd_, aligned({x.data, w.data, b.data, y.data}), w.data, x.data, y.data, "forward");
      if (relu_) gpu::relu_forward(y.data, y.data, gpu::Elem::f32, n_ * o_, ctx_->stream());
      return;
    }
    const void* w16 = to_bf16(w);
    call(fwd_, aligned({x.data, w16, y.data}), w16, x.data, y.data, "forward");
    gpu::add_channel_bias(y.data, gpu::Elem::bf16, b.f32(), n_, o_, 1, true, relu_, ctx_->stream());
  }

  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db) override {
    ctx_->activate();
    if (need_dx_) {
      const void* wd = bf16_ ? to_bf16(w) : w.data;
      call(data_, aligned({wd, dy.data, dx.data}), wd, dy.data, dx.data, "backward data");
    }
    if (fused_bias_grad_ && aligned({x.data, dy.data, dw.data, db.data})) {
      wgrad_fused_.set_bias(db.data);
      call(wgrad_fused_, true, x.data, dy.data, dw.data, "backward weights");
      return;
    }
    call(wgrad_, aligned({x.data, dy.data, dw.data}), x.data, dy.data, dw.data, "backward weights");
    gpu::channel_bias_grad(dy.data, elem(), db.f32(), n_, o_, 1, true, ctx_->stream());
  }

 private:
  gpu::Elem elem() const { return bf16_ ? gpu::Elem::bf16 : gpu::Elem::f32; }

  // The fp32 master weights (O, I) -> our bf16 copy (queued on the stream).
  const void* to_bf16(const Tensor& w) const {
    gpu::weights_to(w.f32(), w16_.data(), gpu::Elem::bf16, o_, i_, 1, 1, false, ctx_->stream());
    return w16_.data();
  }

  static MatLayout make_layout(cudaDataType_t type, int64_t rows, int64_t cols) {
    cublasLtMatrixLayout_t raw = nullptr;
    CUBLAS_CHECK(
        cublasLtMatrixLayoutCreate(&raw, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), rows));
    return MatLayout(raw);
  }

  static void init(Product& p, cublasComputeType_t compute, cublasOperation_t ta, cublasOperation_t tb,
                   cublasLtEpilogue_t epilogue, const MatLayout& a, const MatLayout& b, const MatLayout& d) {
    cublasLtMatmulDesc_t raw = nullptr;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw, compute, CUDA_R_32F));
    p.desc.reset(raw);
    set_attr(raw, CUBLASLT_MATMUL_DESC_TRANSA, static_cast<int32_t>(ta));
    set_attr(raw, CUBLASLT_MATMUL_DESC_TRANSB, static_cast<int32_t>(tb));
    set_attr(raw, CUBLASLT_MATMUL_DESC_EPILOGUE, static_cast<uint32_t>(epilogue));
    if (epilogue != CUBLASLT_EPILOGUE_DEFAULT)
      set_attr(raw, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, static_cast<int32_t>(CUDA_R_32F));
    p.a = a.get(), p.b = b.get(), p.d = d.get();
  }

  // Runs p on the stream and workspace of the context (no host synchronisation).
  void call(const Product& p, bool is_aligned, const void* a, const void* b, void* d, const char* step) const {
    const cublasLtMatmulAlgo_t* al = p.algo_for(is_aligned);
    ALEXNET_CHECK(al, what_ << ", " << step << ": no cuBLASLt algorithm takes operands aligned to only 4 bytes");
    ALEXNET_CHECK(is_aligned || aligned_to({a, b, d}, kAlignBytes[kAny]),
                  what_ << ", " << step << ": an operand is aligned to less than 4 bytes");
    CUBLAS_CHECK(p.run(ctx_->lt(), al, a, b, d, ctx_->workspace(), ctx_->workspace_bytes(), ctx_->stream()));
  }

  // Asks the heuristic for candidates for operands aligned as `cls` says and keeps the fastest
  // (kAligned) or the first (kAny) that runs on the scratch operands a, b, d.
  void pick(Product& p, int cls, cublasLtMatmulPreference_t pref, const void* a, const void* b, void* d, void* ws,
            std::size_t ws_size) {
    cublasLtMatmulHeuristicResult_t res[kCandidates] = {};
    int count = 0;
    p.last =
        cublasLtMatmulAlgoGetHeuristic(ctx_->lt(), p.desc.get(), p.a, p.b, p.d, p.d, pref, kCandidates, res, &count);
    if (p.last != CUBLAS_STATUS_SUCCESS) count = 0;
    const cudaStream_t s = ctx_->stream();
    for (int k = 0; k < count; ++k) {
      if (res[k].state != CUBLAS_STATUS_SUCCESS || res[k].workspaceSize > ws_size) continue;
      const float ms =
          time_ms([&] { return p.run(ctx_->lt(), &res[k].algo, a, b, d, ws, ws_size, s) == CUBLAS_STATUS_SUCCESS; }, s,
                  cls == kAligned ? kTimedRuns : 1);  // kAny: run once more and wait, so a fault shows here
      if (ms < 0) {
        (void)cudaGetLastError();  // a refused candidate leaves nothing behind
        continue;
      }
      if (cls == kAligned && p.found[cls] && ms >= p.ms) continue;
      p.algo[cls] = res[k].algo;
      p.found[cls] = true;
      p.ws_bytes[cls] = res[k].workspaceSize;
      if (cls == kAligned) p.ms = ms;
      if (cls == kAny) break;
    }
  }

  // Times the candidates on scratch operands (zeros), then frees them and reserves the workspace.
  void choose_algorithms() {
    const std::size_t ws_size = std::min(gpu::workspace_limit(), kMaxWorkspace);
    auto bytes = [](int64_t count, std::size_t size) {
      return (static_cast<std::size_t>(count) * size + 511) / 256 * 256;
    };
    const std::size_t act = bf16_ ? 2 : sizeof(float);  // w holds W (act) and dW (fp32)
    const std::size_t bx = bytes(n_ * i_, act), bw = bytes(o_ * i_, sizeof(float)), by = bytes(n_ * o_, act),
                      bb = bytes(o_, sizeof(float));
    float kernel_ms = -1;
    {
      const Buffer mem(bx + bw + by + bb + ws_size, Device::cuda(ctx_->device()));  // zeroed
      char* base = static_cast<char*>(mem.data());
      void* ws = ws_size ? base + bx + bw + by + bb : nullptr;
      CUDA_CHECK(cudaStreamSynchronize(ctx_->stream()));  // nothing else in the timings
      for (int cls : {kAny, kAligned}) {
        const std::size_t off = kAlignBytes[cls];  // the operands are aligned to exactly this
        char *x = base + off, *w = base + bx + off, *y = base + bx + bw + off, *bias = base + bx + bw + by + off;
        Preference pref = make_preference(ws_size, kAlignBytes[cls]);
        if (!bf16_) fwd_.set_bias(bias);
        pick(fwd_, cls, pref.get(), w, x, y, ws, ws_size);
        if (need_dx_) pick(data_, cls, pref.get(), w, y, x, ws, ws_size);
        pick(wgrad_, cls, pref.get(), x, y, w, ws, ws_size);
        if (cls == kAligned && !bf16_) {
          wgrad_fused_.set_bias(bias);
          pick(wgrad_fused_, cls, pref.get(), x, y, w, ws, ws_size);
          kernel_ms = time_ms(
              [&] {
                gpu::channel_bias_grad(y, elem(), reinterpret_cast<float*>(bias), n_, o_, 1, true, ctx_->stream());
                return true;
              },
              ctx_->stream(), kTimedRuns);
        }
      }
      CUDA_CHECK(cudaStreamSynchronize(ctx_->stream()));
    }
    auto none = [&](const Product& p, const char* step) {
      std::ostringstream os;
      os << what_ << ": cuBLASLt offers no working algorithm for the " << step
         << " product (heuristic: " << cublasGetStatusString(p.last) << ", workspace limit " << (ws_size >> 20)
         << " MiB)";
      return Error(os.str());
    };
    if (!fwd_.found[kAligned] && !fwd_.found[kAny]) throw none(fwd_, "forward");
    if (need_dx_ && !data_.found[kAligned] && !data_.found[kAny]) throw none(data_, "backward data");
    fused_bias_grad_ =
        wgrad_fused_.found[kAligned] && (!wgrad_.found[kAligned] || wgrad_fused_.ms <= wgrad_.ms + kernel_ms);
    if (!fused_bias_grad_ && !wgrad_.found[kAligned] && !wgrad_.found[kAny]) throw none(wgrad_, "backward weights");
    std::size_t need = 0;
    for (const Product* p : {&fwd_, &data_, &wgrad_, &wgrad_fused_})
      if (p != &wgrad_fused_ || fused_bias_grad_) need = std::max({need, p->ws_bytes[kAligned], p->ws_bytes[kAny]});
    if (need > 0) ctx_->reserve(need);
    LOG_DEBUG << what_ << ": forward " << fwd_.ms << " ms, backward data " << data_.ms << " ms, backward weights "
              << (fused_bias_grad_ ? wgrad_fused_.ms : wgrad_.ms) << " ms (bias gradient "
              << (fused_bias_grad_ ? "in the epilogue" : "by our kernel") << ", kernel " << kernel_ms
              << " ms), workspace " << need << " bytes";
  }

  static Preference make_preference(std::size_t ws_size, uint32_t align) {
    cublasLtMatmulPreference_t raw = nullptr;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw));
    Preference p(raw);
    const uint64_t ws = ws_size;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw, attr, &align, sizeof(align)));
    return p;
  }

  gpu::Context* ctx_;
  int64_t n_, i_, o_;  // batch, in and out features
  bool need_dx_;
  bool bf16_;                                 // Precision::bf16: bf16 activations, W through w16_
  bool relu_;                                 // forward applies the following ReLU
  std::string what_;                          // the shapes, for error messages
  MatLayout w_lay_, dw_lay_, x_lay_, y_lay_;  // column-major views: (I, O), (I, O), (I, N), (O, N)
  Buffer w16_;                                // (O, I) bf16: the copy of W (bf16 only)
  Product fwd_, data_, wgrad_fused_, wgrad_;
  bool fused_bias_grad_ = false;  // db from wgrad_fused_'s epilogue (aligned operands only)
};

}  // namespace

std::unique_ptr<FcBackend> make_fc_cuda(const FcConfig& c) { return std::make_unique<FcCuda>(c); }

}  // namespace alexnet::detail
