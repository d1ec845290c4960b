#ifndef ATTNSERVE_CORE_LAYERS_KV_CACHE_H_
#define ATTNSERVE_CORE_LAYERS_KV_CACHE_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace attnserve {

// Decoder self-attention keys/values of independent decoder rows. A slot holds,
// for each layer, K and V as [capacity, hidden] row-major buffers (heads side
// by side, as the projections produce them), preallocated when the slot is
// taken so a step only appends one row. Freed buffers are kept and reused by
// later slots that fit. Not thread-safe.
class KvCachePool {
 public:
  KvCachePool(int layers, int hidden) : layers_(layers), hidden_(hidden) {}

  // A slot for up to `capacity` positions.
  int Allocate(int capacity);
  void Free(int slot);

  int capacity(int slot) const { return slots_[slot].capacity; }
  float* keys(int slot, int layer) { return Buffer(slot, layer, 0); }
  float* values(int slot, int layer) { return Buffer(slot, layer, 1); }
  // Copies positions [0, length) of every layer from one slot to another (beam
  // reordering).
  void CopyPrefix(int from, int to, int length);

  int slots_in_use() const { return in_use_; }
  int64_t bytes_allocated() const;

 private:
  struct Slot {
    std::unique_ptr<float[]> data;
    int capacity = 0;
    bool used = false;
  };
  float* Buffer(int slot, int layer, int kv) {
    const Slot& s = slots_[slot];
    return s.data.get() +
           (static_cast<int64_t>(layer) * 2 + kv) * s.capacity * hidden_;
  }

  int layers_, hidden_;
  std::vector<Slot> slots_;
  int in_use_ = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_KV_CACHE_H_
