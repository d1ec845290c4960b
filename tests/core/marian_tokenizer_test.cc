// MarianTokenizer against the golden HF outputs in
// tests/data/marian-tiny/cases.json.

#include "core/tokenizers/marian_tokenizer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

const std::string kMarianDir =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/marian-tiny";

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<int32_t> ToIds(const nlohmann::json& row) {
  return row.get<std::vector<int32_t>>();
}

class MarianTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new nlohmann::json(ReadJsonFile(kMarianDir + "/cases.json"));
#ifndef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    absl::StatusOr<std::unique_ptr<MarianTokenizer>> loaded =
        MarianTokenizer::Load(kMarianDir);
    if (loaded.ok()) {
      tokenizer_ = loaded->release();
    } else {
      load_error_ = new std::string(loaded.status().ToString());
    }
#endif
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete golden_;
    delete load_error_;
    tokenizer_ = nullptr;
    golden_ = nullptr;
    load_error_ = nullptr;
  }
  void SetUp() override {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    GTEST_SKIP() << kSpmShimUnderAsanMessage;
#endif
    ASSERT_NE(tokenizer_, nullptr)
        << (load_error_ ? *load_error_ : "not loaded");
  }

  const MarianTokenizer& tok() const { return *tokenizer_; }
  static const nlohmann::json& cases() { return (*golden_)["cases"]; }
  static const nlohmann::json& Case(const std::string& name) {
    for (const nlohmann::json& c : cases()) {
      if (c["name"] == name) return c;
    }
    ADD_FAILURE() << "no golden case " << name;
    return cases()[0];
  }

  static inline MarianTokenizer* tokenizer_ = nullptr;
  static inline nlohmann::json* golden_ = nullptr;
  static inline std::string* load_error_ = nullptr;
};

TEST_F(MarianTokenizerTest, SourceIdsMatchEveryGoldenCase) {
  const int max_length = (*golden_)["tokenizer_call"]["max_length"];
  for (const nlohmann::json& c : cases()) {
    for (size_t b = 0; b < c["texts"].size(); ++b) {
      SCOPED_TRACE(c["name"].get<std::string>() + " text " + std::to_string(b));
      const int len = c["seq_lens"][b];
      std::vector<int32_t> expected = ToIds(c["input_ids"][b]);
      expected.resize(len);
      absl::StatusOr<Encoding> enc = tok().EncodeSource(
          c["texts"][b].get<std::string>(), /*truncate=*/true, max_length);
      ASSERT_TRUE(enc.ok()) << enc.status();
      EXPECT_EQ(enc->ids, expected);
      ASSERT_EQ(enc->pieces.size(), enc->ids.size());
      // Golden source_tokens show "<unk>" where a piece is missing from
      // vocab.json.
      const auto golden_tokens =
          c["source_tokens"][b].get<std::vector<std::string>>();
      ASSERT_EQ(golden_tokens.size(), enc->pieces.size());
      for (size_t i = 0; i < golden_tokens.size(); ++i) {
        if (enc->ids[i] != tok().unk_id())
          EXPECT_EQ(enc->pieces[i], golden_tokens[i]) << i;
      }
      EXPECT_EQ(enc->truncated,
                c["name"] == "long_truncated" || c["name"] == "long_word");
    }
  }
}

TEST_F(MarianTokenizerTest, GreedyAndBeamSequencesDecodeToGoldenText) {
  for (const nlohmann::json& c : cases()) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const nlohmann::json& greedy = c["greedy"];
    for (size_t b = 0; b < greedy["sequences"].size(); ++b) {
      EXPECT_EQ(tok().Decode(ToIds(greedy["sequences"][b])),
                greedy["decoded"][b])
          << "greedy " << b;
    }
    const nlohmann::json& beam = c["beam"];
    for (size_t b = 0; b < beam["all_4_sequences"].size(); ++b) {
      for (size_t k = 0; k < beam["all_4_sequences"][b].size(); ++k) {
        EXPECT_EQ(tok().Decode(ToIds(beam["all_4_sequences"][b][k])),
                  beam["all_4_decoded"][b][k])
            << "beam input " << b << " hypothesis " << k;
      }
      EXPECT_EQ(tok().Decode(ToIds(beam["best_sequences"][b])),
                beam["best_decoded"][b]);
    }
  }
}

TEST_F(MarianTokenizerTest, DecodeOfAPrefixIsThePrefixText) {
  // Streaming decodes growing prefixes; the full row must equal decoding up to
  // </s>.
  const nlohmann::json& greedy = Case("ascii")["greedy"];
  std::vector<int32_t> row = ToIds(greedy["sequences"][0]);
  const int generated = greedy["generated_lengths_incl_eos"][0];
  row.resize(1 + generated);  // decoder start + generated tokens incl. </s>
  EXPECT_EQ(tok().Decode(row), greedy["decoded"][0]);
  row.pop_back();  // without </s>
  EXPECT_EQ(tok().Decode(row), greedy["decoded"][0]);
  EXPECT_EQ(tok().Decode({}), "");
  EXPECT_EQ(tok().Decode({tok().pad_id(), tok().eos_id(), tok().unk_id()}), "");
}

TEST_F(MarianTokenizerTest, OutOfRangeIdsDecodeAsDroppedUnknowns) {
  EXPECT_EQ(tok().Decode({-5, tok().vocab_size() + 10}), "");
}

TEST_F(MarianTokenizerTest, OverLongTextIsRejectedWithoutTruncation) {
  for (const std::string name : {"long_truncated", "long_word"}) {
    const std::string text = Case(name)["texts"][0];
    absl::StatusOr<Encoding> enc =
        tok().EncodeSource(text, /*truncate=*/false, 128);
    ASSERT_FALSE(enc.ok()) << name;
    EXPECT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(enc.status().message(), HasSubstr("128"));
  }
}

TEST_F(MarianTokenizerTest, TruncationKeepsMaxTokensMinusOnePiecesAndEos) {
  const nlohmann::json& c = Case("long_word");
  absl::StatusOr<Encoding> full = tok().EncodeSource(
      c["texts"][0].get<std::string>(), /*truncate=*/true, 1000);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_FALSE(full->truncated);
  ASSERT_GT(full->ids.size(), 128u);
  for (int max_tokens : {1, 2, 10, 128}) {
    absl::StatusOr<Encoding> cut = tok().EncodeSource(
        c["texts"][0].get<std::string>(), /*truncate=*/true, max_tokens);
    ASSERT_TRUE(cut.ok()) << cut.status();
    ASSERT_EQ(cut->ids.size(), static_cast<size_t>(max_tokens));
    EXPECT_TRUE(cut->truncated);
    EXPECT_EQ(cut->ids.back(), tok().eos_id());
    EXPECT_TRUE(
        std::equal(cut->ids.begin(), cut->ids.end() - 1, full->ids.begin()));
  }
  EXPECT_FALSE(tok().EncodeSource("hello", true, 0).ok());
}

TEST_F(MarianTokenizerTest, InvalidUtf8IsInvalidArgument) {
  for (const std::string bad :
       {std::string("abc\xFF"), std::string("\xC3"),
        std::string("\xED\xA0\x80"), std::string("\xC0\xAF"),
        std::string("ok \xF4\x90\x80\x80")}) {
    absl::StatusOr<Encoding> enc = tok().EncodeSource(bad, true, 128);
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(enc.status().message(), HasSubstr("UTF-8"));
  }
}

TEST_F(MarianTokenizerTest, SpecialTokenIdsAndConfigMatchTheFolder) {
  const nlohmann::json& g = *golden_;
  const nlohmann::json config = ReadJsonFile(kMarianDir + "/config.json");
  EXPECT_EQ(tok().eos_id(), g["eos_token_id"]);
  EXPECT_EQ(tok().pad_id(), g["pad_token_id"]);
  EXPECT_EQ(tok().unk_id(), g["unk_token_id"]);
  EXPECT_EQ(tok().vocab_size(), config["vocab_size"]);
  const nlohmann::json tok_config =
      ReadJsonFile(kMarianDir + "/tokenizer_config.json");
  EXPECT_EQ(tok().model_max_length(), tok_config["model_max_length"]);
  EXPECT_EQ(tok().source_lang(), tok_config["source_lang"]);
  EXPECT_EQ(tok().target_lang(), tok_config["target_lang"]);
}

TEST_F(MarianTokenizerTest, SingleTargetModelRejectsATargetLanguage) {
  EXPECT_TRUE(tok().target_language_tokens().empty());
  absl::StatusOr<Encoding> enc = tok().EncodeSource("hello", true, 128, "fr");
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(enc.status().message(), HasSubstr("single target language"));
}

TEST_F(MarianTokenizerTest, EncodingIsThreadSafe) {
  const nlohmann::json& c = Case("punctuation");
  const std::string text = c["texts"][0];
  std::vector<int32_t> expected = ToIds(c["input_ids"][0]);
  expected.resize(c["seq_lens"][0].get<int>());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        absl::StatusOr<Encoding> enc = tok().EncodeSource(text, true, 128);
        if (!enc.ok() || enc->ids != expected) ++mismatches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// A multi-target folder: the golden folder with two ">>xx<<" tokens added to
// vocab.json.
TEST_F(MarianTokenizerTest,
       TargetLanguageTokenIsPrependedForMultiTargetVocabs) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("attnserve_marian_multi_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const char* file : {"source.spm", "target.spm", "tokenizer_config.json",
                           "special_tokens_map.json"}) {
    std::filesystem::copy_file(
        kMarianDir + "/" + file, dir / file,
        std::filesystem::copy_options::overwrite_existing);
  }
  nlohmann::json vocab = ReadJsonFile(kMarianDir + "/vocab.json");
  const int fr_id = tok().vocab_size(), es_id = tok().vocab_size() + 1;
  vocab[">>fr<<"] = fr_id;
  vocab[">>es<<"] = es_id;
  std::ofstream(dir / "vocab.json") << vocab.dump();
  absl::StatusOr<std::unique_ptr<MarianTokenizer>> multi =
      MarianTokenizer::Load(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(multi.ok()) << multi.status();

  EXPECT_EQ((*multi)->target_language_tokens(),
            (std::vector<std::string>{">>fr<<", ">>es<<"}));
  absl::StatusOr<Encoding> plain = (*multi)->EncodeSource("Short.", true, 128);
  ASSERT_TRUE(plain.ok()) << plain.status();
  for (const std::string language : {"es", ">>es<<"}) {
    absl::StatusOr<Encoding> with_code =
        (*multi)->EncodeSource("Short.", true, 128, language);
    ASSERT_TRUE(with_code.ok()) << with_code.status();
    ASSERT_EQ(with_code->ids.size(), plain->ids.size() + 1);
    EXPECT_EQ(with_code->ids[0], es_id);
    EXPECT_EQ(with_code->pieces[0], ">>es<<");
    EXPECT_TRUE(std::equal(plain->ids.begin(), plain->ids.end(),
                           with_code->ids.begin() + 1));
  }
  // HF also honours a code written at the start of the text.
  absl::StatusOr<Encoding> in_text =
      (*multi)->EncodeSource(">>fr<< Short.", true, 128);
  ASSERT_TRUE(in_text.ok()) << in_text.status();
  EXPECT_EQ(in_text->ids[0], fr_id);
  // Truncation keeps the language token and </s>.
  absl::StatusOr<Encoding> cut =
      (*multi)->EncodeSource("Short.", true, 3, "fr");
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->ids,
            (std::vector<int32_t>{fr_id, plain->ids[0], (*multi)->eos_id()}));

  absl::StatusOr<Encoding> unknown =
      (*multi)->EncodeSource("Short.", true, 128, "xx");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr(">>fr<<, >>es<<"));
  // Language tokens are ordinary pieces for decoding (HF does not treat them as
  // special).
  EXPECT_EQ((*multi)->Decode({fr_id}), ">>fr<<");
}

TEST(MarianTokenizerLoad, MissingFolderIsAClearError) {
  absl::StatusOr<std::unique_ptr<MarianTokenizer>> tok =
      MarianTokenizer::Load("/nonexistent/marian-folder");
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("/nonexistent/marian-folder"));
}

}  // namespace
}  // namespace attnserve
