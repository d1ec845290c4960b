#ifndef ATTNSERVE_CORE_TENSOR_H_
#define ATTNSERVE_CORE_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnserve {

// A dense row-major f32 tensor owning its buffer. Resize() keeps the allocation
// when the new size fits, so a Tensor used as an activation buffer stops
// allocating once it has seen the largest batch (the "arena" behaviour the
// models rely on: no per-request allocation in steady state).
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape) { Resize(std::move(shape)); }
  Tensor(std::vector<int64_t> shape, std::vector<float> values);

  // Sets the shape; contents are unspecified (kept where the buffer was large
  // enough).
  void Resize(std::vector<int64_t> shape);

  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  std::string ShapeString() const;  // "[2,3]"

 private:
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  std::vector<float> data_;
};

int64_t NumElements(const std::vector<int64_t>& shape);
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TENSOR_H_
