// End to end: texts -> Translator (MarianTokenizer + MarianModel +
// generation_config.json) -> decoded text, against Hugging Face
// transformers 4.57.6 (marian-tiny golden cases).
#include "core/models/translator.h"

#include "core/tokenizers/sentencepiece.h"
#include "gtest/gtest.h"
#include "tests/core/marian_golden.h"

namespace attnserve {
namespace {

using testing::LoadMarianCases;
using testing::MarianCase;
using testing::MarianDir;

class TranslatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifndef ATTNSERVE_SPM_SHIM_UNAVAILABLE  // else SetUp() skips every test
    auto t = Translator::Load(MarianDir());
    ASSERT_TRUE(t.ok()) << t.status();
    translator_ = t->release();
#endif
  }
  static void TearDownTestSuite() { delete translator_; }
  void SetUp() override {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
    GTEST_SKIP() << kSpmShimUnderAsanMessage;
#endif
  }

  // Tokenizes every text of a case (truncating, as the golden cases did).
  static std::vector<std::vector<int32_t>> Tokenize(const MarianCase& c) {
    std::vector<std::vector<int32_t>> out;
    for (const std::string& text : c.texts) {
      auto enc = translator_->TokenizeSource(text, /*truncate=*/true);
      EXPECT_TRUE(enc.ok()) << enc.status();
      out.push_back(enc.ok() ? enc->ids : std::vector<int32_t>{});
    }
    return out;
  }
  static Translator* translator_;
};
Translator* TranslatorTest::translator_ = nullptr;

TEST_F(TranslatorTest, Metadata) {
  EXPECT_EQ(translator_->architecture(), "marian");
  EXPECT_EQ(translator_->max_input_tokens(), 128);
  EXPECT_EQ(translator_->max_new_tokens_limit(), 128);
  const GenerationOptions d = translator_->default_options();
  EXPECT_EQ(d.beam_size, 4);
  EXPECT_EQ(d.max_new_tokens,
            127);  // generation_config max_length 128 incl. decoder start
  EXPECT_EQ(d.length_penalty, 1.0f);
  EXPECT_FALSE(d.early_stopping);
  EXPECT_EQ(translator_->source_languages(), std::vector<std::string>{"en"});
  EXPECT_EQ(translator_->target_languages(), std::vector<std::string>{"de"});
  EXPECT_EQ(translator_->dtype(), DType::kFloat32);
}

TEST_F(TranslatorTest, LoadsInt8) {
  LoadOptions options;
  options.dtype = DType::kInt8;
  auto t = Translator::Load(MarianDir(), options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dtype(), DType::kInt8);
}

TEST_F(TranslatorTest, GreedyTextsMatchHuggingFace) {
  GenerationOptions greedy;
  greedy.max_new_tokens = 16;
  for (const MarianCase& c : LoadMarianCases()) {
    const auto ids = Tokenize(c);
    ASSERT_EQ(ids, c.sources) << c.name;
    const std::vector<absl::Span<const int32_t>> spans(ids.begin(), ids.end());
    auto out = translator_->Generate(spans, greedy);
    ASSERT_TRUE(out.ok()) << out.status();
    for (size_t b = 0; b < c.texts.size(); ++b) {
      ASSERT_EQ((*out)[b].size(), 1u);
      EXPECT_EQ(translator_->Detokenize((*out)[b][0].ids), c.greedy_decoded[b])
          << c.name << " text " << b;
    }
  }
}

TEST_F(TranslatorTest, BeamTextsMatchHuggingFace) {
  GenerationOptions beam = translator_->default_options();
  beam.max_new_tokens = 16;
  beam.num_hypotheses = 4;
  for (const MarianCase& c : LoadMarianCases()) {
    const auto ids = Tokenize(c);
    const std::vector<absl::Span<const int32_t>> spans(ids.begin(), ids.end());
    auto out = translator_->Generate(spans, beam);
    ASSERT_TRUE(out.ok()) << out.status();
    for (size_t b = 0; b < c.texts.size(); ++b) {
      ASSERT_EQ((*out)[b].size(), 4u);
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(translator_->Detokenize((*out)[b][k].ids),
                  c.beam_decoded[b][k])
            << c.name << " text " << b << " hypothesis " << k;
        EXPECT_NEAR((*out)[b][k].score, c.beam_scores[b][k], 1e-4);
      }
    }
  }
}

}  // namespace
}  // namespace attnserve
