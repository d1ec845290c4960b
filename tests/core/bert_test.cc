// BERT golden conformance against tests/data/bert-tiny (HF transformers 4.57.6
// outputs).
#include <cmath>
#include <fstream>

#include "core/models/safetensors.h"
#include "core/models/transformer_encoder.h"
#include "core/pooling.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/safetensors_writer.h"

namespace attnserve {
namespace {

const std::string kFolder = std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";

struct Case {
  std::string name;
  int batch, len;
  std::vector<int32_t> ids, mask;
};

std::vector<Case> LoadCases(const SafetensorsFile& tensors) {
  std::ifstream in(kFolder + "/cases.json");
  nlohmann::json j = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& c : j.at("cases")) {
    Case k;
    k.name = c.at("name").get<std::string>();
    std::vector<int64_t> shape;
    auto ids = tensors.ReadInt64(k.name + ".input_ids", &shape);
    auto mask = tensors.ReadInt64(k.name + ".attention_mask");
    EXPECT_TRUE(ids.ok() && mask.ok()) << k.name;
    k.batch = shape[0], k.len = shape[1];
    k.ids.assign(ids->begin(), ids->end());
    k.mask.assign(mask->begin(), mask->end());
    // cases.json and tensors.safetensors agree.
    EXPECT_EQ(c.at("input_ids").size(), static_cast<size_t>(k.batch));
    EXPECT_EQ(c.at("input_ids")[0].get<std::vector<int32_t>>(),
              std::vector<int32_t>(k.ids.begin(), k.ids.begin() + k.len));
    cases.push_back(std::move(k));
  }
  return cases;
}

// Max |got - want| over positions with mask 1; `want` is [batch, len, dim] at
// `offset`.
float MaskedMaxDiff(const Tensor& got, const Tensor& want, int64_t offset,
                    const Case& c) {
  const int64_t dim = got.dim(2);
  float m = 0;
  for (int64_t r = 0; r < static_cast<int64_t>(c.batch) * c.len; ++r) {
    if (c.mask[r] == 0) continue;
    for (int64_t j = 0; j < dim; ++j)
      m = std::max(m, std::abs(got[r * dim + j] - want[offset + r * dim + j]));
  }
  return m;
}

float MaxDiff(const std::vector<std::vector<float>>& got, const Tensor& want) {
  float m = 0;
  const int64_t dim = want.dim(1);
  for (size_t b = 0; b < got.size(); ++b)
    for (int64_t j = 0; j < dim; ++j)
      m = std::max(m, std::abs(got[b][j] - want[b * dim + j]));
  return m;
}

class BertGoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = SafetensorsFile::Open(kFolder + "/tensors.safetensors");
    ASSERT_TRUE(t.ok()) << t.status();
    tensors_ = t->release();
    auto m = TransformerEncoder::Load(kFolder);
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = m->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tensors_;
  }
  static SafetensorsFile* tensors_;
  static TransformerEncoder* model_;
};
SafetensorsFile* BertGoldenTest::tensors_ = nullptr;
TransformerEncoder* BertGoldenTest::model_ = nullptr;

TEST_F(BertGoldenTest, HiddenStatesAndPooledEmbeddingsMatchHf) {
  auto cases = LoadCases(*tensors_);
  ASSERT_EQ(cases.size(), 12u);
  for (const Case& c : cases) {
    Tensor last;
    std::vector<Tensor> hidden;
    ASSERT_TRUE(
        model_->Forward(c.ids, c.mask, c.batch, c.len, &last, &hidden).ok());
    ASSERT_EQ(hidden.size(), 3u);
    auto want_hidden = tensors_->ReadFloat(c.name + ".hidden_states");
    auto want_last = tensors_->ReadFloat(c.name + ".last_hidden_state");
    auto want_pooled = tensors_->ReadFloat(c.name + ".mean_pooled");
    auto want_norm = tensors_->ReadFloat(c.name + ".mean_pooled_normalized");
    ASSERT_TRUE(want_hidden.ok() && want_last.ok() && want_pooled.ok() &&
                want_norm.ok());
    const int64_t per = last.numel();
    float e[3];
    for (int i = 0; i < 3; ++i)
      e[i] = MaskedMaxDiff(hidden[i], *want_hidden, i * per, c);
    const float el = MaskedMaxDiff(last, *want_last, 0, c);
    std::vector<std::vector<float>> pooled, normalized;
    PoolHiddenStates(last, c.mask, Pooling::kMean, false, &pooled);
    PoolHiddenStates(last, c.mask, Pooling::kMean, true, &normalized);
    const float ep = MaxDiff(pooled, *want_pooled),
                en = MaxDiff(normalized, *want_norm);
    std::printf(
        "%-16s B=%d T=%-3d max err: h0 %.2e h1 %.2e h2 %.2e last %.2e mean "
        "%.2e norm %.2e\n",
        c.name.c_str(), c.batch, c.len, e[0], e[1], e[2], el, ep, en);
    for (int i = 0; i < 3; ++i)
      EXPECT_LT(e[i], 1e-4) << c.name << " hidden_states[" << i << "]";
    EXPECT_LT(el, 1e-4) << c.name;
    EXPECT_LT(en, 1e-5) << c.name;
  }
}

TEST_F(BertGoldenTest, EachTextAloneEqualsItsRowInThePaddedBatch) {
  for (const Case& c : LoadCases(*tensors_)) {
    if (c.batch < 2) continue;
    Tensor batch_out;
    ASSERT_TRUE(
        model_->Forward(c.ids, c.mask, c.batch, c.len, &batch_out).ok());
    std::vector<std::vector<float>> batched;
    PoolHiddenStates(batch_out, c.mask, Pooling::kMean, true, &batched);
    for (int b = 0; b < c.batch; ++b) {
      int n = 0;
      while (n < c.len && c.mask[b * c.len + n]) ++n;
      std::vector<int32_t> ids(c.ids.begin() + b * c.len,
                               c.ids.begin() + b * c.len + n);
      std::vector<int32_t> mask(n, 1);
      Tensor alone;
      ASSERT_TRUE(model_->Forward(ids, mask, 1, n, &alone).ok());
      std::vector<std::vector<float>> single;
      PoolHiddenStates(alone, mask, Pooling::kMean, true, &single);
      float m = 0;
      for (size_t j = 0; j < single[0].size(); ++j)
        m = std::max(m, std::abs(single[0][j] - batched[b][j]));
      EXPECT_LT(m, 1e-5) << c.name << " row " << b;
    }
  }
}

TEST_F(BertGoldenTest, RejectsBadInputs) {
  Tensor out;
  std::vector<int32_t> ids = {2, 99999}, mask = {1, 1};
  EXPECT_FALSE(model_->Forward(ids, mask, 1, 2, &out).ok());
  EXPECT_FALSE(model_->Forward(ids, mask, 2, 2, &out).ok());
  std::vector<int32_t> long_ids(129, 2), long_mask(129, 1);
  EXPECT_FALSE(model_->Forward(long_ids, long_mask, 1, 129, &out).ok());
}

// Copies the tiny checkpoint's config and weights into a temp folder, with keys
// renamed.
std::string CopyCheckpoint(const std::string& name, const std::string& prefix,
                           const std::string& drop,
                           const std::string& config_text) {
  std::string dir = attnserve::testing::TempDir(name);
  auto src = SafetensorsFile::Open(kFolder + "/model.safetensors");
  std::vector<Tensor> storage;
  std::vector<std::string> names;
  for (const auto& n : (*src)->Names()) {
    if (n == drop) continue;
    storage.push_back(*(*src)->ReadFloat(n));
    names.push_back(prefix + n);
  }
  Tensor head(
      {5, 64});  // an extra head, as BertForMaskedLM has: must be ignored
  storage.push_back(head);
  names.push_back("cls.predictions.bias");
  std::vector<std::pair<std::string, const Tensor*>> ts;
  for (size_t i = 0; i < names.size(); ++i)
    ts.emplace_back(names[i], &storage[i]);
  attnserve::testing::WriteFile(dir + "/model.safetensors",
                                attnserve::testing::F32Safetensors(ts));
  attnserve::testing::WriteFile(dir + "/config.json", config_text);
  return dir;
}

std::string ConfigText() {
  std::ifstream in(kFolder + "/config.json");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(BertGoldenTest, BertPrefixedKeysGiveTheSameOutput) {
  std::string dir = CopyCheckpoint("prefixed", "bert.", "", ConfigText());
  auto prefixed = TransformerEncoder::Load(dir);
  ASSERT_TRUE(prefixed.ok()) << prefixed.status();
  for (const Case& c : LoadCases(*tensors_)) {
    Tensor a, b;
    ASSERT_TRUE(model_->Forward(c.ids, c.mask, c.batch, c.len, &a).ok());
    ASSERT_TRUE((*prefixed)->Forward(c.ids, c.mask, c.batch, c.len, &b).ok());
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a[i], b[i]) << c.name;
  }
}

TEST(BertLoadTest, ErrorsNameTheFileAndTensorOrKey) {
  std::string dir = CopyCheckpoint(
      "missing", "", "encoder.layer.1.output.dense.bias", ConfigText());
  auto m = TransformerEncoder::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos)
      << m.status();
  EXPECT_NE(m.status().message().find("encoder.layer.1.output.dense.bias"),
            std::string::npos);

  std::string config = ConfigText();
  config.replace(config.find("\"intermediate_size\": 128"), 24,
                 "\"intermediate_size\": 96");
  m = TransformerEncoder::Load(CopyCheckpoint("shape", "", "", config));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("has shape [128,64], expected [96,64]"),
            std::string::npos)
      << m.status();

  for (auto [from, to, key] :
       {std::tuple{"\"gelu\"", "\"quick_gelu\"", "hidden_act"},
        {"\"bert\"", "\"gpt2\"", "model_type"},
        {"\"absolute\"", "\"relative_key\"", "position_embedding_type"}}) {
    std::string bad = ConfigText();
    bad.replace(bad.find(from), std::string(from).size(), to);
    m = TransformerEncoder::Load(CopyCheckpoint(key, "", "", bad));
    ASSERT_FALSE(m.ok()) << key;
    EXPECT_NE(m.status().message().find("config.json"), std::string::npos)
        << m.status();
    EXPECT_NE(m.status().message().find(key), std::string::npos) << m.status();
  }
  // An unknown model_type lists what is supported.
  std::string gpt2 = ConfigText();
  gpt2.replace(gpt2.find("\"bert\""), 6, "\"gpt2\"");
  m = TransformerEncoder::Load(CopyCheckpoint("gpt2", "", "", gpt2));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(
                "supported: bert, roberta, xlm-roberta, camembert, "
                "distilbert, mpnet"),
            std::string::npos)
      << m.status();
}

}  // namespace
}  // namespace attnserve
