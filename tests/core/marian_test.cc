// MarianModel against Hugging Face transformers 4.57.6 reference tensors
// (marian-tiny).
#include "core/models/marian.h"

#include <cmath>
#include <limits>

#include "core/layers/kv_cache.h"
#include "core/layers/positions.h"
#include "core/models/hf_config.h"
#include "core/models/marian_config.h"
#include "core/models/safetensors.h"
#include "gtest/gtest.h"
#include "tests/core/marian_golden.h"

namespace attnserve {
namespace {

using testing::LoadMarianCases;
using testing::MarianDir;

class MarianModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = MarianModel::Load(MarianDir());
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
    auto tensors = SafetensorsFile::Open(MarianDir() + "/tensors.safetensors");
    ASSERT_TRUE(tensors.ok()) << tensors.status();
    tensors_ = tensors->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tensors_;
  }
  static MarianModel* model_;
  static SafetensorsFile* tensors_;
};
MarianModel* MarianModelTest::model_ = nullptr;
SafetensorsFile* MarianModelTest::tensors_ = nullptr;

TEST(MarianPositionsTest, SinHalfThenCosHalf) {
  const Tensor p = SinusoidalPositions(128, 64);
  for (int pos : {0, 1, 7, 127}) {
    for (int i = 0; i < 32; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / 64.0);
      EXPECT_EQ(p[pos * 64 + i], static_cast<float>(std::sin(angle)));
      EXPECT_EQ(p[pos * 64 + 32 + i], static_cast<float>(std::cos(angle)));
    }
  }
}

TEST(MarianConfigTest, ReadsTinyConfigAndRejectsPreLayerNorm) {
  auto json = JsonFile::Read(MarianDir() + "/config.json");
  ASSERT_TRUE(json.ok());
  auto config = ParseMarianConfig(*json);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->d_model, 64);
  EXPECT_EQ(config->decoder_vocab_size, 1763);
  EXPECT_EQ(config->activation, Activation::kSwish);
  EXPECT_EQ(config->decoder_start_token_id, 1762);

  nlohmann::json pre = json->json();
  pre["normalize_before"] = true;
  auto pre_json = JsonFile::Parse(pre.dump(), "pre_ln/config.json");
  ASSERT_TRUE(pre_json.ok());
  auto rejected = ParseMarianConfig(*pre_json);
  EXPECT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("normalize_before"),
            std::string::npos);

  auto gen_json = JsonFile::Read(MarianDir() + "/generation_config.json");
  ASSERT_TRUE(gen_json.ok());
  auto gen = ParseMarianGenerationConfig(&*gen_json, *json, *config);
  ASSERT_TRUE(gen.ok()) << gen.status();
  EXPECT_EQ(gen->num_beams, 4);
  EXPECT_EQ(gen->max_length, 128);
  EXPECT_EQ(gen->forced_eos_token_id, 0);
  ASSERT_EQ(gen->bad_words_ids.size(), 1u);
  EXPECT_EQ(gen->bad_words_ids[0], std::vector<int32_t>{1762});
  EXPECT_EQ(gen->eos_token_ids, std::vector<int32_t>{0});
  EXPECT_FALSE(gen->early_stopping);
  EXPECT_EQ(gen->length_penalty, 1.0f);
}

TEST_F(MarianModelTest, EncoderMatchesHuggingFace) {
  const int d = 64;
  for (const auto& c : LoadMarianCases()) {
    SCOPED_TRACE(c.name);
    const int batch = static_cast<int>(c.sources.size()), len = c.padded_len;
    std::vector<int32_t> ids(static_cast<size_t>(batch) * len, 1762);
    std::vector<int> lengths;
    for (int b = 0; b < batch; ++b) {
      std::copy(c.sources[b].begin(), c.sources[b].end(),
                ids.begin() + b * len);
      lengths.push_back(static_cast<int>(c.sources[b].size()));
    }
    Tensor out;
    std::vector<Tensor> hidden;
    ASSERT_TRUE(model_->Encode(ids, lengths, len, &out, &hidden).ok());
    auto expected = tensors_->ReadFloat(c.name + ".encoder_hidden_states");
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(hidden.size(), 3u);
    float max_err = 0;
    for (int k = 0; k < 3; ++k) {
      for (int b = 0; b < batch; ++b) {
        for (int t = 0; t < lengths[b]; ++t) {
          for (int j = 0; j < d; ++j) {
            const int64_t row = static_cast<int64_t>(b) * len + t;
            const float want =
                (*expected)[((static_cast<int64_t>(k) * batch * len) + row) *
                                d +
                            j];
            max_err =
                std::max(max_err, std::abs(hidden[k][row * d + j] - want));
            if (k == 2)
              max_err = std::max(max_err, std::abs(out[row * d + j] - want));
          }
        }
      }
    }
    EXPECT_LT(max_err, 1e-4f);
    std::cout << "[ encoder ] " << c.name << " max |err| = " << max_err << "\n";
  }
}

// Runs the KV-cache decoder step by step over greedy_sequences (all rows of a
// case in one batched step, each over its own source) and compares with HF's
// teacher-forced logits.
TEST_F(MarianModelTest, TeacherForcedLogitsMatchHuggingFace) {
  const nlohmann::json golden = testing::MarianCasesJson();
  const int vocab = model_->config().decoder_vocab_size;
  float worst = 0;
  for (const auto& c : LoadMarianCases()) {
    SCOPED_TRACE(c.name);
    const int batch = static_cast<int>(c.sources.size()), len = c.padded_len;
    std::vector<int32_t> ids(static_cast<size_t>(batch) * len, 1762);
    std::vector<int> lengths;
    for (int b = 0; b < batch; ++b) {
      std::copy(c.sources[b].begin(), c.sources[b].end(),
                ids.begin() + b * len);
      lengths.push_back(static_cast<int>(c.sources[b].size()));
    }
    Tensor encoded;
    ASSERT_TRUE(model_->Encode(ids, lengths, len, &encoded).ok());
    std::vector<MarianModel::CrossKv> cross;
    model_->ComputeCrossKv(encoded, lengths, len, &cross);
    std::vector<int64_t> seq_shape, logit_shape;
    auto seqs = tensors_->ReadInt64(c.name + ".greedy_sequences", &seq_shape);
    ASSERT_TRUE(seqs.ok());
    auto logits_ref =
        tensors_->ReadFloat(c.name + ".greedy_teacher_forced_logits");
    ASSERT_TRUE(logits_ref.ok());
    const int steps = static_cast<int>(seq_shape[1]) - 1;
    const nlohmann::json& gen_lens = [&]() -> const nlohmann::json& {
      for (const auto& j : golden["cases"]) {
        if (j["name"] == c.name)
          return j["greedy"]["generated_lengths_incl_eos"];
      }
      return golden["missing"];
    }();
    auto pool = model_->NewCachePool();
    std::vector<int> slots;
    for (int b = 0; b < batch; ++b) slots.push_back(pool->Allocate(steps));
    float max_err = 0;
    Tensor logits;
    for (int t = 0; t < steps; ++t) {
      std::vector<MarianModel::DecoderRow> rows;
      for (int b = 0; b < batch; ++b) {
        rows.push_back({static_cast<int32_t>((*seqs)[b * seq_shape[1] + t]), t,
                        slots[b], &cross[b]});
      }
      model_->DecoderStep(rows, pool.get(), &logits);
      for (int b = 0; b < batch; ++b) {
        if (t >= gen_lens[b].get<int>()) continue;
        for (int v = 0; v < vocab; ++v) {
          const float want =
              (*logits_ref)[(static_cast<int64_t>(b) * steps + t) * vocab + v];
          max_err = std::max(
              max_err,
              std::abs(logits[static_cast<int64_t>(b) * vocab + v] - want));
        }
      }
    }
    EXPECT_LT(max_err, 1e-3f);
    worst = std::max(worst, max_err);
    std::cout << "[ logits  ] " << c.name << " max |err| = " << max_err << "\n";
  }
  std::cout << "[ logits  ] worst max |err| = " << worst << "\n";
}

}  // namespace
}  // namespace attnserve
