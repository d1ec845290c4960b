#include "core/models/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

// Fills *out with the elements of `v` when it is an array of JSON integers
// that are >= 0; false otherwise.
bool ReadUnsignedList(const nlohmann::json& v, std::vector<uint64_t>* out) {
  if (!v.is_array()) return false;
  for (const nlohmann::json& e : v) {
    if (e.is_number_unsigned()) {
      out->push_back(e.get<uint64_t>());
    } else if (e.is_number_integer() && e.get<int64_t>() >= 0) {
      out->push_back(static_cast<uint64_t>(e.get<int64_t>()));
    } else {
      return false;
    }
  }
  return true;
}

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // safetensors' own limit

bool ParseDType(const std::string& s, StDType* out, size_t* bytes) {
  if (s == "F32")
    *out = StDType::kF32, *bytes = 4;
  else if (s == "F16")
    *out = StDType::kF16, *bytes = 2;
  else if (s == "BF16")
    *out = StDType::kBF16, *bytes = 2;
  else if (s == "I64")
    *out = StDType::kI64, *bytes = 8;
  else if (s == "I32")
    *out = StDType::kI32, *bytes = 4;
  else
    return false;
  return true;
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | ((112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float Bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

size_t StDTypeBytes(StDType dtype) {
  switch (dtype) {
    case StDType::kF16:
    case StDType::kBF16:
      return 2;
    case StDType::kI64:
      return 8;
    default:
      return 4;
  }
}

bool WidenToFloat(StDType dtype, const uint8_t* src, int64_t n, float* dst) {
  switch (dtype) {
    case StDType::kF32:
      if (n > 0) std::memcpy(dst, src, n * 4);
      return true;
    case StDType::kF16:
    case StDType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = dtype == StDType::kF16 ? HalfToFloat(h) : Bf16ToFloat(h);
      }
      return true;
    default:
      return false;
  }
}

namespace {

// RAII file descriptor for the mapping step.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  Fd f;
  f.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0)
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", strerror(errno)));
  struct stat st;
  if (fstat(f.fd, &st) != 0)
    return absl::InternalError(absl::StrCat(path, ": fstat failed"));
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a safetensors file (", size, " bytes, need >= 8)"));
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (map == MAP_FAILED)
    return absl::InternalError(absl::StrCat(path, ": mmap failed"));
  std::unique_ptr<SafetensorsFile> file(
      new SafetensorsFile(path, static_cast<const uint8_t*>(map), size));
  absl::Status s = file->ParseHeader();
  if (!s.ok()) return s;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) munmap(const_cast<uint8_t*>(map_), size_);
}

absl::Status SafetensorsFile::ParseHeader() {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(map_[i]) << (8 * i);
  if (n > kMaxHeaderBytes || n > size_ - 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": header length ", n, " exceeds the file size ",
                     size_, " (truncated or not safetensors)"));
  }
  data_ = map_ + 8 + n;
  data_size_ = size_ - 8 - n;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(map_ + 8, map_ + 8 + n);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": bad header JSON: ", e.what()));
  }
  if (!header.is_object())
    return absl::InvalidArgumentError(path_ + ": header is not an object");
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = absl::StrCat(path_, ": tensor '", it.key(), "'");
    const auto& v = it.value();
    Entry e;
    size_t elem = 0;
    try {
      if (!v.is_object())
        return absl::InvalidArgumentError(where + ": entry is not an object");
      e.dtype_name = v.at("dtype").get<std::string>();
      if (!ParseDType(e.dtype_name, &e.dtype, &elem)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unsupported dtype '", e.dtype_name,
                         "' (F32, F16, BF16, I64, I32)"));
      }
      // JSON numbers that are not integers (1e30, 2.5) must be refused here:
      // nlohmann's get<int64_t> casts a double, undefined behaviour when it
      // is out of range (found by the safetensors fuzzer).
      std::vector<uint64_t> shape, offsets;
      if (!ReadUnsignedList(v.at("shape"), &shape)) {
        return absl::InvalidArgumentError(
            where + ": \"shape\" must be a list of non-negative integers");
      }
      if (!ReadUnsignedList(v.at("data_offsets"), &offsets) ||
          offsets.size() != 2) {
        return absl::InvalidArgumentError(
            where + ": \"data_offsets\" must be two non-negative integers");
      }
      for (uint64_t d : shape) {
        if (d > static_cast<uint64_t>(INT64_MAX)) {
          return absl::InvalidArgumentError(where + ": shape dimension " +
                                            std::to_string(d) + " too large");
        }
        e.shape.push_back(static_cast<int64_t>(d));
      }
      e.begin = offsets[0];
      e.end = offsets[1];
    } catch (const std::exception& ex) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": malformed entry: ", ex.what()));
    }
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0 ||
          (d > 0 && numel > (UINT64_MAX / 16) / static_cast<uint64_t>(d))) {
        return absl::InvalidArgumentError(where + ": bad shape " +
                                          ShapeToString(e.shape));
      }
      numel *= static_cast<uint64_t>(d);
    }
    if (e.begin > e.end || e.end > data_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": data_offsets [", e.begin, ",", e.end,
                       ") outside the data section of ", data_size_, " bytes"));
    }
    if (e.end - e.begin != numel * elem) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": shape ", ShapeToString(e.shape), " x ",
                       e.dtype_name, " needs ", numel * elem,
                       " bytes but data_offsets span ", e.end - e.begin));
    }
    ranges.emplace_back(e.begin, e.end);
    entries_.emplace(it.key(), std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": tensors overlap at data offset ", ranges[i].first));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> SafetensorsFile::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, e] : entries_) names.push_back(name);
  return names;
}

absl::StatusOr<const SafetensorsFile::Entry*> SafetensorsFile::Find(
    const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(
        absl::StrCat(path_, ": missing tensor '", name, "'"));
  }
  return &it->second;
}

absl::StatusOr<Tensor> SafetensorsFile::ReadFloat(
    const std::string& name) const {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  const Entry& e = **found;
  Tensor t(e.shape);
  if (!WidenToFloat(e.dtype, TensorData(e), t.numel(), t.data())) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", name,
                                                   "' has dtype ", e.dtype_name,
                                                   ", expected a float type"));
  }
  return t;
}

absl::StatusOr<Tensor> SafetensorsFile::ReadFloat(
    const std::string& name, const std::vector<int64_t>& expected) const {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  if ((*found)->shape != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": tensor '", name, "' has shape ",
                     ShapeToString((*found)->shape), ", expected ",
                     ShapeToString(expected)));
  }
  return ReadFloat(name);
}

absl::StatusOr<std::vector<int64_t>> SafetensorsFile::ReadInt64(
    const std::string& name, std::vector<int64_t>* shape) const {
  auto found = Find(name);
  if (!found.ok()) return found.status();
  const Entry& e = **found;
  if (e.dtype != StDType::kI64 && e.dtype != StDType::kI32) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", name,
                                                   "' has dtype ", e.dtype_name,
                                                   ", expected I64 or I32"));
  }
  const int64_t n = NumElements(e.shape);
  std::vector<int64_t> out(n);
  const uint8_t* src = TensorData(e);
  for (int64_t i = 0; i < n; ++i) {
    if (e.dtype == StDType::kI64) {
      std::memcpy(&out[i], src + 8 * i, 8);
    } else {
      int32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      out[i] = v;
    }
  }
  if (shape != nullptr) *shape = e.shape;
  return out;
}

}  // namespace attnserve
