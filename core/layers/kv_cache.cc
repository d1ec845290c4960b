#include "core/layers/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/fault_injection.h"

namespace attnserve {

int KvCachePool::Allocate(int capacity) {
  // Counted only once a slot is taken: an allocation that throws leaves the
  // pool as it was.
  // Prefer a free slot whose buffer is large enough, then any free slot
  // (reallocated).
  int reuse = -1;
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
    if (slots_[i].used) continue;
    if (slots_[i].capacity >= capacity) {
      slots_[i].used = true;
      ++in_use_;
      return i;
    }
    if (reuse < 0) reuse = i;
  }
  if (reuse < 0) {
    reuse = static_cast<int>(slots_.size());
    slots_.emplace_back();
  }
  MaybeInjectFault(FaultSite::kAlloc);
  Slot& s = slots_[reuse];
  s.data.reset(
      new float[static_cast<int64_t>(layers_) * 2 * capacity * hidden_]);
  s.capacity = capacity;
  s.used = true;
  ++in_use_;
  return reuse;
}

void KvCachePool::Free(int slot) {
  slots_[slot].used = false;
  --in_use_;
}

void KvCachePool::CopyPrefix(int from, int to, int length) {
  const size_t bytes = static_cast<size_t>(length) * hidden_ * sizeof(float);
  for (int l = 0; l < layers_; ++l) {
    for (int kv = 0; kv < 2; ++kv)
      std::memcpy(Buffer(to, l, kv), Buffer(from, l, kv), bytes);
  }
}

int64_t KvCachePool::bytes_allocated() const {
  int64_t total = 0;
  for (const Slot& s : slots_)
    total += static_cast<int64_t>(layers_) * 2 * s.capacity * hidden_;
  return total * static_cast<int64_t>(sizeof(float));
}

}  // namespace attnserve
