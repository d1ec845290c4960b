#ifndef ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_
#define ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/fault_injection.h"

namespace attnserve {

// Primitives keyed by their shape (e.g. {rows}); created on first use and
// reused after, so steady-state calls never create a primitive. Bounded: past
// `capacity` shapes the least recently used entry is dropped (ragged batches
// see many row counts and attention group shapes over time; an unbounded
// cache would pin every JIT kernel ever made). The returned reference is valid
// until the next GetOrCreate.
template <typename Entry>
class PrimitiveCache {
 public:
  using Key = std::vector<int64_t>;
  static constexpr size_t kDefaultCapacity = 512;

  explicit PrimitiveCache(size_t capacity = kDefaultCapacity)
      : capacity_(capacity < 1 ? 1 : capacity) {}

  template <typename MakeFn>
  Entry& GetOrCreate(const Key& key, MakeFn make) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);  // most recent first
      return it->second->second;
    }
    // A throwing make() (oneDNN cannot create the primitive) leaves the cache
    // as it was.
    MaybeInjectFault(FaultSite::kPrimitive);
    lru_.emplace_front(key, make());
    index_.emplace(key, lru_.begin());
    if (lru_.size() > capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return lru_.front().second;
  }
  size_t size() const { return lru_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  using List = std::list<std::pair<Key, Entry>>;
  size_t capacity_;
  List lru_;
  absl::flat_hash_map<Key, typename List::iterator> index_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_
