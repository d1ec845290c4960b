#ifndef ATTNSERVE_CORE_DTYPE_H_
#define ATTNSERVE_CORE_DTYPE_H_

namespace attnserve {

// Compute precision of a model; weights are converted once at load.
enum class DType { kFloat32, kBFloat16, kInt8 };

struct LoadOptions {
  DType dtype = DType::kFloat32;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DTYPE_H_
