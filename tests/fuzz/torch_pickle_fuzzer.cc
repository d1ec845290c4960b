// Fuzzes the restricted unpickler of PyTorch checkpoints (data.pkl of
// pytorch_model.bin): any byte string must give a state dict or an error,
// never run code (no callable but the allow-listed ones exists in it), read
// out of bounds or recurse without bound. Seeds: the data.pkl of the
// tests/data/weights fixtures.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/models/torch_pickle.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using attnserve::fuzz::Require;
  const std::string_view pickle(reinterpret_cast<const char*>(data), size);
  auto tensors = attnserve::ParseTorchStateDict(pickle, "fuzz.pkl");
  if (!tensors.ok()) {
    Require(tensors.status().message().find("fuzz.pkl") == 0,
            "errors start with the file name");
    return 0;
  }
  for (const auto& [name, t] : *tensors) {
    Require(t.shape.size() == t.stride.size(), "size and stride lengths");
    Require(t.storage_offset >= 0 && t.storage_numel >= 0,
            "non-negative offset and storage size");
    Require(
        !t.storage_key.empty() && t.storage_key.find('/') == std::string::npos,
        "storage keys are plain names");
    for (int64_t d : t.shape) Require(d >= 0, "non-negative sizes");
  }
  return 0;
}
