// Rerank, Classify and Tokenize with pairs through the real server on the
// cross-encoder fixtures (tests/data/cross-encoders): scores equal
// sentence-transformers' CrossEncoder.predict and transformers'
// text-classification pipeline (cases.json, 1e-5), labels in the pipeline's
// order, token ids and types equal the pipeline's tokenizer; the errors name
// the field; ListModels shows the tasks; /metrics counts the calls.
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr double kTolerance = 1e-5;

const char* const kModels[] = {"bert-ce-tiny", "xlm-roberta-ce-tiny",
                               "distilbert-cls3-tiny", "mpnet-multilabel-tiny"};
const char* const kRerankers[] = {"bert-ce-tiny", "xlm-roberta-ce-tiny"};

json Cases(const std::string& model) {
  std::ifstream in(GoldenDir("cross-encoders/" + model + "/cases.json"));
  return json::parse(in);
}

void Prepare(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
}

class CrossEncoderServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    std::vector<std::string> flags = {"--threads=1"};
    for (const char* model : kModels) {
      flags.push_back(
          absl::StrCat("--model=", model, "=",
                       GoldenDir(std::string("cross-encoders/") + model)));
    }
    ASSERT_TRUE(server_->Start(flags).ok()) << server_->Log();
    ASSERT_TRUE(server_->WaitHealth("", 1).ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    absl::StatusOr<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
  }

  static grpc::Status Rerank(const v1::RerankRequest& request,
                             v1::RerankResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return server_->stub()->Rerank(&context, request, response);
  }
  static grpc::Status Classify(const v1::ClassifyRequest& request,
                               v1::ClassifyResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return server_->stub()->Classify(&context, request, response);
  }
  static grpc::Status Tokenize(const v1::TokenizeRequest& request,
                               v1::TokenizeResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return server_->stub()->Tokenize(&context, request, response);
  }

  // A ClassifyRequest of every case of `cases` (a single text gets the empty
  // pair, which the pipeline's rule makes the text alone).
  static v1::ClassifyRequest AllCases(const std::string& model,
                                      const json& cases) {
    v1::ClassifyRequest request;
    request.set_model(model);
    request.set_truncate(true);
    for (const json& c : cases["cases"]) {
      request.add_texts(c["text"].get<std::string>());
      request.add_text_pairs(
          c["pair"].is_null() ? "" : c["pair"].get<std::string>());
    }
    return request;
  }

  static ServerProcess* server_;
};

ServerProcess* CrossEncoderServerTest::server_ = nullptr;

TEST_F(CrossEncoderServerTest, RerankScoresEqualCrossEncoderPredict) {
  for (const char* model : kRerankers) {
    const json cases = Cases(model);
    for (const json& c : cases["cases"]) {
      if (c["pair"].is_null() || c["text"].get<std::string>().empty()) continue;
      SCOPED_TRACE(absl::StrCat(model, " ", c["name"].get<std::string>()));
      v1::RerankRequest request;
      request.set_model(model);
      request.set_query(c["text"].get<std::string>());
      request.add_texts(c["pair"].get<std::string>());
      request.set_truncate(true);
      v1::RerankResponse response;
      ASSERT_TRUE(Rerank(request, &response).ok());
      ASSERT_EQ(response.results_size(), 1);
      EXPECT_EQ(response.model(), model);
      EXPECT_NEAR(response.results(0).score(),
                  c["crossencoder"]["scores"][0].get<double>(), kTolerance);
      EXPECT_EQ(response.usage().input_tokens(),
                c["crossencoder"]["ids"].size());
      request.set_raw_scores(true);
      ASSERT_TRUE(Rerank(request, &response).ok());
      EXPECT_NEAR(response.results(0).score(),
                  c["crossencoder"]["logits"][0].get<double>(), kTolerance);
    }
  }
}

// One call of many passages: results sorted best first (ties in request
// order), each score the one its pair gets alone, top_n the head of the full
// order, return_texts the passages.
TEST_F(CrossEncoderServerTest, RerankSortsTheTextsAndCutsToTopN) {
  for (const char* model : kRerankers) {
    SCOPED_TRACE(model);
    v1::RerankRequest request;
    request.set_model(model);
    request.set_query("what is it?");
    request.set_truncate(true);
    const json cases = Cases(model);
    for (const json& c : cases["cases"]) {
      if (!c["pair"].is_null()) request.add_texts(c["pair"].get<std::string>());
    }
    ASSERT_GE(request.texts_size(), 5);
    std::vector<float> alone;
    for (const std::string& text : request.texts()) {
      v1::RerankRequest one = request;
      one.clear_texts();
      one.add_texts(text);
      v1::RerankResponse response;
      ASSERT_TRUE(Rerank(one, &response).ok());
      alone.push_back(response.results(0).score());
    }
    v1::RerankResponse all;
    ASSERT_TRUE(Rerank(request, &all).ok());
    ASSERT_EQ(all.results_size(), request.texts_size());
    std::vector<bool> seen(request.texts_size(), false);
    for (int r = 0; r < all.results_size(); ++r) {
      const v1::RerankResult& result = all.results(r);
      ASSERT_LT(result.index(), seen.size());
      EXPECT_FALSE(seen[result.index()]);
      seen[result.index()] = true;
      EXPECT_NEAR(result.score(), alone[result.index()], kTolerance);
      EXPECT_TRUE(result.text().empty());
      if (r > 0) {
        const v1::RerankResult& prev = all.results(r - 1);
        EXPECT_TRUE(
            prev.score() > result.score() ||
            (prev.score() == result.score() && prev.index() < result.index()));
      }
    }
    request.set_top_n(3);
    request.set_return_texts(true);
    v1::RerankResponse top;
    ASSERT_TRUE(Rerank(request, &top).ok());
    ASSERT_EQ(top.results_size(), 3);
    for (int r = 0; r < 3; ++r) {
      EXPECT_EQ(top.results(r).index(), all.results(r).index());
      EXPECT_EQ(top.results(r).text(), request.texts(top.results(r).index()));
    }
  }
}

TEST_F(CrossEncoderServerTest, ClassifyEqualsThePipelineWithPairs) {
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    const json cases = Cases(model);
    v1::ClassifyRequest request = AllCases(model, cases);
    v1::ClassifyResponse response;
    ASSERT_TRUE(Classify(request, &response).ok());
    ASSERT_EQ(response.classifications_size(), request.texts_size());
    const json& labels = cases["labels"];
    for (int i = 0; i < request.texts_size(); ++i) {
      const json& want = cases["cases"][i]["pipeline"];
      SCOPED_TRACE(cases["cases"][i]["name"].get<std::string>());
      const v1::Classification& got = response.classifications(i);
      ASSERT_EQ(got.labels_size(), static_cast<int>(want["labels"].size()));
      for (int k = 0; k < got.labels_size(); ++k) {
        EXPECT_EQ(got.labels(k).label(), want["labels"][k].get<std::string>());
        EXPECT_EQ(labels[got.labels(k).id()], want["labels"][k]);
        EXPECT_NEAR(got.labels(k).score(), want["scores"][k].get<double>(),
                    kTolerance);
      }
      EXPECT_EQ(got.input_tokens(), want["ids"].size());
    }
    // top_k: the best labels; raw_scores: the logits by id.
    request.set_top_k(1);
    request.set_raw_scores(true);
    ASSERT_TRUE(Classify(request, &response).ok());
    for (int i = 0; i < request.texts_size(); ++i) {
      const json& want = cases["cases"][i]["pipeline"];
      const v1::Classification& got = response.classifications(i);
      ASSERT_EQ(got.labels_size(), 1);
      EXPECT_EQ(got.labels(0).label(), want["labels"][0].get<std::string>());
      EXPECT_NEAR(got.labels(0).score(),
                  want["logits"][got.labels(0).id()].get<double>(), kTolerance);
    }
  }
}

TEST_F(CrossEncoderServerTest, TokenizeWithPairsGivesThePipelinesIdsAndTypes) {
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    const json cases = Cases(model);
    const v1::ClassifyRequest all = AllCases(model, cases);
    v1::TokenizeRequest request;
    request.set_model(model);
    request.set_truncate(true);
    *request.mutable_texts() = all.texts();
    *request.mutable_text_pairs() = all.text_pairs();
    v1::TokenizeResponse response;
    ASSERT_TRUE(Tokenize(request, &response).ok());
    ASSERT_EQ(response.texts_size(), request.texts_size());
    for (int i = 0; i < request.texts_size(); ++i) {
      const json& want = cases["cases"][i]["pipeline"];
      SCOPED_TRACE(cases["cases"][i]["name"].get<std::string>());
      EXPECT_THAT(response.texts(i).token_ids(),
                  ElementsAreArray(want["ids"].get<std::vector<uint32_t>>()));
      EXPECT_THAT(
          response.texts(i).token_type_ids(),
          ElementsAreArray(want["type_ids"].get<std::vector<uint32_t>>()));
    }
  }
}

TEST_F(CrossEncoderServerTest, ListModelsShowsTasksAndLabels) {
  v1::ListModelsResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  ASSERT_TRUE(server_->stub()
                  ->ListModels(&context, v1::ListModelsRequest(), &response)
                  .ok());
  int found = 0;
  for (const v1::ModelInfo& info : response.models()) {
    const json cases = Cases(info.name());
    const bool one_label = cases["num_labels"].get<int>() == 1;
    EXPECT_EQ(info.task(), one_label ? v1::TASK_RERANK : v1::TASK_CLASSIFY)
        << info.name();
    EXPECT_EQ(info.num_labels(), cases["num_labels"].get<uint32_t>());
    EXPECT_THAT(
        info.labels(),
        ElementsAreArray(cases["labels"].get<std::vector<std::string>>()));
    EXPECT_EQ(info.max_input_tokens(), cases["max_length"].get<uint32_t>());
    EXPECT_EQ(info.state(), v1::MODEL_STATE_READY);
    ++found;
  }
  EXPECT_EQ(found, 4);
}

TEST_F(CrossEncoderServerTest, InvalidCallsNameTheField) {
  auto expect_invalid = [](const grpc::Status& status,
                           const std::string& field) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  v1::RerankRequest rerank;
  rerank.set_model("distilbert-cls3-tiny");
  rerank.set_query("q");
  rerank.add_texts("t");
  v1::RerankResponse reranked;
  grpc::Status status = Rerank(rerank, &reranked);
  expect_invalid(status, "3 labels");
  EXPECT_THAT(status.error_message(), HasSubstr("1-label"));

  rerank.set_model("bert-ce-tiny");
  rerank.set_query("");
  expect_invalid(Rerank(rerank, &reranked), "query");

  rerank.set_query("q");
  rerank.clear_texts();
  for (int i = 0; i < 2049; ++i) rerank.add_texts("t");
  expect_invalid(Rerank(rerank, &reranked), "texts has 2049 entries");

  // A pair over the model's limit without truncate: the passage is named.
  std::string long_passage;
  for (int i = 0; i < 60; ++i) long_passage += "word ";
  rerank.clear_texts();
  rerank.add_texts("short");
  rerank.add_texts(long_passage);
  expect_invalid(Rerank(rerank, &reranked), "texts[1]");
  rerank.set_truncate(true);
  EXPECT_TRUE(Rerank(rerank, &reranked).ok());

  v1::ClassifyRequest classify;
  classify.set_model("distilbert-cls3-tiny");
  classify.add_texts("a");
  classify.add_texts("b");
  classify.add_text_pairs("only one");
  v1::ClassifyResponse classified;
  expect_invalid(Classify(classify, &classified), "text_pairs");
  classify.add_text_pairs(long_passage);
  expect_invalid(Classify(classify, &classified), "text_pairs[1]");

  // Encode on a cross-encoder: the model serves another task.
  v1::EncodeRequest encode;
  encode.set_model("bert-ce-tiny");
  encode.add_texts("a");
  v1::EncodeResponse encoded;
  grpc::ClientContext encode_context;
  Prepare(&encode_context);
  status = server_->stub()->Encode(&encode_context, encode, &encoded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("Rerank or Classify"));

  rerank.set_model("no-such-model");
  EXPECT_EQ(Rerank(rerank, &reranked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  classify.set_model("no-such-model");
  EXPECT_EQ(Classify(classify, &classified).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CrossEncoderServerTest, MetricsCountRerankAndClassifyCalls) {
  v1::RerankRequest rerank;
  rerank.set_model("bert-ce-tiny");
  rerank.set_query("count");
  rerank.add_texts("me");
  v1::RerankResponse reranked;
  ASSERT_TRUE(Rerank(rerank, &reranked).ok());
  v1::ClassifyRequest classify;
  classify.set_model("distilbert-cls3-tiny");
  classify.add_texts("count me");
  v1::ClassifyResponse classified;
  ASSERT_TRUE(Classify(classify, &classified).ok());
  classify.set_model("nope");
  ASSERT_FALSE(Classify(classify, &classified).ok());
  absl::StatusOr<std::string> text = FetchMetrics(server_->metrics_port());
  ASSERT_TRUE(text.ok()) << text.status();
  const auto [code, output] = PromtoolCheck(*text);
  EXPECT_EQ(code, 0) << output;
  EXPECT_GE(MetricValue(*text,
                        "attnserve_requests_total{code=\"OK\",method="
                        "\"rerank\",model=\"bert-ce-tiny\"}"),
            1);
  EXPECT_GE(MetricValue(*text,
                        "attnserve_requests_total{code=\"OK\",method="
                        "\"classify\",model=\"distilbert-cls3-tiny\"}"),
            1);
  EXPECT_GE(MetricValue(*text,
                        "attnserve_batch_size_count{method=\"rerank\","
                        "model=\"bert-ce-tiny\"}"),
            1);
  EXPECT_GE(MetricValue(*text,
                        "attnserve_batch_size_count{method=\"classify\","
                        "model=\"distilbert-cls3-tiny\"}"),
            1);
  EXPECT_EQ(MetricValue(*text,
                        "attnserve_model_info{architecture=\"distilbert\","
                        "dtype=\"float32\",model=\"distilbert-cls3-tiny\","
                        "state=\"ready\",task=\"classify\"}"),
            1);
}

// A Rerank of 100 short passages reaching an idle model runs in
// ceil(100 / max_batch_size) batches: its pairs are not computed one by one.
TEST_F(CrossEncoderServerTest, ARerankOfAHundredPassagesRunsInFullBatches) {
  const std::string model = "xlm-roberta-ce-tiny";
  const std::string series =
      absl::StrCat("{method=\"rerank\",model=\"", model, "\"}");
  auto batches = [&]() -> std::pair<double, double> {
    absl::StatusOr<std::string> text = FetchMetrics(server_->metrics_port());
    EXPECT_TRUE(text.ok()) << text.status();
    if (!text.ok()) return {-1, -1};
    const double count =
        MetricValue(*text, "attnserve_batch_size_count" + series);
    const double sum = MetricValue(*text, "attnserve_batch_size_sum" + series);
    return {std::isnan(count) ? 0 : count, std::isnan(sum) ? 0 : sum};
  };
  const auto before = batches();
  v1::RerankRequest request;
  request.set_model(model);
  request.set_query("which passage?");
  request.set_truncate(true);  // the tiny vocabulary splits words finely
  for (int i = 0; i < 100; ++i)
    request.add_texts(absl::StrCat("passage number ", i));
  v1::RerankResponse response;
  const grpc::Status status = Rerank(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results_size(), 100);
  const auto after = batches();
  v1::GetModelRequest get;
  get.set_name(model);
  v1::ModelInfo info;
  grpc::ClientContext context;
  Prepare(&context);
  ASSERT_TRUE(server_->stub()->GetModel(&context, get, &info).ok());
  const int per_batch = static_cast<int>(info.batching().max_batch_size());
  ASSERT_GT(per_batch, 0);
  EXPECT_EQ(after.second - before.second, 100);
  EXPECT_EQ(after.first - before.first, (100 + per_batch - 1) / per_batch);
}

// The bundled demo reranker (models/demo-reranker-topics, the README's
// example): the scores sentence-transformers' CrossEncoder gives
// (tools/demo_reranker/example.json) and its order, animal sentences first.
TEST(BundledDemoRerankerTest, MatchesCrossEncoderOnTheReadmeExample) {
  const std::string source = ATTNSERVE_SOURCE_DIR;
  std::ifstream in(source + "/tools/demo_reranker/example.json");
  const json example = json::parse(in);
  ServerProcess server;
  ASSERT_TRUE(server
                  .Start({"--threads=1", "--model=reranker=" + source +
                                             "/models/demo-reranker-topics"})
                  .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok()) << server.Log();
  v1::RerankRequest request;
  request.set_model("reranker");
  request.set_query(example["query"].get<std::string>());
  for (const json& text : example["texts"])
    request.add_texts(text.get<std::string>());
  request.set_return_texts(true);
  v1::RerankResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  ASSERT_TRUE(server.stub()->Rerank(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), request.texts_size());
  for (int rank = 0; rank < response.results_size(); ++rank) {
    const v1::RerankResult& r = response.results(rank);
    EXPECT_EQ(r.index(), example["order"][rank].get<uint32_t>()) << rank;
    EXPECT_NEAR(r.score(), example["scores"][r.index()].get<double>(),
                kTolerance);
    EXPECT_EQ(r.text(), request.texts(static_cast<int>(r.index())));
  }
  absl::StatusOr<int> code = server.Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << server.Log();
}

}  // namespace
}  // namespace attnserve::server::testing
