// Tests of the dlopen'ed sentencepiece shim (core/tokenizers/sentencepiece.h).

#include "core/tokenizers/sentencepiece.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

const std::string kMarianDir =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/marian-tiny";

#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
#define SKIP_UNDER_SANITIZER() GTEST_SKIP() << kSpmShimUnderAsanMessage
#else
#define SKIP_UNDER_SANITIZER() (void)0
#endif

nlohmann::json FirstCase(const std::string& name) {
  std::ifstream in(kMarianDir + "/cases.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  for (const nlohmann::json& c : cases["cases"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no case " << name;
  return {};
}

// Runs first (declaration order): the system libprotobuf (what gRPC links) is
// loaded into the process BEFORE the shim, which is the combination that
// aborted without the isolation.
TEST(SentencePieceShim, LoadsAndEncodesWithSystemProtobufInProcess) {
  SKIP_UNDER_SANITIZER();
  void* protobuf = dlopen("libprotobuf.so.32", RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(protobuf, nullptr) << dlerror();

  absl::StatusOr<std::unique_ptr<SpmModel>> spm =
      SpmModel::Load(kMarianDir + "/source.spm");
  ASSERT_TRUE(spm.ok()) << spm.status();
  const nlohmann::json c = FirstCase("ascii");
  absl::StatusOr<std::vector<std::string>> pieces =
      (*spm)->EncodePieces(c["texts"][0].get<std::string>());
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  // Golden source_tokens = the spm pieces (all in vocab for this case) followed
  // by </s>.
  std::vector<std::string> expected =
      c["source_tokens"][0].get<std::vector<std::string>>();
  expected.pop_back();
  EXPECT_EQ(*pieces, expected);
  dlclose(protobuf);
}

TEST(SentencePieceShim, PieceIdRoundTripAndUnknown) {
  SKIP_UNDER_SANITIZER();
  absl::StatusOr<std::unique_ptr<SpmModel>> spm =
      SpmModel::Load(kMarianDir + "/source.spm");
  ASSERT_TRUE(spm.ok()) << spm.status();
  const SpmModel& model = **spm;
  EXPECT_EQ(model.piece_size(), 1000);  // README: 1000 pieces per model
  EXPECT_EQ(model.IdToPiece(0), "<unk>");
  EXPECT_TRUE(model.IsUnknown(0));
  EXPECT_FALSE(model.IsUnknown(5));
  for (int id = 3; id < model.piece_size(); ++id) {
    ASSERT_EQ(model.PieceToId(model.IdToPiece(id)), id) << model.IdToPiece(id);
  }
  EXPECT_EQ(model.PieceToId("no such piece"), 0);
  EXPECT_EQ(model.IdToPiece(-1), "");
  EXPECT_EQ(model.IdToPiece(model.piece_size()), "");
  EXPECT_FALSE(model.IsUnknown(model.piece_size()));
}

TEST(SentencePieceShim, DecodePiecesEmitsUnknownPiecesVerbatim) {
  SKIP_UNDER_SANITIZER();
  absl::StatusOr<std::unique_ptr<SpmModel>> target =
      SpmModel::Load(kMarianDir + "/target.spm");
  ASSERT_TRUE(target.ok()) << target.status();
  // "▁the" is a source-only piece of the joint vocab (README, "Decoding text").
  const std::string the = "\xE2\x96\x81the";
  ASSERT_TRUE((*target)->IsUnknown((*target)->PieceToId(the)));
  absl::StatusOr<std::string> text = (*target)->DecodePieces({the, the});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, the + the);
  absl::StatusOr<std::string> empty = (*target)->DecodePieces({});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
}

TEST(SentencePieceShim, EmptyAndWhitespaceTextGiveNoPieces) {
  SKIP_UNDER_SANITIZER();
  absl::StatusOr<std::unique_ptr<SpmModel>> spm =
      SpmModel::Load(kMarianDir + "/source.spm");
  ASSERT_TRUE(spm.ok()) << spm.status();
  for (const std::string text : {"", " ", " \t\n "}) {
    absl::StatusOr<std::vector<std::string>> pieces =
        (*spm)->EncodePieces(text);
    ASSERT_TRUE(pieces.ok()) << pieces.status();
    EXPECT_TRUE(pieces->empty()) << "text '" << text << "'";
  }
}

TEST(SentencePieceShim, MissingModelFileIsNotFound) {
  SKIP_UNDER_SANITIZER();
  const std::string path = kMarianDir + "/does-not-exist.spm";
  absl::StatusOr<std::unique_ptr<SpmModel>> spm = SpmModel::Load(path);
  ASSERT_FALSE(spm.ok());
  EXPECT_EQ(spm.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(spm.status().message(), HasSubstr(path));
}

TEST(SentencePieceShim, CorruptModelFileIsAClearError) {
  SKIP_UNDER_SANITIZER();
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("attnserve_corrupt_" + std::to_string(getpid()) + ".spm");
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a sentencepiece model \xFF\xFE\x01\x02";
  }
  absl::StatusOr<std::unique_ptr<SpmModel>> spm = SpmModel::Load(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(spm.ok());
  EXPECT_EQ(spm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spm.status().message(),
              HasSubstr("cannot load sentencepiece model"));
  EXPECT_THAT(spm.status().message(), HasSubstr(path.string()));
}

TEST(SentencePieceShim, EnvVarOverridesTheShimPath) {
  SKIP_UNDER_SANITIZER();
  const char* previous = getenv("ATTNSERVE_SPM_SHIM");
  const std::string saved = previous != nullptr ? previous : "";
  setenv("ATTNSERVE_SPM_SHIM", "/nonexistent/libattnserve_spm_shim.so", 1);
  absl::StatusOr<std::shared_ptr<const SpmShim>> shim = SpmShim::Load();
  if (previous != nullptr) {
    setenv("ATTNSERVE_SPM_SHIM", saved.c_str(), 1);
  } else {
    unsetenv("ATTNSERVE_SPM_SHIM");
  }
  ASSERT_FALSE(shim.ok());
  EXPECT_THAT(shim.status().message(),
              HasSubstr("/nonexistent/libattnserve_spm_shim.so"));
}

TEST(SentencePieceShim, DefaultSearchFindsTheBuiltShim) {
  absl::StatusOr<std::shared_ptr<const SpmShim>> shim = SpmShim::Load();
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
  ASSERT_FALSE(shim.ok());
  EXPECT_EQ(shim.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(shim.status().message(), kSpmShimUnderAsanMessage);
#else
  ASSERT_TRUE(shim.ok()) << shim.status();
  EXPECT_THAT((*shim)->path(), HasSubstr("libattnserve_spm_shim.so"));
#endif
}

}  // namespace
}  // namespace attnserve
