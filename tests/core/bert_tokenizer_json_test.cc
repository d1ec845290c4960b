// BertTokenizerJson: the tokenizer.json transformers' BertTokenizerFast
// converts from a vocab.txt-only folder (convert_slow_tokenizer.BertConverter
// plus the added and special tokens of PreTrainedTokenizerFast.__init__).
// Expected values come from transformers 4.57.6 / tokenizers 0.22.2
// (AutoTokenizer.from_pretrained on the same files; see each test).

#include "core/tokenizers/bert_tokenizer_json.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/hf_tokenizer.h"
#include "core/tokenizers/vocabulary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::string kBertFixture =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/tokenizers/wordpiece-bert";

class TempFolder {
 public:
  TempFolder() {
    path_ = std::filesystem::temp_directory_path() /
            ("bert_tokenizer_json_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  void Write(const std::string& name, const std::string& body) const {
    std::ofstream(path_ / name, std::ios::binary) << body;
  }

 private:
  std::filesystem::path path_;
};

absl::StatusOr<Json> Convert(const std::string& folder) {
  absl::StatusOr<Vocabulary> vocab =
      Vocabulary::LoadFile(folder + "/vocab.txt");
  if (!vocab.ok()) return vocab.status();
  absl::StatusOr<BertTokenizerConfig> config = LoadBertTokenizerConfig(folder);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::string> text = BertTokenizerJson(*vocab, *config, folder);
  if (!text.ok()) return text.status();
  return Json::parse(*text);
}

// The fixture's tokenizer.json is what save_pretrained wrote; converting its
// vocab.txt and configs gives the same JSON, section for section.
TEST(BertTokenizerJsonTest, EqualsTheSavedTokenizerJsonOfTheFixture) {
  absl::StatusOr<Json> got = Convert(kBertFixture);
  ASSERT_TRUE(got.ok()) << got.status();
  std::ifstream in(kBertFixture + "/tokenizer.json");
  const Json want = Json::parse(in);
  for (const auto& [key, value] : want.items()) {
    EXPECT_EQ(got->value(key, Json()), value) << key;
  }
  EXPECT_EQ(got->size(), want.size());
}

// A folder exercising the settings: no lower-casing of accents, no Chinese
// splitting, added tokens outside vocab.txt (ids after it, in id order, then
// the additional special token), lstrip / rstrip / single_word / normalized.
// transformers gives added_tokens [NEW]=9 <Ent>=10 [X]=11 and the ids below.
class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_.Write("vocab.txt",
                  "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ncafe\ncaf\xc3\xa9\n##s\n"
                  "hello\n");
    folder_.Write("tokenizer_config.json", R"({
      "do_lower_case": true, "strip_accents": false,
      "tokenize_chinese_chars": false,
      "added_tokens_decoder": {
        "0": {"content": "[PAD]", "lstrip": false, "normalized": false,
              "rstrip": false, "single_word": false, "special": true},
        "10": {"content": "<Ent>", "lstrip": true, "normalized": true,
               "rstrip": false, "single_word": true, "special": false},
        "9": {"content": "[NEW]", "lstrip": false, "normalized": false,
              "rstrip": true, "single_word": false, "special": false}},
      "additional_special_tokens": ["[X]"],
      "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
      "pad_token": "[PAD]", "mask_token": "[MASK]"})");
  }
  TempFolder folder_;
};

TEST_F(SettingsTest, NormalizerAndAddedTokensAreTheConvertedOnes) {
  absl::StatusOr<Json> got = Convert(folder_.path());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->at("normalizer"), Json::parse(R"({"type": "BertNormalizer",
      "clean_text": true, "handle_chinese_chars": false,
      "strip_accents": false, "lowercase": true})"));
  std::vector<std::string> contents;
  std::vector<int> ids;
  for (const Json& token : got->at("added_tokens")) {
    contents.push_back(token.at("content"));
    ids.push_back(token.at("id"));
  }
  // added_tokens_decoder by id, then the special tokens in transformers'
  // order (unk, sep, pad, cls, mask, additional).
  EXPECT_THAT(contents, ElementsAre("[PAD]", "[NEW]", "<Ent>", "[UNK]", "[SEP]",
                                    "[CLS]", "[MASK]", "[X]"));
  EXPECT_THAT(ids, ElementsAre(0, 9, 10, 1, 3, 2, 4, 11));
  EXPECT_EQ(got->at("added_tokens")[2], Json::parse(R"({"id": 10,
      "content": "<Ent>", "single_word": true, "lstrip": true,
      "rstrip": false, "normalized": true, "special": false})"));
}

TEST_F(SettingsTest, EncodesAsTheFastTokenizer) {
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
      HfTokenizer::Load(folder_.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 12);
  struct Case {
    std::string text;
    std::vector<int32_t> ids;
  };
  // "Cafe" + U+0301: the fast tokenizer does not compose (no NFC), so the
  // word is [UNK]; the slow BertTokenizer's NFC made it "café" (6).
  for (const Case& c : std::vector<Case>{
           {"Cafe\xcc\x81", {2, 1, 3}},
           {"caf\xc3\xa9 hello", {2, 6, 8, 3}},
           {"x <ent> y [NEW]hello [X]", {2, 1, 10, 1, 9, 8, 11, 3}},
           {"hello<Ent>", {2, 8, 1, 1, 1, 3}}}) {
    absl::StatusOr<Encoding> got = (*tok)->Encode(c.text, false, 512);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->ids, c.ids) << c.text;
  }
}

// bert-tiny ships vocab.txt only. Its goldens were made with the slow
// BertTokenizer; the converted fast tokenizer gives the same ids on all of
// them (no combining sequences there), and so must we.
TEST(BertTokenizerJsonTest, BertTinyMatchesEveryGoldenCase) {
  const std::string folder =
      std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";
  ASSERT_FALSE(std::filesystem::exists(folder + "/tokenizer.json"));
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok = HfTokenizer::Load(folder);
  ASSERT_TRUE(tok.ok()) << tok.status();
  std::ifstream in(folder + "/cases.json");
  const Json cases = Json::parse(in);
  const int max_length = cases["tokenizer_call"]["max_length"].get<int>();
  EXPECT_EQ((*tok)->vocab_size(),
            cases["tokenizer_call"]["vocab_size"].get<int>());
  EXPECT_EQ((*tok)->model_max_length(), 128);
  EXPECT_EQ((*tok)->pad_id(), 0);
  EXPECT_EQ((*tok)->cls_id(), 2);
  EXPECT_EQ((*tok)->sep_id(), 3);
  int texts_checked = 0;
  for (const Json& c : cases["cases"]) {
    for (size_t b = 0; b < c["texts"].size(); ++b) {
      SCOPED_TRACE(c["name"].get<std::string>() + " text " + std::to_string(b));
      absl::StatusOr<Encoding> got = (*tok)->Encode(
          c["texts"][b].get<std::string>(), /*truncate=*/true, max_length);
      ASSERT_TRUE(got.ok()) << got.status();
      const std::vector<int32_t> padded = c["input_ids"][b];
      const std::vector<int32_t> want(
          padded.begin(), padded.begin() + c["seq_lens"][b].get<int>());
      EXPECT_EQ(got->ids, want);
      EXPECT_EQ(got->pieces, c["tokens"][b].get<std::vector<std::string>>());
      ++texts_checked;
    }
  }
  EXPECT_GE(texts_checked, 14);
}

TEST(BertTokenizerJsonTest, NullClsTokenIsInvalidArgumentNamingIt) {
  TempFolder folder;
  folder.Write("vocab.txt", "[UNK]\n[SEP]\nhello\n");
  folder.Write("tokenizer_config.json", R"({"cls_token": null})");
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
      HfTokenizer::Load(folder.path());
  ASSERT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tok.status().message(), HasSubstr("cls_token"));
  EXPECT_THAT(tok.status().message(), HasSubstr(folder.path()));
}

}  // namespace
}  // namespace attnserve
