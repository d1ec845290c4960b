// Reads the golden fixtures (cases.json, tensors.safetensors) of tests/data for
// client tests.
#ifndef ATTNSERVE_TESTS_CLIENT_GOLDEN_UTIL_H_
#define ATTNSERVE_TESTS_CLIENT_GOLDEN_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::testing {

// tests/data/<model>/cases.json's case named `name`.
absl::StatusOr<nlohmann::json> GoldenCase(const std::string& model,
                                          const std::string& name);

// An F32 tensor of tests/data/<model>/tensors.safetensors, flattened row-major.
absl::StatusOr<std::vector<float>> GoldenTensorF32(const std::string& model,
                                                   const std::string& tensor);

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_CLIENT_GOLDEN_UTIL_H_
