// Fuzzes the reader of pytorch_model.bin files (TorchCheckpoint): the zip
// container (libzip), the archive layout, the restricted unpickler and the
// checks that keep every tensor read inside its storage. Each input is a
// whole file, written to one reused memfd. Seeds: the .bin fixtures of
// tests/data/weights. (Mutations inside data.pkl mostly break its CRC here:
// torch_pickle_fuzzer covers the unpickler directly.)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/models/torch_checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

// Tensors above this are not read: a compressed entry may claim gigabytes.
constexpr uint64_t kMaxReadBytes = 16u << 20;

void ReadEveryTensor(const TorchCheckpoint& file) {
  for (const std::string& name : file.Names()) {
    absl::StatusOr<const TorchTensorRef*> t = file.Find(name);
    Require(t.ok(), "Find() of a name returned by Names()");
    const uint64_t numel = static_cast<uint64_t>(NumElements((*t)->shape));
    if (numel * StDTypeBytes((*t)->dtype) > kMaxReadBytes) continue;
    const bool is_float = (*t)->dtype == StDType::kF32 ||
                          (*t)->dtype == StDType::kF16 ||
                          (*t)->dtype == StDType::kBF16;
    absl::StatusOr<Tensor> values = file.ReadFloat(name, (*t)->shape);
    if (!is_float || !(*t)->contiguous()) {
      Require(!values.ok(), "ReadFloat of an integer or strided tensor fails");
    } else if (values.ok()) {
      Require(static_cast<uint64_t>(values->numel()) == numel,
              "ReadFloat numel");
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
  absl::StatusOr<std::unique_ptr<attnserve::TorchCheckpoint>> opened =
      attnserve::TorchCheckpoint::Open(file->path());
  if (opened.ok()) attnserve::fuzz::ReadEveryTensor(**opened);
  return 0;
}
