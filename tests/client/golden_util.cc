#include "tests/client/golden_util.h"

#include <cstdint>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "client/channel.h"

namespace attnserve::testing {
namespace {

std::string ModelDir(const std::string& model) {
  return absl::StrCat(ATTNSERVE_TEST_DATA_DIR, "/", model);
}

}  // namespace

absl::StatusOr<nlohmann::json> GoldenCase(const std::string& model,
                                          const std::string& name) {
  const std::string path = ModelDir(model) + "/cases.json";
  absl::StatusOr<std::string> text = client::ReadFileToString(path);
  if (!text.ok()) return text.status();
  nlohmann::json cases;
  try {
    cases = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": ", e.what()));
  }
  for (const nlohmann::json& c : cases["cases"]) {
    if (c["name"] == name) return c;
  }
  return absl::NotFoundError(absl::StrCat(path, " has no case ", name));
}

absl::StatusOr<std::vector<float>> GoldenTensorF32(const std::string& model,
                                                   const std::string& tensor) {
  const std::string path = ModelDir(model) + "/tensors.safetensors";
  absl::StatusOr<std::string> bytes = client::ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() < 8) return absl::DataLossError(path + " is too short");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes->data(),
              8);  // little-endian, as is this machine
  if (8 + header_len > bytes->size()) {
    return absl::DataLossError(path + ": header length beyond the file");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes->substr(8, header_len));
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": ", e.what()));
  }
  if (!header.contains(tensor) || header[tensor]["dtype"] != "F32") {
    return absl::NotFoundError(
        absl::StrCat(path, " has no F32 tensor ", tensor));
  }
  const uint64_t begin = header[tensor]["data_offsets"][0];
  const uint64_t end = header[tensor]["data_offsets"][1];
  const size_t base = 8 + header_len;
  if (base + end > bytes->size() || end < begin || (end - begin) % 4 != 0) {
    return absl::DataLossError(absl::StrCat(path, ": bad offsets of ", tensor));
  }
  std::vector<float> values((end - begin) / 4);
  std::memcpy(values.data(), bytes->data() + base + begin, end - begin);
  return values;
}

}  // namespace attnserve::testing
