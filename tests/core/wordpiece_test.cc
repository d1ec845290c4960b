#include "core/tokenizers/wordpiece.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kBertDir =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";

nlohmann::json ReadCases() {
  std::ifstream in(kBertDir + "/cases.json");
  EXPECT_TRUE(in.good()) << "missing " << kBertDir << "/cases.json";
  return nlohmann::json::parse(in);
}

const nlohmann::json& FindCase(const nlohmann::json& cases,
                               const std::string& name) {
  for (const nlohmann::json& c : cases["cases"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no case " << name;
  static const nlohmann::json kEmpty;
  return kEmpty;
}

std::unique_ptr<WordpieceTokenizer> LoadBert() {
  auto tok = WordpieceTokenizer::Load(kBertDir);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

// A fresh folder under the test temp dir holding the given files.
std::string MakeFolder(
    const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& files) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::TempDir()) / ("wordpiece_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& [file, contents] : files) {
    std::ofstream(dir / file, std::ios::binary) << contents;
  }
  return dir.string();
}

TEST(WordpieceTest, MatchesEveryGoldenCase) {
  const nlohmann::json cases = ReadCases();
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  const int max_length = cases["tokenizer_call"]["max_length"].get<int>();
  int texts_checked = 0;
  for (const nlohmann::json& c : cases["cases"]) {
    const auto& texts = c["texts"];
    for (size_t b = 0; b < texts.size(); ++b) {
      const std::string text = texts[b].get<std::string>();
      SCOPED_TRACE(c["name"].get<std::string>() + " text " + std::to_string(b));
      auto encoding = tok->Encode(text, /*truncate=*/true, max_length);
      ASSERT_TRUE(encoding.ok()) << encoding.status();
      const int seq_len = c["seq_lens"][b].get<int>();
      std::vector<int32_t> expected_ids;
      for (int t = 0; t < seq_len; ++t) {
        expected_ids.push_back(c["input_ids"][b][t].get<int32_t>());
      }
      EXPECT_EQ(encoding->pieces,
                c["tokens"][b].get<std::vector<std::string>>());
      EXPECT_EQ(encoding->ids, expected_ids);
      ++texts_checked;
    }
  }
  EXPECT_GE(texts_checked, 14);
}

TEST(WordpieceTest, SpecialIdsComeFromVocab) {
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->unk_id(), 1);
  EXPECT_EQ(tok->cls_id(), 2);
  EXPECT_EQ(tok->sep_id(), 3);
  EXPECT_EQ(tok->vocab_size(),
            ReadCases()["tokenizer_call"]["vocab_size"].get<int>());
  EXPECT_EQ(tok->model_max_length(), 128);
}

TEST(WordpieceTest, LongTextTruncatesToExactlyMaxTokens) {
  const nlohmann::json cases = ReadCases();
  const nlohmann::json& c = FindCase(cases, "long_truncated");
  const std::string text = c["texts"][0].get<std::string>();
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);

  auto truncated = tok->Encode(text, /*truncate=*/true, 128);
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(truncated->ids.size(), 128u);
  EXPECT_EQ(truncated->ids.back(), tok->sep_id());
  EXPECT_TRUE(truncated->truncated);

  auto short_cut = tok->Encode(text, /*truncate=*/true, 10);
  ASSERT_TRUE(short_cut.ok()) << short_cut.status();
  ASSERT_EQ(short_cut->ids.size(), 10u);
  EXPECT_EQ(short_cut->ids.back(), tok->sep_id());
  for (int t = 0; t < 9; ++t) EXPECT_EQ(short_cut->ids[t], truncated->ids[t]);

  auto rejected = tok->Encode(text, /*truncate=*/false, 128);
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(), HasSubstr("truncation"));

  auto fits = tok->Encode("short text", /*truncate=*/false, 128);
  ASSERT_TRUE(fits.ok());
  EXPECT_FALSE(fits->truncated);
  EXPECT_EQ(tok->Encode("x", true, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WordpieceTest, EmptyTextIsClsSep) {
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  for (const char* text :
       {"", "   \t\n", "\xE2\x80\x8B"}) {  // empty, blanks, U+200B
    auto encoding = tok->Encode(text, false, 128);
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    EXPECT_THAT(encoding->ids, ElementsAre(tok->cls_id(), tok->sep_id()));
    EXPECT_THAT(encoding->pieces, ElementsAre("[CLS]", "[SEP]"));
    EXPECT_FALSE(encoding->truncated);
  }
}

TEST(WordpieceTest, RejectsInvalidUtf8WithByteOffset) {
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  const std::vector<std::pair<std::string, int>> bad = {
      {"ab\xC0\xAF", 2},        // overlong "/"
      {"\xE0\x80\xAF", 0},      // overlong 3-byte
      {"\xF0\x80\x80\xAF", 0},  // overlong 4-byte
      {"x\x80y", 1},            // lone continuation byte
      {"abc\xE2\x82", 3},       // truncated sequence at the end
      {"\xE2\x82 z", 0},        // truncated sequence before a space
      {"ok \xED\xA0\x80", 3},   // UTF-16 surrogate U+D800
      {"\xF4\x90\x80\x80", 0},  // above U+10FFFF
      {"\xFF", 0},
  };
  for (const auto& [text, offset] : bad) {
    auto encoding = tok->Encode(text, true, 128);
    EXPECT_EQ(encoding.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(
        encoding.status().message(),
        "text is not valid UTF-8 (byte offset " + std::to_string(offset) + ")");
  }
  EXPECT_TRUE(tok->Encode("caf\xC3\xA9 \xF0\x9F\x8D\x95", true, 128).ok());
}

TEST(WordpieceTest, MissingVocabNamesTheFile) {
  const std::string dir =
      MakeFolder("no_vocab", {{"tokenizer_config.json", "{}"}});
  auto tok = WordpieceTokenizer::Load(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tok.status().message(), HasSubstr(dir + "/vocab.txt"));
}

TEST(WordpieceTest, BadConfigNamesTheFile) {
  const std::string dir = MakeFolder(
      "bad_config", {{"vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n"},
                     {"tokenizer_config.json", "{\"do_lower_case\": "}});
  auto tok = WordpieceTokenizer::Load(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("tokenizer_config.json"));
}

TEST(WordpieceTest, MissingSpecialTokenInVocabIsAnError) {
  const std::string dir =
      MakeFolder("no_cls", {{"vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhi\n"}});
  auto tok = WordpieceTokenizer::Load(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("[CLS]"));
  EXPECT_THAT(tok.status().message(), HasSubstr("cls_token"));
}

// A vocabulary of our own with special tokens at unusual lines, no config files
// (so BertTokenizer defaults apply: lower-casing, accent stripping, default
// token strings).
TEST(WordpieceTest, OtherVocabUsesItsOwnSpecialIds) {
  const std::string dir = MakeFolder(
      "own_vocab",
      {{"vocab.txt",
        "hello\r\n##lo\r\n[SEP]\r\nhel\r\n[UNK]\r\n!\r\n[CLS]\r\n[MASK]\r\n"
        "[PAD]\r\ncafe\r\n"}});
  auto loaded = WordpieceTokenizer::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const WordpieceTokenizer& tok = **loaded;
  EXPECT_EQ(tok.sep_id(), 2);
  EXPECT_EQ(tok.unk_id(), 4);
  EXPECT_EQ(tok.cls_id(), 6);
  EXPECT_EQ(tok.pad_id(), 8);
  EXPECT_EQ(tok.vocab_size(), 10);
  EXPECT_GT(tok.model_max_length(), 1000000);

  auto encoding =
      tok.Encode("HELLO Hello! [MASK]hello CAFÉ zzz [SEP]", true, 64);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_THAT(encoding->pieces,
              ElementsAre("[CLS]", "hello", "hello", "!", "[MASK]", "hello",
                          "cafe", "[UNK]", "[SEP]", "[SEP]"));
  EXPECT_THAT(encoding->ids, ElementsAre(6, 0, 0, 5, 7, 0, 9, 4, 2, 2));

  auto pieces = tok.Encode("hello hellolo", true, 64);
  ASSERT_TRUE(pieces.ok());
  EXPECT_THAT(pieces->ids, ElementsAre(6, 0, 0, 1, 2));
}

// do_lower_case false: case is kept, accents are kept (strip_accents null
// follows it).
TEST(WordpieceTest, CasedConfigKeepsCaseAndAccents) {
  const std::string dir = MakeFolder(
      "cased",
      {{"vocab.txt",
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\nhello\ncafé\ncafe\n"},
       {"tokenizer_config.json",
        R"({"do_lower_case": false, "strip_accents": null, "model_max_length": 1e30})"}});
  auto loaded = WordpieceTokenizer::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto encoding =
      (*loaded)->Encode("Hello hello cafe\xCC\x81 café HELLO", true, 64);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  // "cafe" + U+0301 composes (NFC) to "café".
  EXPECT_THAT(encoding->pieces, ElementsAre("[CLS]", "Hello", "hello", "café",
                                            "café", "[UNK]", "[SEP]"));
  EXPECT_EQ((*loaded)->model_max_length(), std::numeric_limits<int>::max());
}

// Inputs that the HF pipeline maps to the same tokens (derived from its rules,
// not outputs).
TEST(WordpieceTest, EquivalentSpellingsTokenizeAlike) {
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"\xC4\xB0S IT",
       "is it"},  // U+0130 lowers to "i" + U+0307, accent stripped
      {"cafe\xCC\x81", "caf\xC3\xA9"},  // combining vs precomposed acute
      {"caf\xC3\xA9", "cafe"},
      {"x\x0By", "xy"},  // vertical tab is a control char: dropped
      {"a\xE2\x80\xA8"
       "b",
       "a b"},  // U+2028 separates words (Python str.split)
      {"\xE6\x97\xA5\xE6\x9C\xAC",
       "\xE6\x97\xA5 \xE6\x9C\xAC"},  // CJK isolated
      {"[Sep]", "[ sep ]"},  // only the exact special string is special
      {"hello[SEP]world", "hello [SEP] world"},
      {"\xC3\x9F", "[UNK]"},  // sharp s stays sharp s: not in this vocab
  };
  for (const auto& [a, b] : pairs) {
    auto ea = tok->Encode(a, true, 128);
    auto eb = tok->Encode(b, true, 128);
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_EQ(ea->pieces, eb->pieces)
        << a << " vs " << b << ": " << testing::PrintToString(ea->pieces);
    EXPECT_EQ(ea->ids, eb->ids) << a << " vs " << b;
  }
}

TEST(WordpieceTest, ConcurrentEncodesAgree) {
  const nlohmann::json cases = ReadCases();
  auto tok = LoadBert();
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts;
  for (const nlohmann::json& c : cases["cases"]) {
    for (const auto& t : c["texts"]) texts.push_back(t.get<std::string>());
  }
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& t : texts)
    expected.push_back(tok->Encode(t, true, 128)->ids);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          auto e = tok->Encode(texts[i], true, 128);
          if (!e.ok() || e->ids != expected[i]) ++mismatches[w];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace attnserve
