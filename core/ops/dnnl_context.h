#ifndef ATTNSERVE_CORE_OPS_DNNL_CONTEXT_H_
#define ATTNSERVE_CORE_OPS_DNNL_CONTEXT_H_

#include <chrono>
#include <unordered_map>
#include <vector>

#include "core/ops/compute_threads.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {

// Time spent inside oneDNN primitives of one context (benchmarks: the share of
// a forward pass outside matmuls). Collected only when enabled.
struct OpProfile {
  double matmul_seconds = 0;  // matmul primitives (incl. fused post-ops)
  double other_seconds = 0;   // every other primitive (LayerNorm, softmax, ..)
  int64_t primitives = 0;     // primitives executed
};

// The oneDNN CPU engine and the stream every op of one model instance executes
// on, and the model's compute thread count. Ops keep a pointer to it; it must
// outlive them. Not thread-safe: one thread drives a context at a time.
class DnnlContext {
 public:
  // threads <= 0: the calling thread's OpenMP default (OMP_NUM_THREADS or all
  // cores).
  explicit DnnlContext(int threads = 0)
      : engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        threads_(threads) {}
  DnnlContext(const DnnlContext&) = delete;
  DnnlContext& operator=(const DnnlContext&) = delete;

  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  int threads() const { return threads_; }
  void set_threads(int threads) { threads_ = threads; }

  // Runs one primitive to completion with this context's thread count (set in
  // the calling thread: the OpenMP setting is per thread, see
  // compute_threads.h).
  void Execute(const dnnl::primitive& prim,
               const std::unordered_map<int, dnnl::memory>& args) {
    SetComputeThreadsOfThisThread(threads_);
    if (!profiling_) {
      prim.execute(stream_, args);
      stream_.wait();
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    prim.execute(stream_, args);
    stream_.wait();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    (prim.get_kind() == dnnl::primitive::kind::matmul
         ? profile_.matmul_seconds
         : profile_.other_seconds) += s;
    ++profile_.primitives;
  }

  void EnableProfiling(bool on) { profiling_ = on; }
  const OpProfile& profile() const { return profile_; }
  void ResetProfile() { profile_ = OpProfile(); }

  // A memory object over a caller-owned buffer (cheap: no allocation, no
  // primitive creation).
  dnnl::memory Wrap(const dnnl::memory::desc& md, const float* data) const {
    return dnnl::memory(md, engine_, const_cast<float*>(data));
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  int threads_ = 0;
  bool profiling_ = false;
  OpProfile profile_;
};

// Execution arguments of one cached primitive: the memory objects are created
// once with the primitive, each call only swaps their data pointers (no
// allocation per call).
class BoundArgs {
 public:
  // `data` may be null at creation (set before every execute).
  void Add(const DnnlContext& ctx, int arg, const dnnl::memory::desc& md,
           const void* data = nullptr) {
    args_[arg] = dnnl::memory(md, ctx.engine(), const_cast<void*>(data));
  }
  void Set(int arg, const void* data) {
    args_.at(arg).set_data_handle(const_cast<void*>(data));
  }
  void Execute(const dnnl::primitive& prim, DnnlContext* ctx) {
    ctx->Execute(prim, args_);
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
