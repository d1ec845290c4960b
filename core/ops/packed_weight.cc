#include "core/ops/packed_weight.h"

#include "core/fault_injection.h"

namespace attnserve {

PackedWeight::PackedWeight(DnnlContext* ctx, const dnnl::memory::desc& plain_md,
                           const void* plain,
                           const dnnl::memory::desc& probe_md)
    : ctx_(ctx) {
  Reorder(plain_md, plain, probe_md);
}

const void* PackedWeight::For(const dnnl::memory::desc& md) {
  for (const Copy& c : copies_) {
    if (c.md == md) return c.data.get();
  }
  return Reorder(copies_.front().md, copies_.front().data.get(), md).data.get();
}

PackedWeight::Copy& PackedWeight::Reorder(const dnnl::memory::desc& from_md,
                                          const void* from,
                                          const dnnl::memory::desc& to_md) {
  MaybeInjectFault(FaultSite::kAlloc);
  Copy c{to_md, std::make_unique<uint8_t[]>(to_md.get_size())};
  const dnnl::memory src(from_md, ctx_->engine(), const_cast<void*>(from));
  const dnnl::memory dst(to_md, ctx_->engine(), c.data.get());
  ctx_->Execute(dnnl::reorder(src, dst),
                {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
  copies_.push_back(std::move(c));
  return copies_.back();
}

int64_t PackedWeight::bytes() const {
  int64_t n = 0;
  for (const Copy& c : copies_) n += static_cast<int64_t>(c.md.get_size());
  return n;
}

}  // namespace attnserve
