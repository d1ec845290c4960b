// Fuzzes the safetensors reader: the 8-byte header length, the JSON header
// (dtypes, shapes, data_offsets) and the bounds checks that must keep every
// later read inside the mapping. SafetensorsFile only opens paths, so each
// input is written to one reused memfd.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/models/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

// A successfully opened file promises that every entry lies inside the data
// section and has exactly numel × element size bytes; reading each one must
// then succeed (or fail cleanly for the wrong dtype family) without touching
// memory outside the mapping.
void ReadEveryTensor(const SafetensorsFile& file) {
  for (const std::string& name : file.Names()) {
    absl::StatusOr<const SafetensorsFile::Entry*> entry = file.Find(name);
    Require(entry.ok(), "Find() of a name returned by Names()");
    const SafetensorsFile::Entry& e = **entry;
    Require(e.begin <= e.end, "entry begin <= end");
    uint64_t numel = 1;
    for (int64_t d : e.shape) numel *= static_cast<uint64_t>(d);
    Require(e.end - e.begin == numel * StDTypeBytes(e.dtype),
            "entry byte size == numel × dtype");
    const bool is_int = e.dtype == StDType::kI64 || e.dtype == StDType::kI32;
    if (is_int) {
      std::vector<int64_t> shape;
      absl::StatusOr<std::vector<int64_t>> values =
          file.ReadInt64(name, &shape);
      Require(values.ok(), "ReadInt64 of an integer tensor");
      Require(values->size() == numel && shape == e.shape,
              "ReadInt64 size and shape");
      Require(!file.ReadFloat(name).ok(),
              "ReadFloat of an integer tensor must fail");
    } else {
      absl::StatusOr<Tensor> values = file.ReadFloat(name);
      Require(values.ok(), "ReadFloat of a float tensor");
      Require(static_cast<uint64_t>(values->numel()) == numel,
              "ReadFloat numel");
      Require(file.ReadFloat(name, e.shape).ok(),
              "ReadFloat with the entry's own shape");
    }
  }
  Require(!file.Find("\x01 no such tensor").ok(),
          "Find of a missing name must fail");
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const attnserve::fuzz::MemFile* file = new attnserve::fuzz::MemFile();
  file->Write(data, size);
  absl::StatusOr<std::unique_ptr<attnserve::SafetensorsFile>> opened =
      attnserve::SafetensorsFile::Open(file->path());
  if (opened.ok()) attnserve::fuzz::ReadEveryTensor(**opened);
  return 0;
}
