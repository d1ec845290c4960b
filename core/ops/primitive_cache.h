#ifndef ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_
#define ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace attnserve {

// Primitives keyed by their shape (e.g. {rows}); created on first use, reused
// forever after, so steady-state calls never create a primitive. Entries are
// stable (node map).
template <typename Entry>
class PrimitiveCache {
 public:
  using Key = std::vector<int64_t>;

  template <typename MakeFn>
  Entry& GetOrCreate(const Key& key, MakeFn make) {
    auto it = map_.find(key);
    if (it == map_.end()) it = map_.emplace(key, make()).first;
    return it->second;
  }
  size_t size() const { return map_.size(); }

 private:
  absl::flat_hash_map<Key, Entry> map_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_PRIMITIVE_CACHE_H_
