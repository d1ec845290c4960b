#ifndef ATTNSERVE_CORE_MODELS_SAFETENSORS_H_
#define ATTNSERVE_CORE_MODELS_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace attnserve {

enum class StDType { kF32, kF16, kBF16, kI64, kI32 };

// Bytes per element of `dtype`.
size_t StDTypeBytes(StDType dtype);

// Widens `n` little-endian values of a float dtype (F32, F16, BF16) at `src`
// (any alignment) to f32 at `dst`; false for an integer dtype. Shared by every
// checkpoint reader, so f16/bf16 weights are converted once, at load.
bool WidenToFloat(StDType dtype, const uint8_t* src, int64_t n, float* dst);

// A validated safetensors file, memory-mapped read-only for the object's
// lifetime. Open() checks the whole header (size, JSON, dtypes, shapes, offsets
// in range, no overlaps, byte size == numel × dtype size) so that later reads
// cannot run out of the mapping.
class SafetensorsFile {
 public:
  struct Entry {
    StDType dtype;
    std::string dtype_name;
    std::vector<int64_t> shape;
    size_t begin = 0;  // offsets into the data section
    size_t end = 0;
  };

  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(
      const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  bool Has(const std::string& name) const { return entries_.count(name) > 0; }
  std::vector<std::string> Names() const;
  absl::StatusOr<const Entry*> Find(const std::string& name) const;

  // F32/F16/BF16 tensor converted to f32. NotFound / InvalidArgument name file
  // and tensor.
  absl::StatusOr<Tensor> ReadFloat(const std::string& name) const;
  // Same, and checks the shape (error says expected vs found).
  absl::StatusOr<Tensor> ReadFloat(
      const std::string& name,
      const std::vector<int64_t>& expected_shape) const;
  // I64 (or I32) tensor as int64 values; *shape receives its shape when
  // non-null.
  absl::StatusOr<std::vector<int64_t>> ReadInt64(
      const std::string& name, std::vector<int64_t>* shape = nullptr) const;

 private:
  SafetensorsFile(std::string path, const uint8_t* map, size_t size)
      : path_(std::move(path)), map_(map), size_(size) {}
  absl::Status ParseHeader();
  const uint8_t* TensorData(const Entry& e) const { return data_ + e.begin; }

  std::string path_;
  const uint8_t* map_ = nullptr;  // whole file (munmap'ed in the destructor)
  size_t size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  size_t data_size_ = 0;
  std::map<std::string, Entry> entries_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_SAFETENSORS_H_
