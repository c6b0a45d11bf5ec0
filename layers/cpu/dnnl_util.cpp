// CPU (oneDNN) backend helpers (see dnnl_util.h).
#include "cpu/dnnl_util.h"

#include "layers/backend_info.h"

namespace alexnet::cpu {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream st(engine());
  return st;
}

dnnl::memory::data_type data_type(DType t) {
  switch (t) {
    case DType::f32:
      return dnnl::memory::data_type::f32;
    case DType::bf16: {
      static const std::string missing = cpu_bf16_missing();
      ALEXNET_CHECK(missing.empty(), missing);
      return dnnl::memory::data_type::bf16;
    }
    default:
      throw Error(std::string("no oneDNN layer computes in ") + dtype_name(t));
  }
}

dnnl::memory::desc md(const dims& d, tag t, DType type) {
  return DNNL_CHECK(dnnl::memory::desc(d, data_type(type), t));
}

dnnl::memory::desc md(const Shape& s, Layout layout, DType type) {
  switch (s.rank()) {
    case 1:
      return md({s[0]}, tag::a, type);
    case 2:
      return md({s[0], s[1]}, tag::ab, type);
    case 4: {
      ALEXNET_CHECK(layout_fits(s, layout), "shape " << s.str() << " cannot be stored " << layout_name(layout));
      const tag t = layout == Layout::nchw ? tag::nchw : layout == Layout::nhwc ? tag::nhwc : tag::nChw16c;
      return md({s[0], s[1], s[2], s[3]}, t, type);
    }
    default:
      throw Error("no oneDNN descriptor for a tensor of shape " + s.str());
  }
}

dnnl::memory unbound(const dnnl::memory::desc& d) { return DNNL_CHECK(dnnl::memory(d, engine(), nullptr)); }

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::primitive_attr forward_attr(bool relu) {
  dnnl::primitive_attr attr = scratchpad_attr();
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return attr;
}

Step::Step(dnnl::primitive prim, std::vector<std::pair<int, dnnl::memory>> args) : prim_(std::move(prim)) {
  for (auto& [arg, mem] : args) {
    mems_.push_back(mem);
    c_args_.push_back({arg, mem.get()});
  }
}

void Step::run() const {
  dnnl_status_t st =
      dnnl_primitive_execute(prim_.get(), stream().get(), static_cast<int>(c_args_.size()), c_args_.data());
  if (st != dnnl_success)
    throw_error("oneDNN", "primitive execution failed (status " + std::to_string(st) + ")", "dnnl_primitive_execute",
                __FILE__, __LINE__);
}

void Scratchpad::need(const dnnl::memory::desc& d) { bytes_ = std::max(bytes_, d.get_size()); }

void Scratchpad::allocate() { buffer_ = Buffer(std::max<std::size_t>(bytes_, 64), Device::cpu()); }

dnnl::memory Scratchpad::memory_for(const dnnl::memory::desc& d) const {
  ALEXNET_CHECK(d.get_size() <= buffer_.bytes(), "scratchpad too small: " << d.get_size() << " > " << buffer_.bytes());
  return DNNL_CHECK(dnnl::memory(d, engine(), buffer_.data()));
}

Workspace::Workspace(const dnnl::memory::desc& d) {
  if (d.get_size() == 0) return;
  buffer_ = Buffer(d.get_size(), Device::cpu());
  mem_ = DNNL_CHECK(dnnl::memory(d, engine(), buffer_.data()));
}

Workspace::Args Workspace::with(Args args) const {
  if (mem_) args.emplace_back(DNNL_ARG_WORKSPACE, mem_);
  return args;
}

void ForwardBackward::build(dnnl::primitive fwd, const dnnl::primitive_desc_base& fwd_pd, dnnl::primitive bwd,
                            const dnnl::primitive_desc_base& bwd_pd, const dnnl::memory::desc& src,
                            const dnnl::memory::desc& dst, int bwd_reads) {
  workspace_ = Workspace(fwd_pd.workspace_desc());
  scratch_.need(fwd_pd.scratchpad_desc());
  scratch_.need(bwd_pd.scratchpad_desc());
  scratch_.allocate();
  x_ = unbound(src);
  y_ = unbound(dst);
  dy_ = unbound(dst);
  dx_ = unbound(src);
  fwd_ = Step(fwd, workspace_.with({{DNNL_ARG_SRC, x_},
                                    {DNNL_ARG_DST, y_},
                                    {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}}));
  Workspace::Args args = {{DNNL_ARG_DIFF_DST, dy_},
                          {DNNL_ARG_DIFF_SRC, dx_},
                          {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_pd.scratchpad_desc())}};
  if (bwd_reads != 0) {
    read_ = unbound(bwd_reads == DNNL_ARG_SRC ? src : dst);
    args.emplace_back(bwd_reads, read_);
  }
  bwd_ = Step(bwd, workspace_.with(std::move(args)));
}

void ForwardBackward::forward(const void* x, void* y) {
  bind(x_, x);
  bind(y_, y);
  fwd_.run();
}

void ForwardBackward::backward(const void* read, const void* dy, void* dx) {
  if (read_) bind(read_, read);
  bind(dy_, dy);
  bind(dx_, dx);
  bwd_.run();
}

Relayout::Relayout(const dnnl::memory::desc& user, const dnnl::memory::desc& internal, bool to_internal)
    : needed_(user != internal), user_(unbound(user)) {
  if (!needed_) return;
  storage_ = Buffer(internal.get_size(), Device::cpu());
  internal_ = DNNL_CHECK(dnnl::memory(internal, engine(), storage_.data()));
  auto& src = to_internal ? user_ : internal_;
  auto& dst = to_internal ? internal_ : user_;
  auto pd = DNNL_CHECK(dnnl::reorder::primitive_desc(src, dst));
  step_ = Step(dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

}  // namespace alexnet::cpu
