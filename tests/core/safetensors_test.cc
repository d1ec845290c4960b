#include "core/models/safetensors.h"

#include <unistd.h>

#include "gtest/gtest.h"
#include "tests/core/safetensors_writer.h"

namespace attnserve {
namespace {

using ::attnserve::testing::SafetensorsBytes;

class SafetensorsTest : public ::testing::Test {
 protected:
  // Writes `bytes` to a temp file and opens it.
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> OpenBytes(
      const std::string& bytes) {
    path_ = attnserve::testing::TempDir("st") + "/t.safetensors";
    attnserve::testing::WriteFile(path_, bytes);
    return SafetensorsFile::Open(path_);
  }
  std::string path_;
};

std::string Floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

TEST_F(SafetensorsTest, ReadsF32F16Bf16AndI64) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("h":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},)"
      R"("i":{"dtype":"I64","shape":[2],"data_offsets":[26,42]}})";
  std::string data = Floats({1, 2, 3, -4.5f});
  data += std::string("\x00\x3c\x00\xc0\x01\x00",
                      6);  // f16: 1.0, -2.0, smallest subnormal
  data += std::string("\x80\x3f\x40\xc0", 4);  // bf16: 1.0, -3.0
  int64_t ints[2] = {7, -9};
  data += std::string(reinterpret_cast<const char*>(ints), 16);
  auto f = OpenBytes(SafetensorsBytes(header, data));
  ASSERT_TRUE(f.ok()) << f.status();
  auto a = (*f)->ReadFloat("a", {2, 2});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)[3], -4.5f);
  auto h = (*f)->ReadFloat("h");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)[0], 1.0f);
  EXPECT_EQ((*h)[1], -2.0f);
  EXPECT_FLOAT_EQ((*h)[2], 5.9604645e-8f);
  auto b = (*f)->ReadFloat("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0], 1.0f);
  EXPECT_EQ((*b)[1], -3.0f);
  std::vector<int64_t> shape;
  auto i = (*f)->ReadInt64("i", &shape);
  ASSERT_TRUE(i.ok());
  EXPECT_EQ((*i)[1], -9);
  EXPECT_EQ(shape, std::vector<int64_t>{2});
}

void ExpectError(const absl::StatusOr<std::unique_ptr<SafetensorsFile>>& f,
                 const std::string& needle) {
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status();
  EXPECT_NE(f.status().message().find("t.safetensors"), std::string::npos)
      << f.status();
}

TEST_F(SafetensorsTest, RejectsMalformedFiles) {
  const std::string ok =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ExpectError(OpenBytes("abc"), "not a safetensors file");
  // Header length larger than the file (truncated).
  ExpectError(OpenBytes(SafetensorsBytes(ok, Floats({1, 2})).substr(0, 30)),
              "exceeds the file");
  // Data truncated: offsets point past the end.
  ExpectError(OpenBytes(SafetensorsBytes(ok, Floats({1}))),
              "outside the data section");
  ExpectError(OpenBytes(SafetensorsBytes("{not json", "")), "bad header JSON");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})",
                  Floats({1, 2}))),
              "unsupported dtype");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                  Floats({1, 2}))),
              "needs 12 bytes");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
                  Floats({1, 2}))),
              "'w'");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  Floats({1, 2, 3}))),
              "overlap");
  ExpectError(OpenBytes(SafetensorsBytes(R"({"w":{"dtype":"F32","shape":[2]}})",
                                         Floats({1, 2}))),
              "malformed entry");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                  Floats({1, 2}))),
              "\"shape\" must be a list of non-negative integers");
  // Numbers that are not integers: a double beyond int64 was cast (UB).
  ExpectError(
      OpenBytes(SafetensorsBytes(
          R"({"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}})",
          Floats({1, 2}))),
      "\"shape\" must be a list of non-negative integers");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
                  Floats({1, 2}))),
              "\"shape\" must be a list of non-negative integers");
  ExpectError(OpenBytes(SafetensorsBytes(
                  R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}})",
                  Floats({1, 2}))),
              "\"data_offsets\" must be two non-negative integers");
  ExpectError(
      OpenBytes(SafetensorsBytes(
          R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})",
          Floats({1, 2}))),
      "too large");
}

TEST_F(SafetensorsTest, MissingTensorAndWrongShapeNameTheTensor) {
  auto f = OpenBytes(SafetensorsBytes(
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      Floats({1, 2})));
  ASSERT_TRUE(f.ok());
  auto missing = (*f)->ReadFloat("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  auto shape = (*f)->ReadFloat("w", {3});
  EXPECT_NE(shape.status().message().find("has shape [2], expected [3]"),
            std::string::npos)
      << shape.status();
  EXPECT_FALSE((*f)->ReadInt64("w").ok());
  EXPECT_EQ(SafetensorsFile::Open("/nonexistent/x.safetensors").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnserve
