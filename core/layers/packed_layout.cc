#include "core/layers/packed_layout.h"

#include <algorithm>
#include <numeric>

namespace attnserve {

void PackedLayout::Build(absl::Span<const int> lengths) {
  const int n = static_cast<int>(lengths.size());
  length_.assign(lengths.begin(), lengths.end());
  first_row_.resize(n);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  std::stable_sort(order_.begin(), order_.end(),
                   [&](int a, int b) { return length_[a] > length_[b]; });
  groups_.clear();
  rows_ = 0;
  for (int i : order_) {
    const int len = length_[i];
    first_row_[i] = rows_;
    rows_ += len;
    if (len == 0) continue;  // no rows, nothing to attend
    if (!groups_.empty() && groups_.back().len == len) {
      ++groups_.back().count;
    } else {
      groups_.push_back({first_row_[i], 1, len});
    }
  }
}

void UnpackRows(const float* packed, int64_t cols, const PackedLayout& layout,
                int len, float* out) {
  std::fill_n(out, static_cast<int64_t>(layout.sequences()) * len * cols, 0.f);
  for (int b = 0; b < layout.sequences(); ++b) {
    std::copy_n(packed + layout.first_row(b) * cols, layout.length(b) * cols,
                out + static_cast<int64_t>(b) * len * cols);
  }
}

}  // namespace attnserve
