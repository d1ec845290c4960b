// SequenceClassifier against tests/data/cross-encoders (made by
// sentence-transformers' CrossEncoder and transformers' text-classification
// pipeline, tools/oracle/make_cross_encoder_fixtures.py): token ids and types,
// logits, scores and their order, per fixture and case; then the load errors.
#include "core/models/sequence_classifier.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/models/model_folder.h"
#include "core/models/safetensors.h"
#include "core/ops/quantize.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/safetensors_writer.h"

namespace attnserve {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr float kTolerance = 1e-5f;

std::string Folder(const std::string& name) {
  return std::string(ATTNSERVE_TEST_DATA_DIR) + "/cross-encoders/" + name;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void ExpectNear(const std::vector<float>& got, const nlohmann::json& want,
                const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i].get<float>(), kTolerance) << what << " " << i;
}

// The name CrossEncoder's activation_fn class has (cases.json).
std::string TorchName(ScoreActivation a) {
  switch (a) {
    case ScoreActivation::kNone:
      return "Identity";
    case ScoreActivation::kSigmoid:
      return "Sigmoid";
    case ScoreActivation::kSoftmax:
      return "Softmax";
    case ScoreActivation::kTanh:
      return "Tanh";
  }
  return "";
}

class FixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    cases_ = ReadJson(Folder(GetParam()) + "/cases.json");
    auto loaded = SequenceClassifier::Load(Folder(GetParam()));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = *std::move(loaded);
  }

  // Tokenizes `c` as CrossEncoder.predict (kPair) or the pipeline (kSingle)
  // with truncation=True, checks ids and types against `view`, runs it
  // alone and returns its logits.
  std::vector<float> CheckCase(const nlohmann::json& c,
                               const nlohmann::json& view,
                               HfTokenizer::EmptyPair empty) {
    PairTokenizeOptions options;
    options.truncate = true;
    options.empty_pair = empty;
    std::optional<std::string_view> pair;
    std::string pair_text;
    if (!c.at("pair").is_null()) {
      pair_text = c.at("pair").get<std::string>();
      pair = pair_text;
    }
    const std::string text = c.at("text");
    absl::StatusOr<Encoding> enc = model_->Tokenize(text, pair, options);
    EXPECT_TRUE(enc.ok()) << enc.status();
    if (!enc.ok()) return {};
    EXPECT_THAT(enc->ids,
                ElementsAreArray(view.at("ids").get<std::vector<int32_t>>()));
    EXPECT_THAT(enc->type_ids,
                ElementsAreArray(view.at("type_ids").get<std::vector<int>>()));
    const absl::Span<const int32_t> ids[] = {enc->ids};
    const absl::Span<const int32_t> types[] = {enc->type_ids};
    auto logits = model_->Classify(ids, types);
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return {};
    ExpectNear((*logits)[0], view.at("logits"), "logits");
    return (*logits)[0];
  }

  nlohmann::json cases_;
  std::unique_ptr<SequenceClassifier> model_;
};

TEST_P(FixtureTest, LabelsActivationsAndLimitAreTheLibraries) {
  EXPECT_EQ(model_->num_labels(), cases_.at("num_labels").get<int>());
  EXPECT_THAT(
      model_->labels(),
      ElementsAreArray(cases_.at("labels").get<std::vector<std::string>>()));
  EXPECT_EQ(TorchName(model_->rerank_activation()),
            cases_.at("crossencoder_activation").get<std::string>());
  EXPECT_EQ(model_->max_input_tokens(), cases_.at("max_length").get<int>());
  EXPECT_GT(model_->parameter_count(), 0);
  const int lengths[] = {model_->max_input_tokens()};
  EXPECT_GT(model_->EstimateClassifyBytes(lengths), 0);
}

TEST_P(FixtureTest, CrossEncoderPredictIdsLogitsScores) {
  int checked = 0;
  for (const nlohmann::json& c : cases_.at("cases")) {
    if (!c.contains("crossencoder")) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const nlohmann::json& view = c.at("crossencoder");
    std::vector<float> scores =
        CheckCase(c, view, HfTokenizer::EmptyPair::kPair);
    ApplyScoreActivation(model_->rerank_activation(), absl::MakeSpan(scores));
    ExpectNear(scores, view.at("scores"), "CrossEncoder.predict score");
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST_P(FixtureTest, PipelineIdsLogitsLabelsScoresInOrder) {
  int checked = 0;
  for (const nlohmann::json& c : cases_.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const nlohmann::json& view = c.at("pipeline");
    std::vector<float> scores =
        CheckCase(c, view, HfTokenizer::EmptyPair::kSingle);
    ApplyScoreActivation(model_->classify_activation(), absl::MakeSpan(scores));
    std::vector<std::string> labels;
    std::vector<float> sorted;
    for (int i : OrderByScore(scores)) {
      labels.push_back(model_->labels()[i]);
      sorted.push_back(scores[i]);
    }
    EXPECT_THAT(labels, ElementsAreArray(
                            view.at("labels").get<std::vector<std::string>>()));
    ExpectNear(sorted, view.at("scores"), "pipeline score");
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// One packed batch of every pair (as a Rerank call runs), its order best first
// equal to the order of CrossEncoder.predict's scores (CrossEncoder.rank).
TEST_P(FixtureTest, OneBatchRanksAsCrossEncoder) {
  std::vector<Encoding> encodings;
  std::vector<float> want;
  PairTokenizeOptions options;
  options.truncate = true;
  for (const nlohmann::json& c : cases_.at("cases")) {
    if (!c.contains("crossencoder")) continue;
    const std::string a = c.at("text"), b = c.at("pair");
    auto enc = model_->Tokenize(a, b, options);
    ASSERT_TRUE(enc.ok()) << enc.status();
    encodings.push_back(*std::move(enc));
    want.push_back(c.at("crossencoder").at("scores")[0].get<float>());
  }
  std::vector<absl::Span<const int32_t>> ids, types;
  for (const Encoding& e : encodings) {
    ids.push_back(e.ids);
    types.push_back(e.type_ids);
  }
  auto logits = model_->Classify(ids, types);
  ASSERT_TRUE(logits.ok()) << logits.status();
  std::vector<float> got;
  for (std::vector<float>& l : *logits) {
    ApplyScoreActivation(model_->rerank_activation(), absl::MakeSpan(l));
    got.push_back(
        l[0]);  // the first label: what rank() sorts a 1-label model by
  }
  ExpectNear(got, nlohmann::json(want), "batched score");
  EXPECT_THAT(OrderByScore(got), ElementsAreArray(OrderByScore(want)));
}

// int8 and bf16 run the encoder's matmuls in lower precision (the head stays
// f32): logits within 0.1 of float32's on every pair (the x20 head scale
// makes them up to ~5 in size).
TEST_P(FixtureTest, Int8AndBFloat16StayCloseToFloat32) {
  for (DType dtype : {DType::kInt8, DType::kBFloat16}) {
    SCOPED_TRACE(DTypeToString(dtype));
    if (dtype == DType::kBFloat16 && !BFloat16MatmulSupported().ok()) continue;
    LoadOptions options;
    options.dtype = dtype;
    auto low = SequenceClassifier::Load(Folder(GetParam()), options);
    ASSERT_TRUE(low.ok()) << low.status();
    EXPECT_EQ((*low)->dtype(), dtype);
    PairTokenizeOptions tokenize;
    tokenize.truncate = true;
    int checked = 0;
    for (const nlohmann::json& c : cases_.at("cases")) {
      if (!c.contains("crossencoder")) continue;
      const std::string a = c.at("text"), b = c.at("pair");
      auto enc = (*low)->Tokenize(a, b, tokenize);
      ASSERT_TRUE(enc.ok()) << enc.status();
      const absl::Span<const int32_t> ids[] = {enc->ids};
      const absl::Span<const int32_t> types[] = {enc->type_ids};
      auto logits = (*low)->Classify(ids, types);
      ASSERT_TRUE(logits.ok()) << logits.status();
      const nlohmann::json& want = c.at("crossencoder").at("logits");
      ASSERT_EQ((*logits)[0].size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR((*logits)[0][i], want[i].get<float>(), 0.1f);
      ++checked;
    }
    EXPECT_GE(checked, 8);
  }
}

TEST_P(FixtureTest, FolderTaskIsClassify) {
  auto kind = ReadModelKind(Folder(GetParam()));
  ASSERT_TRUE(kind.ok()) << kind.status();
  EXPECT_EQ(kind->task, ModelTask::kClassify);
  EXPECT_EQ(kind->model_type, model_->architecture());
}

INSTANTIATE_TEST_SUITE_P(CrossEncoders, FixtureTest,
                         ::testing::Values("bert-ce-tiny",
                                           "xlm-roberta-ce-tiny",
                                           "distilbert-cls3-tiny",
                                           "mpnet-multilabel-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

TEST(ScoreActivationTest, PoliciesOfTheLibraries) {
  EXPECT_EQ(PipelineActivation(1, ProblemType::kUnspecified),
            ScoreActivation::kSigmoid);
  EXPECT_EQ(PipelineActivation(3, ProblemType::kUnspecified),
            ScoreActivation::kSoftmax);
  EXPECT_EQ(PipelineActivation(3, ProblemType::kMultiLabel),
            ScoreActivation::kSigmoid);
  EXPECT_EQ(PipelineActivation(1, ProblemType::kRegression),
            ScoreActivation::kNone);
  EXPECT_EQ(CrossEncoderDefaultActivation(1), ScoreActivation::kSigmoid);
  EXPECT_EQ(CrossEncoderDefaultActivation(2), ScoreActivation::kNone);
  std::vector<float> s = {1.0f, 2.0f, 3.0f};
  ApplyScoreActivation(ScoreActivation::kSoftmax, absl::MakeSpan(s));
  EXPECT_NEAR(s[0] + s[1] + s[2], 1.0f, 1e-6f);
  EXPECT_NEAR(s[2], 0.66524096f, 1e-6f);
  EXPECT_THAT(OrderByScore(std::vector<float>{0.5f, 0.9f, 0.5f, 0.1f}),
              ElementsAreArray({1, 0, 2, 3}));  // ties keep their order
}

// A copy of a fixture folder to break.
class BrokenFolder {
 public:
  explicit BrokenFolder(const std::string& fixture) {
    path_ = attnserve::testing::TempDir("broken_" + fixture);
    for (const auto& e : std::filesystem::directory_iterator(Folder(fixture)))
      std::filesystem::copy_file(
          e.path(), path_ + "/" + e.path().filename().string(),
          std::filesystem::copy_options::overwrite_existing);
  }
  ~BrokenFolder() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void EditConfig(const std::function<void(nlohmann::json*)>& edit) const {
    nlohmann::json c = ReadJson(path_ + "/config.json");
    edit(&c);
    std::ofstream(path_ + "/config.json") << c.dump();
  }

 private:
  std::string path_;
};

TEST(SequenceClassifierErrorsTest, NoClassificationHeadNamesTheFile) {
  BrokenFolder f("bert-ce-tiny");
  f.EditConfig([](nlohmann::json* c) {
    (*c)["architectures"] = {"BertForTokenClassification"};
  });
  auto got = SequenceClassifier::Load(f.path());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("config.json"));
  EXPECT_THAT(got.status().message(), HasSubstr("ForSequenceClassification"));
}

TEST(SequenceClassifierErrorsTest, UnknownModelTypeListsTheSupportedOnes) {
  BrokenFolder f("bert-ce-tiny");
  f.EditConfig([](nlohmann::json* c) {
    (*c)["model_type"] = "deberta-v2";
    (*c)["architectures"] = {"DebertaV2ForSequenceClassification"};
  });
  auto got = SequenceClassifier::Load(f.path());
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("deberta-v2"));
  EXPECT_THAT(got.status().message(), HasSubstr("xlm-roberta"));
}

TEST(SequenceClassifierErrorsTest, MissingClassifierWeightsNameFileAndTensor) {
  for (const auto& [fixture, tensor] :
       std::vector<std::pair<std::string, std::string>>{
           {"bert-ce-tiny", "classifier.weight"},
           {"bert-ce-tiny", "bert.pooler.dense.weight"},
           {"xlm-roberta-ce-tiny", "classifier.out_proj.bias"},
           {"distilbert-cls3-tiny", "pre_classifier.weight"}}) {
    SCOPED_TRACE(fixture + " without " + tensor);
    BrokenFolder f(fixture);
    const std::string weights = f.path() + "/model.safetensors";
    std::vector<Tensor> kept;
    std::vector<std::string> names;
    {
      auto file = SafetensorsFile::Open(weights);
      ASSERT_TRUE(file.ok()) << file.status();
      for (const std::string& name : (*file)->Names()) {
        if (name == tensor) continue;
        auto t = (*file)->ReadFloat(name);
        ASSERT_TRUE(t.ok()) << t.status();
        kept.push_back(*std::move(t));
        names.push_back(name);
      }
    }
    std::vector<std::pair<std::string, const Tensor*>> entries;
    for (size_t i = 0; i < kept.size(); ++i)
      entries.emplace_back(names[i], &kept[i]);
    attnserve::testing::WriteFile(weights,
                                  attnserve::testing::F32Safetensors(entries));
    auto got = SequenceClassifier::Load(f.path());
    ASSERT_FALSE(got.ok());
    EXPECT_THAT(got.status().message(), HasSubstr("model.safetensors"));
    EXPECT_THAT(got.status().message(), HasSubstr(tensor));
  }
}

TEST(SequenceClassifierErrorsTest,
     LabelCountThatIsNotTheCheckpointsNamesTensor) {
  BrokenFolder f("distilbert-cls3-tiny");
  f.EditConfig([](nlohmann::json* c) {
    (*c)["id2label"] = {{"0", "a"}, {"1", "b"}};
  });
  auto got = SequenceClassifier::Load(f.path());
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("classifier.weight"));
}

TEST(SequenceClassifierErrorsTest, UnsupportedTorchActivationNamesTheKey) {
  BrokenFolder f("bert-ce-tiny");
  f.EditConfig([](nlohmann::json* c) {
    (*c)["sentence_transformers"]["activation_fn"] =
        "torch.nn.modules.activation.LogSigmoid";
  });
  auto got = SequenceClassifier::Load(f.path());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(got.status().message(),
              HasSubstr("sentence_transformers.activation_fn"));
}

TEST(SequenceClassifierErrorsTest, UntrustedActivationFallsBackAsCrossEncoder) {
  BrokenFolder f("bert-ce-tiny");
  f.EditConfig([](nlohmann::json* c) {
    (*c)["sentence_transformers"]["activation_fn"] = "mypackage.Scale";
  });
  auto got = SequenceClassifier::Load(f.path());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->rerank_activation(), ScoreActivation::kSigmoid);
}

TEST(SequenceClassifierErrorsTest, SentenceTransformersFolderStaysEncode) {
  auto kind = ReadModelKind(std::string(ATTNSERVE_TEST_DATA_DIR) +
                            "/encoders/xlm-roberta-tiny");
  ASSERT_TRUE(kind.ok()) << kind.status();
  EXPECT_EQ(kind->task, ModelTask::kEncode);
}

TEST(SequenceClassifierErrorsTest, TokenTypeOutsideTheTableIsRefused) {
  auto model = SequenceClassifier::Load(Folder("bert-ce-tiny"));
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<int32_t> ids = {2, 20, 3, 21, 3};
  const std::vector<int32_t> types = {0, 0, 0, 2, 2};  // type_vocab_size 2
  const absl::Span<const int32_t> id_spans[] = {ids};
  const absl::Span<const int32_t> type_spans[] = {types};
  auto got = (*model)->Classify(id_spans, type_spans);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("token type 2"));
  EXPECT_THAT(got.status().message(), HasSubstr("type_vocab_size"));
}

TEST(SequenceClassifierErrorsTest, OverLongPairWithoutTruncateIsRefused) {
  auto model = SequenceClassifier::Load(Folder("bert-ce-tiny"));
  ASSERT_TRUE(model.ok()) << model.status();
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  auto got = (*model)->Tokenize("query", long_text, PairTokenizeOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("truncation"));
}

}  // namespace
}  // namespace attnserve
