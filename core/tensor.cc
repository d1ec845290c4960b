#include "core/tensor.h"

#include <utility>

#include "absl/strings/str_join.h"
#include "core/fault_injection.h"

namespace attnserve {

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  return "[" + absl::StrJoin(shape, ",") + "]";
}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<float> values)
    : shape_(std::move(shape)),
      numel_(NumElements(shape_)),
      data_(std::move(values)) {
  data_.resize(numel_);
}

void Tensor::Resize(std::vector<int64_t> shape) {
  // Every sizing counts (not only growth), so an injected fault's position does
  // not depend on which shapes earlier calls left allocated.
  MaybeInjectFault(FaultSite::kAlloc);
  shape_ = std::move(shape);
  numel_ = NumElements(shape_);
  if (static_cast<int64_t>(data_.size()) < numel_) data_.resize(numel_);
}

std::string Tensor::ShapeString() const { return ShapeToString(shape_); }

}  // namespace attnserve
