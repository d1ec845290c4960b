#ifndef ATTNSERVE_TESTS_CORE_SAFETENSORS_WRITER_H_
#define ATTNSERVE_TESTS_CORE_SAFETENSORS_WRITER_H_

// Test helper: writes safetensors files (F32 tensors) and raw header/data byte
// strings.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::testing {

// A file made of an 8-byte little-endian header length, `header`, then `data`.
inline std::string SafetensorsBytes(const std::string& header,
                                    const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

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

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string TempDir(const std::string& name) {
  std::string dir =
      std::string(::testing::TempDir()) + name + "_" + std::to_string(getpid());
  std::string cmd = "mkdir -p '" + dir + "'";
  if (std::system(cmd.c_str()) != 0) return "";
  return dir;
}

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_CORE_SAFETENSORS_WRITER_H_
