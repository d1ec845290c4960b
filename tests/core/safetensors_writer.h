#ifndef ATTNSERVE_TESTS_CORE_SAFETENSORS_WRITER_H_
#define ATTNSERVE_TESTS_CORE_SAFETENSORS_WRITER_H_

// Test helpers: the safetensors writer (core/models/safetensors_writer.h,
// shared with the benchmarks) under attnserve::testing, a file writer and a
// per-process temporary directory.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/models/safetensors_writer.h"
#include "gtest/gtest.h"

namespace attnserve::testing {

using ::attnserve::F32Safetensors;
using ::attnserve::SafetensorsBytes;

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
