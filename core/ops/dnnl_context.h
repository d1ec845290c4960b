#ifndef ATTNSERVE_CORE_OPS_DNNL_CONTEXT_H_
#define ATTNSERVE_CORE_OPS_DNNL_CONTEXT_H_

#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {

// The oneDNN CPU engine and the stream every op of one model instance executes
// on. Ops keep a pointer to it; it must outlive them. Not thread-safe: one
// thread drives a context at a time.
class DnnlContext {
 public:
  DnnlContext() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
  DnnlContext(const DnnlContext&) = delete;
  DnnlContext& operator=(const DnnlContext&) = delete;

  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }

  // A memory object over a caller-owned buffer (cheap: no allocation, no
  // primitive creation).
  dnnl::memory Wrap(const dnnl::memory::desc& md, const float* data) const {
    return dnnl::memory(md, engine_, const_cast<float*>(data));
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
};

// Execution arguments of one cached primitive: the memory objects are created
// once with the primitive, each call only swaps their data pointers (no
// allocation per call).
class BoundArgs {
 public:
  // `data` may be null at creation (set before every execute).
  void Add(const DnnlContext& ctx, int arg, const dnnl::memory::desc& md,
           const float* data = nullptr) {
    args_[arg] = dnnl::memory(md, ctx.engine(), const_cast<float*>(data));
  }
  void Set(int arg, const float* data) {
    args_.at(arg).set_data_handle(const_cast<float*>(data));
  }
  void Execute(const dnnl::primitive& prim, DnnlContext* ctx) {
    prim.execute(ctx->stream(), args_);
    ctx->stream().wait();
  }

 private:
  std::unordered_map<int, dnnl::memory> args_;
};

// Plain row-major descriptor of an f32 tensor.
inline dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * dims[i + 1];
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

inline dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims,
                                      const dnnl::memory::dims& strides) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_DNNL_CONTEXT_H_
