#ifndef ATTNSERVE_CORE_MODELS_SAFETENSORS_WRITER_H_
#define ATTNSERVE_CORE_MODELS_SAFETENSORS_WRITER_H_

// Writes safetensors bytes (F32 tensors, or a raw header and data): the
// counterpart of safetensors.h for tests (fixtures, broken files) and
// benchmarks (random-weight model folders). Nothing at serving time writes
// weights.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// A file made of an 8-byte little-endian header length, `header`, then `data`.
inline std::string SafetensorsBytes(const std::string& header,
                                    const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// The named tensors as one F32 safetensors file, in the given order.
inline std::string F32Safetensors(
    const std::vector<std::pair<std::string, const Tensor*>>& ts) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : ts) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t->data()),
                t->numel() * sizeof(float));
    header[name] = {{"dtype", "F32"},
                    {"shape", t->shape()},
                    {"data_offsets", {begin, data.size()}}};
  }
  return SafetensorsBytes(header.dump(), data);
}

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_SAFETENSORS_WRITER_H_
