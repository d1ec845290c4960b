#ifndef ATTNSERVE_CORE_LAYERS_PACKED_LAYOUT_H_
#define ATTNSERVE_CORE_LAYERS_PACKED_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace attnserve {

// Sequences of one batch with equal length: rows [first_row, first_row +
// count·len) of the packed matrix, sequence after sequence.
struct LengthGroup {
  int64_t first_row;
  int count;
  int len;
};

// Where each sequence of a ragged batch lives in the packed (unpadded)
// activation matrix [rows(), hidden]: sequences ordered by length, longest
// first (ties keep request order), their real tokens back to back. Equal
// lengths are then contiguous, so self-attention runs per LengthGroup as one
// uniform batch without padding or mask; every row-wise op (Linear,
// LayerNorm, ...) runs on all rows at once. Rebuilt per batch; the buffers are
// reused (no allocation in steady state).
class PackedLayout {
 public:
  // lengths: tokens of each sequence in request order (>= 0 each).
  void Build(absl::Span<const int> lengths);

  int sequences() const { return static_cast<int>(first_row_.size()); }
  int64_t rows() const { return rows_; }
  // First row and length of sequence `i` (request order).
  int64_t first_row(int i) const { return first_row_[i]; }
  int length(int i) const { return length_[i]; }
  const std::vector<LengthGroup>& groups() const { return groups_; }

 private:
  std::vector<int64_t> first_row_;
  std::vector<int> length_, order_;
  std::vector<LengthGroup> groups_;
  int64_t rows_ = 0;
};

// The packed rows [layout.rows(), cols] of `packed` scattered into the padded
// [layout.sequences(), len, cols] at `out` (request order, zeros at padding):
// what callers that want Hugging Face's padded shape read.
void UnpackRows(const float* packed, int64_t cols, const PackedLayout& layout,
                int len, float* out);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_PACKED_LAYOUT_H_
